"""Mask secrets in error text before it is stored, shown to an agent or sent anywhere.

Replacements keep the text readable: the kind of secret stays visible (`sk-***`, `Bearer ***`,
`password=***`, `https://user:***@host`), only the secret itself goes.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

MASK = "***"

_PRIVATE_KEY_RE = re.compile(
    r"-----BEGIN ([A-Z0-9 ]*PRIVATE KEY(?: BLOCK)?)-----.*?(?:-----END \1-----|\Z)", re.DOTALL
)
_URL_PASSWORD_RE = re.compile(
    r"((?<![A-Za-z0-9+.\-])[A-Za-z][A-Za-z0-9+.\-]{0,30}://[^\s:/@]{1,256}:)([^\s@/]{1,256})(@)"
)
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
_AUTHORIZATION_RE = re.compile(
    r"(?i)(\bauthorization\b[\"']?\s*[:=]\s*[\"']?)(?!(?:bearer|basic)\s)([^\s\"',;]+)"
)
_SECRET_KEYS = (
    r"api[_\-]?key|apikey|secret|secret[_\-]?key|client[_\-]?secret|token|access[_\-]?token|refresh[_\-]?token"
    r"|auth[_\-]?token|password|passwd|pwd|passphrase|private[_\-]?key|access[_\-]?key(?:[_\-]?id)?"
    r"|session[_\-]?id|cookie|credentials?"
)
# key=value, key: value, "key": "value", key='value'; the key must end with a secret word.
_PAIR_RE = re.compile(
    rf"(?i)((?<![\w.\-])[\w.\-]{{0,40}}?(?:{_SECRET_KEYS})[\"']?\s*(?:=|:)\s*)([\"']?)([^\s\"'&,;)}}\]]+)"
)
# Anchored at the start of a run of name characters, so a long run without `@` is scanned once, not n times.
_EMAIL_RE = re.compile(r"(?<![\w.+\-])[\w.+\-]{1,64}@[A-Za-z0-9\-]+(?:\.[A-Za-z0-9\-]+)*\.[A-Za-z]{2,}")


def redact_secrets(text: str, redact_emails: bool = True) -> str:
    """`text` with API keys, tokens, passwords, private keys (and emails unless told not to) masked."""
    if not text:
        return text
    text = _PRIVATE_KEY_RE.sub(
        lambda m: f"-----BEGIN {m.group(1)}-----{MASK}-----END {m.group(1)}-----", text
    )
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


# -- finding secrets (for scans that must refuse, not mask) -------------------------------------------

_TOKEN_KINDS = (
    "API key (sk-...)",
    "Stripe-style key",
    "GitHub token",
    "GitHub fine-grained token",
    "AWS access key id",
    "Slack token",
    "Google API key",
    "GitLab token",
)


@dataclass(frozen=True)
class SecretMatch:
    """Where a secret is and what kind it is; `span` is the secret's offsets in the text, never shown."""

    line: int
    column: int
    kind: str
    span: tuple[int, int]
    quoted: bool = False


def find_secrets(text: str) -> list[SecretMatch]:
    """The secrets `redact_secrets` would mask (emails excepted), with 1-based line and column.

    Values already masked (`***`) and template placeholders (`<...>`) are not reported.
    """
    if not text:
        return []
    candidates: list[tuple[re.Match[str], int, str, bool]] = []
    candidates += [(m, 0, "private key", False) for m in _PRIVATE_KEY_RE.finditer(text)]
    candidates += [(m, 2, "password in a URL", False) for m in _URL_PASSWORD_RE.finditer(text)]
    candidates += [(m, 0, "JSON web token", False) for m in _JWT_RE.finditer(text)]
    for index, pattern in enumerate(_TOKEN_RES):
        kind = _TOKEN_KINDS[index] if index < len(_TOKEN_KINDS) else "API token"
        candidates += [(m, 0, kind, False) for m in pattern.finditer(text)]
    candidates += [(m, 0, "bearer/basic credential", False) for m in _BEARER_RE.finditer(text)]
    candidates += [(m, 2, "authorization header value", False) for m in _AUTHORIZATION_RE.finditer(text)]
    for m in _PAIR_RE.finditer(text):
        key = m.group(1).strip(" \t\"':=")
        candidates.append((m, 3, f"value of `{key}`", bool(m.group(2))))
    found: list[SecretMatch] = []
    taken: list[tuple[int, int]] = []
    for match, group, kind, quoted in candidates:  # earlier, more specific patterns win overlaps
        start, end = match.span(group)
        value = match.group(group)
        if MASK in value or value.startswith("<") or any(s < end and start < e for s, e in taken):
            continue
        taken.append((start, end))
        line = text.count("\n", 0, start) + 1
        column = start - (text.rfind("\n", 0, start) + 1) + 1
        found.append(SecretMatch(line, column, kind, (start, end), quoted))
    return sorted(found, key=lambda f: f.span)
