"""The fingerprint of a fix's diff: equal for the same change, whichever branch, base or signature it has.

Normalised before hashing: whitespace at line ends removed, hunk headers reduced to `@@` (their line
numbers move when the base moves), `index <blob>..<blob>` lines dropped (they hash whole files, so
they differ when anything else in the file differs), and empty lines at the end ignored.
"""

from __future__ import annotations

import hashlib
import re

_HUNK = re.compile(r"^@@ -\d+(?:,\d+)? \+\d+(?:,\d+)? @@.*$")


def normalise_diff(diff: str) -> str:
    lines = []
    for line in diff.replace("\r\n", "\n").split("\n"):
        line = line.rstrip()
        if line.startswith("index ") and ".." in line:
            continue
        if _HUNK.match(line):
            line = "@@"
        lines.append(line)
    while lines and not lines[-1]:
        lines.pop()
    return "\n".join(lines)


def diff_fingerprint(diff: str) -> str:
    return hashlib.sha256(normalise_diff(diff).encode("utf-8", "surrogateescape")).hexdigest()[:32]


def diffstat(diff: str) -> list[tuple[str, int, int]]:
    """(path, lines added, lines removed) per file of a `git diff` text, in order."""
    stats: list[tuple[str, int, int]] = []
    for line in diff.split("\n"):
        if line.startswith("diff --git "):
            path = line.split(" b/", 1)[-1] if " b/" in line else line.removeprefix("diff --git ")
            stats.append((path, 0, 0))
        elif stats and line.startswith("+") and not line.startswith("+++ "):
            path, added, removed = stats[-1]
            stats[-1] = (path, added + 1, removed)
        elif stats and line.startswith("-") and not line.startswith("--- "):
            path, added, removed = stats[-1]
            stats[-1] = (path, added, removed + 1)
    return stats
