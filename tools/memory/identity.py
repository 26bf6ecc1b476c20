"""Stable finding ids, so a retried nightly run stores each finding once.

The id hashes what makes a finding the same finding: its text, its error signature and the night
(UTC date) it was found. The same text about the same signature on another night is a new finding:
the problem came back.
"""

from __future__ import annotations

import hashlib

ID_PREFIX = "fnd_"
ID_HEX_CHARS = 24


def finding_id(content: str, signature: str | None, night: str) -> str:
    key = "\x1f".join((" ".join(content.split()), signature or "", night))
    return ID_PREFIX + hashlib.sha256(key.encode()).hexdigest()[:ID_HEX_CHARS]
