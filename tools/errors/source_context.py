"""Find a traceback frame's file inside the configured source root and read the lines around it.

Production paths rarely match the checkout (`/srv/agents/email_agent/imap_client.py` in production,
`~/code/agents/email_agent/imap_client.py` here), so the longest path suffix that exists under the
root wins. Resolved paths must stay inside the root: a symlink pointing out of it is not followed.

The path comes from telemetry, which anyone who can make the agent fail with a chosen message can
write: a frame naming `.env`, `.git/config` or `deploy/id_rsa` must not turn error_cluster into a file
reader. Files the default denied paths or the secret-file names (`code.paths.SECRET_FILE_PATTERNS`)
match are never read, by the name the frame gives nor by the name a symlink resolves to; a file that
holds a private key is not shown at all; every other line is shown with its secrets masked.
"""

from __future__ import annotations

from pathlib import Path, PurePosixPath

from ..code.paths import SECRET_FILE_PATTERNS, denied_by
from ..code.repo_config import DEFAULT_DENIED_PATHS
from .redact import has_private_key, redact_lines
from .results import SourceLine

CONTEXT_LINES = 3
MAX_LINE_CHARS = 300
MAX_FILE_BYTES = 5_000_000
DENIED = (*DEFAULT_DENIED_PATHS, *SECRET_FILE_PATTERNS)


def _denied(relative: str) -> bool:
    return denied_by(relative, list(DENIED)) is not None


def locate(frame_file: str, root: Path) -> Path | None:
    """The file under `root` the frame names (longest existing suffix), unless it is denied."""
    parts = PurePosixPath(frame_file.replace("\\", "/")).parts
    root = root.resolve()
    for start in range(len(parts)):
        suffix = parts[start:]
        if not suffix or suffix[0] == "/" or ".." in suffix:
            continue
        if _denied("/".join(suffix)):
            continue
        candidate = root.joinpath(*suffix)
        try:
            resolved = candidate.resolve()
        except OSError:
            continue
        if resolved.is_file() and resolved.is_relative_to(root):
            if _denied(resolved.relative_to(root).as_posix()):
                continue
            return resolved
    return None


def read_context(
    path: Path, line: int | None, context: int = CONTEXT_LINES, redact_emails: bool = False
) -> list[SourceLine]:
    """Lines `line - context .. line + context` of `path`, secrets masked; none for a private-key file."""
    if line is None:
        return []
    try:
        if path.stat().st_size > MAX_FILE_BYTES:
            return []
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return []
    if "\0" in text[:8000] or has_private_key(text):
        return []
    lines = text.splitlines()
    first = max(1, line - context)
    last = min(len(lines), line + context)
    if first > last:
        return []
    # Masked together so a secret is judged in its context; line breaks are kept, so lines stay aligned.
    shown = redact_lines("\n".join(lines[first - 1 : last]), redact_emails=redact_emails).split("\n")
    return [SourceLine(line=n, text=shown[n - first][:MAX_LINE_CHARS]) for n in range(first, last + 1)]
