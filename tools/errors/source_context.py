"""Find a traceback frame's file inside the configured source root and read the lines around it.

Production paths rarely match the checkout (`/srv/agents/email_agent/imap_client.py` in production,
`~/code/agents/email_agent/imap_client.py` here), so the longest path suffix that exists under the
root wins. Resolved paths must stay inside the root: a symlink pointing out of it is not followed.
"""

from __future__ import annotations

from pathlib import Path, PurePosixPath

from .results import SourceLine

CONTEXT_LINES = 3
MAX_LINE_CHARS = 300


def locate(frame_file: str, root: Path) -> Path | None:
    parts = PurePosixPath(frame_file.replace("\\", "/")).parts
    root = root.resolve()
    for start in range(len(parts)):
        suffix = parts[start:]
        if not suffix or suffix[0] in ("/", ".."):
            continue
        candidate = root.joinpath(*suffix)
        try:
            resolved = candidate.resolve()
        except OSError:
            continue
        if resolved.is_file() and resolved.is_relative_to(root):
            return resolved
    return None


def read_context(path: Path, line: int | None, context: int = CONTEXT_LINES) -> list[SourceLine]:
    if line is None:
        return []
    try:
        lines = path.read_text(encoding="utf-8", errors="replace").splitlines()
    except OSError:
        return []
    first = max(1, line - context)
    last = min(len(lines), line + context)
    return [SourceLine(line=n, text=lines[n - 1][:MAX_LINE_CHARS]) for n in range(first, last + 1)]
