"""Repository-relative paths a model may name: normalised, kept inside the repo, and checked for denial.

A model's path is untrusted text. It must not climb out with `..`, start at `/`, walk through a
symbolic link, or touch files the user denied (git internals, CI workflows, secrets).
"""

from __future__ import annotations

import os
import re
from fnmatch import fnmatchcase
from pathlib import Path

from ..support.problems import ToolInputError

_DRIVE_RE = re.compile(r"^[A-Za-z]:")

# Files that hold credentials by their name, whatever a repo's denied_paths say. Telemetry names the
# files whose lines error_cluster shows, and whoever can write an error message writes telemetry, so
# those reads refuse these names (as well as the default denied paths) and private keys by content.
SECRET_FILE_PATTERNS = (
    ".env",
    ".env.*",
    "*.env",
    ".envrc",
    "*.pem",
    "*.key",
    "*.p12",
    "*.pfx",
    "*.jks",
    "*.keystore",
    "*.ppk",
    "*.kdbx",
    "*.asc",
    "*.gpg",
    "id_rsa*",
    "id_dsa*",
    "id_ecdsa*",
    "id_ed25519*",
    ".npmrc",
    ".yarnrc",
    ".yarnrc.yml",
    ".pypirc",
    ".netrc",
    "_netrc",
    ".pgpass",
    ".my.cnf",
    ".htpasswd",
    ".git-credentials",
    ".gitconfig",
    ".dockercfg",
    "credentials*",
    "*credentials*",
    "*secret*",
    "*.tfstate",
    "*.tfstate.*",
    "*.tfvars",
    ".ssh",
    ".aws",
    ".gnupg",
    ".docker",
    ".kube",
    ".git",
)


def clean_relative_path(path: str, what: str = "path") -> str:
    """`path` as a normalised POSIX path relative to the repo root, or a ToolInputError saying why not."""
    if not path or not path.strip():
        raise ToolInputError(
            f"{what} is empty: give a file path relative to the repository root, e.g. 'src/app.py'"
        )
    if "\0" in path or "\n" in path or "\r" in path:
        raise ToolInputError(f"{what} {path!r} contains control characters: give a plain relative file path")
    if "\\" in path:
        raise ToolInputError(f"{what} {path!r} uses backslashes: use forward slashes, e.g. 'src/app.py'")
    if path.startswith(("/", "~")) or _DRIVE_RE.match(path):
        raise ToolInputError(
            f"{what} {path!r} is absolute: give it relative to the repository root, e.g. 'src/app.py'"
        )
    parts = [part for part in path.split("/") if part not in ("", ".")]
    if ".." in parts:
        raise ToolInputError(
            f"{what} {path!r} contains '..' and could leave the repository: give the path from the repo root"
        )
    if not parts:
        raise ToolInputError(f"{what} {path!r} names the repository root: give a file path inside it")
    return "/".join(parts)


def denied_by(path: str, patterns: list[str]) -> str | None:
    """The denied_paths pattern `path` matches (case-insensitively), or None when it is allowed.

    'dir/' patterns deny everything under that directory of the root; patterns with a '/' match the
    whole path; bare patterns ('*.pem', '.env') match any single component. `.git` is always denied.
    """
    lowered = path.lower()
    parts = lowered.split("/")
    if ".git" in parts:
        return ".git/"
    for pattern in patterns:
        wanted = pattern.strip().lower().lstrip("/")
        if not wanted:
            continue
        if wanted.endswith("/"):
            if lowered.startswith(wanted) or lowered == wanted.rstrip("/"):
                return pattern
        elif "/" in wanted:
            if fnmatchcase(lowered, wanted):
                return pattern
        elif any(fnmatchcase(part, wanted) for part in parts):
            return pattern
    return None


def ensure_allowed(path: str, patterns: list[str], action: str = "change") -> None:
    """Refuse a denied path with a message that names the rule and what to do instead."""
    rule = denied_by(path, patterns)
    if rule is not None:
        raise ToolInputError(
            f"{path!r} is a denied path (rule {rule!r} of the repo's denied_paths): self-improver may not "
            f"{action} it. Leave it to a human, or change other files; denied_paths in the repo's "
            "[[repos]] table sets the rules."
        )


def resolve_for_write(root: Path, relative: str) -> Path:
    """`root/relative` after checking that no component is a symbolic link (edits never follow links)."""
    real_root = root.resolve()
    current = root
    parts = relative.split("/")
    for index, part in enumerate(parts):
        current = current / part
        if current.is_symlink():
            shown = "/".join(parts[: index + 1])
            target = current.resolve()
            if target == real_root or real_root in target.parents:
                where = f"points to {target.relative_to(real_root).as_posix() or '.'!r}"
                advice = "edit the real file instead"
            else:
                where = "points outside the repository"
                advice = "only files inside the repository can be changed"
            raise ToolInputError(f"{relative!r}: {shown!r} is a symbolic link that {where}; {advice}")
    final = Path(os.path.normpath(current))
    if real_root not in final.resolve().parents:
        raise ToolInputError(f"{relative!r} resolves outside the repository: give a path inside it")
    return current
