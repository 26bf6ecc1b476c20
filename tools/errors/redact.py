"""Mask secrets in error text before it is stored, shown to an agent or sent anywhere.

Replacements keep the text readable: the kind of secret stays visible (`sk-***`, `Bearer ***`,
`password=***`, `https://user:***@host`), only the secret itself goes.
"""

from __future__ import annotations

import re

MASK = "***"

_PRIVATE_KEY_RE = re.compile(
    r"-----BEGIN ([A-Z0-9 ]*PRIVATE KEY(?: BLOCK)?)-----.*?(?:-----END \1-----|\Z)", re.DOTALL
)
_URL_PASSWORD_RE = re.compile(r"(\b[A-Za-z][A-Za-z0-9+.\-]*://[^\s:/@]+:)([^\s@/]+)(@)")
_JWT_RE = re.compile(r"\beyJ[A-Za-z0-9_\-]{4,}\.[A-Za-z0-9_\-]{4,}\.[A-Za-z0-9_\-]{4,}")
# Known token formats: the prefix names the kind of key and is kept.
_TOKEN_RES = [
    re.compile(r"\b(sk-(?:ant-|proj-|live-|test-)?)[A-Za-z0-9_\-]{16,}"),
    re.compile(r"\b((?:sk|pk|rk)_(?:live|test)_)[A-Za-z0-9]{10,}"),
    re.compile(r"\b(gh[pousr]_)[A-Za-z0-9]{20,}"),
    re.compile(r"\b(github_pat_)[A-Za-z0-9_]{20,}"),
    re.compile(r"\b((?:AKIA|ASIA))[A-Z0-9]{16}\b"),
    re.compile(r"\b(xox[abeoprs]-)[A-Za-z0-9\-]{10,}"),
    re.compile(r"\b(AIza)[0-9A-Za-z_\-]{35}"),
    re.compile(r"\b(glpat-)[A-Za-z0-9_\-]{20,}"),
]
_BEARER_RE = re.compile(r"(?i)(\b(?:bearer|basic)\s+)[A-Za-z0-9._~+/\-]{6,}=*")
_AUTHORIZATION_RE = re.compile(r"(?i)(\bauthorization\b[\"']?\s*[:=]\s*[\"']?)(?!(?:bearer|basic)\s)([^\s\"',;]+)")
_SECRET_KEYS = (
    r"api[_\-]?key|apikey|secret|secret[_\-]?key|client[_\-]?secret|token|access[_\-]?token|refresh[_\-]?token"
    r"|auth[_\-]?token|password|passwd|pwd|passphrase|private[_\-]?key|access[_\-]?key(?:[_\-]?id)?"
    r"|session[_\-]?id|cookie|credentials?"
)
# key=value, key: value, "key": "value", key='value'; the key must end with a secret word.
_PAIR_RE = re.compile(
    rf"(?i)(\b[\w.\-]*?(?:{_SECRET_KEYS})[\"']?\s*(?:=|:)\s*)([\"']?)([^\s\"'&,;)}}\]]+)"
)
_EMAIL_RE = re.compile(r"[\w.+\-]+@[A-Za-z0-9\-]+(?:\.[A-Za-z0-9\-]+)*\.[A-Za-z]{2,}")


def redact_secrets(text: str, redact_emails: bool = True) -> str:
    """`text` with API keys, tokens, passwords, private keys (and emails unless told not to) masked."""
    if not text:
        return text
    text = _PRIVATE_KEY_RE.sub(lambda m: f"-----BEGIN {m.group(1)}-----{MASK}-----END {m.group(1)}-----", text)
    text = _URL_PASSWORD_RE.sub(rf"\g<1>{MASK}\g<3>", text)
    text = _JWT_RE.sub(f"eyJ{MASK}", text)
    for pattern in _TOKEN_RES:
        text = pattern.sub(rf"\g<1>{MASK}", text)
    text = _BEARER_RE.sub(rf"\g<1>{MASK}", text)
    text = _AUTHORIZATION_RE.sub(rf"\g<1>{MASK}", text)
    text = _PAIR_RE.sub(_mask_pair, text)
    if redact_emails:
        text = _EMAIL_RE.sub("<email>", text)
    return text


def _mask_pair(match: re.Match[str]) -> str:
    value = match.group(3)
    if value == MASK or value.endswith(MASK) or value.startswith("<"):
        return match.group(0)  # already masked by a more specific rule, or a template placeholder
    return f"{match.group(1)}{match.group(2)}{MASK}"
