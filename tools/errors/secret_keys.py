"""Secrets named by their key: `key=value` pairs found from the key word, and the key of a keyword match.

It exists apart from the rules because these are not one regex each: a pair is found by looking for a
secret word (`str.find`), reading the key around it and the value after it, so that no regex is tried at
every position; and a detect-secrets keyword match is kept only when the key it found ends with a secret
word. Both decide from the key's name, which is this module's one job.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from detect_secrets.plugins import keyword as ds_keyword

from .secret_rules import CODE_REF_RE, NOT_A_VALUE

PAIR_NEEDLES = (
    "key",
    "secret",
    "token",
    "pass",
    "pwd",
    "auth",
    "cookie",
    "session",
    "credential",
    "contrase",
)
# The key must END with a secret word; short words only at a word start (`db_pass`, not `compass`).
_KEY_END_RE = re.compile(
    r"(?:api[_\-]?key|apikey|secret(?:[_\-]?key)?|token|password|passwd|passwort|passphrase"
    r"|(?:^|[^a-z])(?:pwd|pass|auth)|private[_\-]?key|access[_\-]?key(?:[_\-]?id)?|account[_\-]?key"
    r"|session[_\-]?id|cookie|credentials?|contrase(?:ñ|n)a)$"
)
_MAX_KEY = 64  # longer runs of name characters are not keys (and would make the search quadratic)
KEY_CHARS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-ñ")
# After the key: an optional closing quote/bracket, an operator, then a quoted or a plain value.
_PAIR_VALUE_RE = re.compile(
    r"""["'`]?\]?[ \t]*(?::=|=>|==?|:)[ \t]*
    (?:
        (?P<q>["'`])(?P<qv>(?:(?!(?P=q))[^\n]){1,500})(?P=q)
      | (?P<q2>["'`])?(?P<v>[^\s"'`&,;)}\]]{1,500})
    )""",
    re.VERBOSE,
)


def pairs(text: str, lowered: str) -> Iterator[tuple[int, int, str, bool]]:
    """(start, end, key, quoted) of each value assigned to a secret-named key."""
    seen: set[int] = set()
    for needle in PAIR_NEEDLES:
        at = lowered.find(needle)
        while at >= 0:
            end = at + len(needle)
            while end < len(text) and text[end] in KEY_CHARS and end - at < _MAX_KEY:
                end += 1
            start = at
            while start > 0 and text[start - 1] in KEY_CHARS and at - start < _MAX_KEY:
                start -= 1
            at = lowered.find(needle, end)
            if end in seen:
                continue
            seen.add(end)
            key = text[start:end]
            if not _KEY_END_RE.search(key.lower()):
                continue
            match = _PAIR_VALUE_RE.match(text, end)
            if match is None:
                continue
            group = "qv" if match.group("qv") is not None else "v"
            value = match.group(group)
            quoted = bool(match.group("q") or match.group("q2"))
            if _pair_value(value, key.lower(), quoted):
                yield match.start(group), match.end(group), key, quoted


def _pair_value(value: str, key: str, quoted: bool) -> bool:
    """A value given to a secret-named key, unless it is plainly a type, a constant or a code reference."""
    lowered = value.lower()
    if lowered in NOT_A_VALUE or value.startswith("<"):
        return False
    if quoted:
        return True
    if key.endswith("auth") and not key.endswith(("_auth", "-auth", ".auth")):
        return False  # `auth: SIMPLE`, `auth=auth`, `(auth: token expired)`: only a quoted value counts
    return lowered not in key and not CODE_REF_RE.match(value)


_DS_KEYWORD_RE = re.compile(ds_keyword.DENYLIST_REGEX, re.IGNORECASE)


_DS_KEY_END_RE = re.compile(rf"(?:{'|'.join(ds_keyword.DENYLIST)})$", re.IGNORECASE)


def keyword_key(text: str, match: re.Match[str]) -> str | None:
    """The key a detect-secrets keyword pattern matched (`db_password`), if it ends with a secret word.

    detect-secrets lets any word follow (`secret_name`, `password_field`); a key that only starts with
    a secret word names something about a secret, not the secret.
    """
    word = _DS_KEYWORD_RE.search(text, match.start(), match.end())
    start, end = word.span() if word else match.span()
    while start > 0 and text[start - 1] in KEY_CHARS:
        start -= 1
    while end < len(text) and (text[end].isalnum() or text[end] == "_"):
        end += 1
    key = text[start:end]
    lowered = key.lower()
    return key[:60] if _KEY_END_RE.search(lowered) or _DS_KEY_END_RE.search(lowered) else None
