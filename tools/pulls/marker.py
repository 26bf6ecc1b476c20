"""How a pull request says it is ours and which signature it fixes: a label and an HTML comment.

The comment survives edits of the visible body and is invisible on GitHub, so dedup works even when
people rewrite the description; the label lets GitHub filter our pull requests server-side.
"""

from __future__ import annotations

import re

LABEL = "self-improver"
BRANCH_PREFIX = "self-improver/"
_MARKER_RE = re.compile(
    r"<!--\s*self-improver:signature=([0-9a-f]{6,64})(?:\s+finding=([A-Za-z0-9_.:-]{1,100}))?\s*-->"
)


def marker(signature: str, finding_id: str | None = None) -> str:
    finding = f" finding={finding_id}" if finding_id else ""
    return f"<!-- self-improver:signature={signature}{finding} -->"


def parse_marker(body: str | None) -> tuple[str | None, str | None]:
    """(signature, finding_id) from the last marker in `body`, or (None, None) without one."""
    found = _MARKER_RE.findall(body or "")
    if not found:
        return None, None
    signature, finding = found[-1]
    return signature, finding or None


def is_ours(labels: list[str], body: str | None, signature: str | None = None) -> bool:
    """A self-improver pull request (label and marker), for `signature` when given."""
    found, _ = parse_marker(body)
    return LABEL in labels and found is not None and (signature is None or found == signature)
