"""Replace the values in an error or log message by typed placeholders, keeping the words.

Two views of a message share one token classifier:

* `parameterize(message)` gives the readable template (`<num>`, `<uuid>`, `<path>`...) with the original
  punctuation, for titles and humans.
* `mask_tokens(message)` gives the normalised token tuple the template miner and the signature hash use:
  every placeholder is the wildcard `<*>` and runs of wildcards collapse into one, so a value that spans a
  varying number of tokens (a list of block ids, a date followed by a time) still gives one shape.

Work per message is linear in its length and capped: only the first `MAX_MESSAGE_CHARS` characters are
read. Token classifications are memoised in a bounded dict because most tokens of a log stream repeat.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

MAX_MESSAGE_CHARS = 64 * 1024
WILDCARD = "<*>"
_CACHE_LIMIT = 200_000

# Ordered alternatives, tried by one C-level fullmatch; the group name is the placeholder type.
_VALUE_RE = re.compile(
    r"(?P<url>[A-Za-z][A-Za-z0-9+.\-]*://\S*)"
    r"|(?P<email>[\w.+\-]+@[A-Za-z0-9\-]+(?:\.[A-Za-z0-9\-]+)*\.[A-Za-z]{2,})"
    r"|(?P<uuid>[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12})"
    r"|(?P<time>\d{4}-\d{2}-\d{2}(?:[T_ ]\d{1,2}:\d{2}(?::\d{2})?(?:[.,]\d+)?)?(?:Z|[+-]\d{2}:?\d{2})?"
    r"|\d{1,2}:\d{2}:\d{2}(?:[.,]\d+)?(?:Z|[+-]\d{2}:?\d{2})?|\d{1,2}/\d{1,2}/\d{2,4})"
    r"|(?P<ip>\d{1,3}(?:\.\d{1,3}){3}(?::\d{1,5})?"
    r"|\[?(?:[0-9a-fA-F]{0,4}:){2,7}[0-9a-fA-F]{0,4}(?:%\w+)?\]?(?::\d{1,5})?)"
    r"|(?P<hex>0[xX][0-9a-fA-F]+)"
    r"|(?P<hash>[0-9a-fA-F]{64}|[0-9a-fA-F]{40}|[0-9a-fA-F]{32})"
    r"|(?P<duration>(?:\d+(?:\.\d+)?(?:ns|us|µs|ms|s|sec|secs|m|min|mins|h|hr|hrs|d))+)"
    r"|(?P<num>[-+]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][-+]?\d+)?(?:[KMGTP]i?B|B|b|bytes?|%)?)"
    r"|(?P<path>(?:[A-Za-z]:)?(?:\.{1,2}|~)?[\\/][^\s\\/]*(?:[\\/][^\s\\/]*)*|[^\s/]+(?:/[^\s/]*){2,})"
    r"|(?P<host>(?:[A-Za-z0-9](?:[A-Za-z0-9\-]{0,61}[A-Za-z0-9])?\.)+"
    r"(?:com|net|org|io|dev|edu|gov|local|internal|lan|cloud|app|ai|co|us|uk|de|fr|eu|info|biz)(?::\d{1,5})?)"
)
_DIGIT_RE = re.compile(r"\d")
# A token with a digit and none of `= : ' "`: always a value in the miner view, whatever its type.
_PLAIN_VALUE_RE = re.compile(r"[^=:'\"\d]*\d[^=:'\"]*$")
# A token that can only be a plain word: no digit and none of the characters values are built from.
_NEEDS_CLASSIFYING = re.compile(r"[\d/\\@=:'\"]")
_LEADING_PUNCT = "([{<\"'`"
_TRAILING_PUNCT = ")]}>,;:.!?\"'`"
_VALUE_WORDS = frozenset({"true", "false", "True", "False", "TRUE", "FALSE", "null", "NULL", "None", "nil"})
_IDENTIFIER_RE = re.compile(r"[A-Za-z_][\w.\-]*")
# `key=value`: anything without a path or query separator before the `=` (`Surface(name=`, `id[0]=`, `=`).
_ASSIGN_KEY_RE = re.compile(r"[^/\\?&:]*")
# `key:value` without a space: a plain name before the colon (not a host, a drive or a scheme).
_COLON_KEY_RE = re.compile(r"[A-Za-z_][A-Za-z_.\-]*")
# Words that belong to the value before them: `2.3 KB`, `10:00:00 PDT`.
_VALUE_SUFFIX_WORDS = frozenset(
    {"B", "KB", "MB", "GB", "TB", "KiB", "MiB", "GiB", "TiB", "kB"}
    | {"UTC", "GMT", "Z", "PDT", "PST", "EDT", "EST", "CDT", "CST", "MDT", "MST", "CET", "CEST", "BST", "IST", "JST"}
)
# Calendar words are part of a date value in the miner view; the readable template keeps them.
_CALENDAR_WORDS = frozenset(
    "Mon Tue Wed Thu Fri Sat Sun Jan Feb Mar Apr May Jun Jul Aug Sep Oct Nov Dec".split()
)
_TOKEN_RE = re.compile(r"[^\s,;]+")
_SPLIT_RE = re.compile(r"[\s,;]+|\.{3,}")

_cache: dict[str, tuple[str, str]] = {}


def looks_like_value(text: str) -> bool:
    """True for identifiers that are really data: ids with many digits, long random strings."""
    digits = sum(ch.isdigit() for ch in text)
    if digits == 0:
        return False
    if digits >= 4 or (len(text) >= 6 and digits * 10 >= len(text) * 3):
        return True
    return len(text) >= 16 and any(ch.isalpha() for ch in text)


def _placeholder(core: str) -> str | None:
    """The placeholder type of a token stripped of its punctuation, or None when it is a word."""
    match = _VALUE_RE.fullmatch(core)
    if match is not None:
        return match.lastgroup
    if core in _VALUE_WORDS:
        return "bool" if core.lower() in ("true", "false") else "null"
    if _DIGIT_RE.search(core):
        return "*"
    slash = core.find("/")
    if slash > 0 and "." in core and core.find("/", slash + 1) < 0:
        return "path"  # a one-slash name with dots: `com.example.app/.MainActivity`, `pkg/mod.py`
    return None


def _strip_punctuation(token: str) -> tuple[str, str, str]:
    start, end = 0, len(token)
    while start < end and token[start] in _LEADING_PUNCT:
        start += 1
    while end > start and token[end - 1] in _TRAILING_PUNCT:
        end -= 1
    return token[:start], token[start:end], token[end:]


def _classify_value(value: str) -> str:
    """Placeholder type for the value of a key=value pair: always a value, even when it is a word."""
    prefix, core, _ = _strip_punctuation(value)
    if not core:
        return "str"
    if prefix[-1:] in ("'", '"'):
        return "str"
    return _placeholder(core) or "str"


def classify_token(token: str) -> tuple[str, str]:
    """(display token, miner token) of one whitespace-free token; memoised."""
    cached = _cache.get(token)
    if cached is not None:
        return cached
    result = _classify(token)
    if len(_cache) >= _CACHE_LIMIT:
        _cache.clear()
    _cache[token] = result
    return result


def _classify(token: str) -> tuple[str, str]:
    if _NEEDS_CLASSIFYING.search(token) is None:
        if token in _VALUE_WORDS:
            return _typed(token, "bool" if token.lower() in ("true", "false") else "null")
        if token in _CALENDAR_WORDS:
            return token, WILDCARD
        return token, token
    eq = token.find("=")
    if eq >= 0 and eq + 1 < len(token) and token[eq + 1] != "=" and _ASSIGN_KEY_RE.fullmatch(token, 0, eq):
        key = token[: eq + 1]
        kind = _classify_value(token[eq + 1 :])
        return f"{key}<{kind}>", f"{key}{WILDCARD}"
    prefix, core, suffix = _strip_punctuation(token)
    if not core:
        return token, token
    quoted = prefix[-1:] in ("'", '"') and suffix[:1] == prefix[-1:]
    if quoted and _IDENTIFIER_RE.fullmatch(core) and not looks_like_value(core):
        return token, token
    match = _VALUE_RE.fullmatch(core)
    if match is not None:
        return f"{prefix}<{match.lastgroup}>{suffix}", WILDCARD
    colon = core.find(":")
    if colon > 0 and colon + 1 < len(core) and _COLON_KEY_RE.fullmatch(core, 0, colon):
        value_kind = _placeholder(core[colon + 1 :])
        if value_kind is not None:
            key = prefix + core[: colon + 1]
            return f"{key}<{value_kind}>{suffix}", f"{key}{WILDCARD}"
    kind = _placeholder(core)
    if kind is None:
        if not quoted:
            return token, token
        kind = "str"
    return f"{prefix}<{kind}>{suffix}", WILDCARD


def _typed(token: str, kind: str) -> tuple[str, str]:
    return f"<{kind}>", WILDCARD


def mask_tokens(message: str) -> tuple[str, ...]:
    """Normalised token shape of a message: words kept, values as one `<*>` per run."""
    text = message[:MAX_MESSAGE_CHARS]
    if "'" in text or '"' in text:
        text = _mask_quoted_values(text)
    out: list[str] = []
    append = out.append
    cache = _cache
    previous = ""
    after_equals = False
    for token in _SPLIT_RE.split(text):
        if not token:
            continue
        cached = cache.get(token)
        if cached is not None:
            miner = cached[1]
        elif _PLAIN_VALUE_RE.match(token):
            miner = WILDCARD  # has a digit and no key, quote or scheme: a value, not worth caching
        else:
            miner = classify_token(token)[1]
        if after_equals:
            miner = WILDCARD
        after_equals = token == "="
        if previous == WILDCARD and (miner == WILDCARD or miner in _VALUE_SUFFIX_WORDS):
            continue
        append(miner)
        previous = miner
    return tuple(out)


def parameterize(message: str) -> str:
    """Readable template of a message: values replaced by typed placeholders, punctuation kept."""
    text = message[:MAX_MESSAGE_CHARS]
    text = _mask_quoted_values(text)
    return _TOKEN_RE.sub(_display_token, text)


def _display_token(match: re.Match[str]) -> str:
    token = match.group(0)
    if token.startswith("<") and token.endswith(">") and token[1:-1].isalpha():
        return token
    return classify_token(token)[0]


# A single-quoted string with spaces is a repr or user input; a double-quoted one is data only as the value
# of key="...", elsewhere it is often part of the line format (`"GET /path HTTP/1.1"`) and is tokenised.
_QUOTED_RE = re.compile(r"(?<![\w'\"])'([^'\n]{0,400}?\s[^'\n]{0,400}?)'(?![\w'])" r'|(?<==)"([^"\n]{0,400}?)"')


def _mask_quoted_values(text: str) -> str:
    if "'" not in text and '"' not in text:
        return text
    return _QUOTED_RE.sub(_quoted_replacement, text)


def _quoted_replacement(match: re.Match[str]) -> str:
    return "'<str>'" if match.group(1) is not None else '"<str>"'


def template_text(tokens: Iterable[str]) -> str:
    return " ".join(tokens)
