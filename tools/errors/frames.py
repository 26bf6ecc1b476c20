"""Decide which frames are the application's own code, and name frames independently of the install path.

In-app means "not a library" (not under site-packages/dist-packages, not the standard library
`lib/python3.x/`, not a frozen module) and, when a source root is configured, under that root.
"""

from __future__ import annotations

import posixpath
import re

_LIBRARY_DIR_RE = re.compile(r"[\\/](?:site|dist)-packages[\\/]")
_STDLIB_RE = re.compile(r"[\\/]lib(?:64)?[\\/]python\d+(?:\.\d+)?[\\/]", re.IGNORECASE)
_SOURCE_SUFFIXES = (".py", ".pyc", ".pyx", ".pyw")


def normalise_root(source_root: str | None) -> str | None:
    if not source_root:
        return None
    root = posixpath.normpath(source_root.replace("\\", "/"))
    return root.rstrip("/") + "/" if root != "/" else "/"


def _relative_to_root(path: str, root: str | None) -> str | None:
    if root is None or path.startswith("<"):
        return None
    norm = path.replace("\\", "/")
    if norm.startswith("/") or re.match(r"[A-Za-z]:/", norm):
        norm = posixpath.normpath(norm)
        return norm[len(root) :] if norm.startswith(root) else None
    # A relative path was printed relative to the working directory, which is normally the root.
    return None if _LIBRARY_DIR_RE.search("/" + norm) else posixpath.normpath(norm)


def is_library_path(path: str) -> bool:
    if path.startswith("<frozen"):
        return True
    return bool(_LIBRARY_DIR_RE.search(path) or (_STDLIB_RE.search(path) and "packages" not in path))


def is_in_app(path: str, root: str | None) -> bool:
    """Never a library (a virtualenv inside the root is not the app), and under the root when one is set."""
    if is_library_path(path):
        return False
    return root is None or _relative_to_root(path, root) is not None


def module_name(path: str, root: str | None) -> str:
    """`pkg.mod` for `<root>/pkg/mod.py`, `requests.sessions` for a library, the file stem otherwise.

    Without a source root the file stem is used for application files, so the same code deployed to
    another directory (a release folder, a temp dir) keeps its frame names.
    """
    if path.startswith("<"):
        inner = path.strip("<>")
        return inner.removeprefix("frozen ")
    norm = path.replace("\\", "/")
    library = list(_LIBRARY_DIR_RE.finditer(norm))
    relative = norm[library[-1].end() :] if library else _relative_to_root(path, root)
    if relative is None:
        stdlib = _STDLIB_RE.search(norm)
        relative = norm[stdlib.end() :] if stdlib else norm.rsplit("/", 1)[-1]
    for suffix in _SOURCE_SUFFIXES:
        if relative.endswith(suffix):
            relative = relative[: -len(suffix)]
            break
    dotted = relative.strip("/").replace("/", ".")
    return dotted.removesuffix(".__init__") or dotted
