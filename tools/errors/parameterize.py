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

MAX_MESSAGE_CHARS = 64 * 1024
WILDCARD = "<*>"
_CACHE_LIMIT = 10_000

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
    r"|(?P<path>(?:[A-Za-z]:)?(?:\.{1,2}|~)?[\\/][^\s\\/]+(?:[\\/][^\s\\/]*)*|[^\s/]+(?:/[^\s/]*){2,}"
    r"|[A-Za-z0-9_][\w\-]*\.(?:exe|dll|so|sys|jar|py|js|ts|json|ya?ml|xml|conf|cfg|ini|log|txt|csv|sh|bat|ps1"
    r"|html?|php|jsp|properties|inf|dat|db|sqlite|tmp|pid|lock|gz|tgz|zip|tar|bin|img|iso|pdf|png|jpe?g))"
    r"|(?P<host>(?:[A-Za-z0-9](?:[A-Za-z0-9\-]{0,61}[A-Za-z0-9])?\.)+"
    r"(?:com|net|org|edu|gov|mil|int|arpa|io|local|localdomain|internal|lan|cloud|info|biz|[a-z]{2})(?::\d{1,5})?"
    r"|[A-Za-z0-9](?:[A-Za-z0-9\-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9\-]+)+:\d{1,5})"
)
_DIGIT_RE = re.compile(r"\d")
# A token with a digit and none of `= : ' "`: always a value in the miner view, whatever its type.
_PLAIN_VALUE_RE = re.compile(r"[^=:'\"\d]*\d[^=:'\"]*$")
# A token that can only be a plain word: no digit and none of the characters values are built from.
_NEEDS_CLASSIFYING = re.compile(r"[\d/\\@=:'\".]")
# A placeholder already in the text (a masked quoted string), possibly quoted or bracketed.
_PLACEHOLDER_TOKEN_RE = re.compile(r"[\"'(\[]*<[a-z*]+>[\"')\],.:;]*")
_LEADING_PUNCT = "([{<\"'`"
_TRAILING_PUNCT = ")]}>,;:.!?\"'`"
_VALUE_WORDS = frozenset({"true", "false", "True", "False", "TRUE", "FALSE", "null", "NULL", "None", "nil"})
_IDENTIFIER_RE = re.compile(r"[A-Za-z_][\w.\-]*")
# `key=value`: anything without a path or query separator before the `=` (`Surface(name=`, `id[0]=`, `=`).
_ASSIGN_KEY_RE = re.compile(r"[^/\\?&:]*")
# The same rule for a whole token, for the miner's fast path (`_classify` gives the same miner token).
_ASSIGNMENT_RE = re.compile(r"([^/\\?&:=<]*=)[^=]")
# `key:value` without a space: a plain name before the colon (not a host, a drive or a scheme).
_COLON_KEY_RE = re.compile(r"[A-Za-z_][A-Za-z_.\-]*")
# Words that belong to the value before them: `2.3 KB`, `10:00:00 PDT`.
_VALUE_SUFFIX_WORDS = frozenset(
    "B KB MB GB TB KiB MiB GiB TiB kB UTC GMT Z PDT PST EDT EST CDT CST MDT MST CET CEST BST IST JST"
    " ns us µs ms msec msecs millis s sec secs seconds min mins minutes h hr hrs hours".split()
)
# An empty value: `connection from 1.2.3.4 () at`, `got ''`, `error = []`.
_EMPTY_VALUES = frozenset({"()", "[]", "{}", "''", '""', "<>"})
_KEY_RE = re.compile(r"[A-Za-z_][\w.\-]*")
# The value of `key:value` when it is a word; a dotted name (`action:android.intent.action.X`) is not, it
# names what happened.
_WORD_VALUE_RE = re.compile(r"[A-Za-z_][\w\-]*")
# Calendar words are part of a date value in the miner view; the readable template keeps them.
_CALENDAR_WORDS = frozenset(
    "Mon Tue Wed Thu Fri Sat Sun Jan Feb Mar Apr May Jun Jul Aug Sep Oct Nov Dec".split()
)
# Display tokens; `,123` stays attached (`10:00:01,123` from Python logging, `1,000,000`).
# The word after these names a host even without dots or digits: `IMAP timeout on host mail`.
_HOST_CONTEXT_WORDS = frozenset({"host", "hostname", "Host", "Hostname", "HOST"})
_TOKEN_RE = re.compile(r"[^\s,;]+(?:,\d+(?![^\s,;]))*")
_SPLIT_RE = re.compile(r"[\s,;]+|\.{3,}")

# LLM model names stay readable in templates and titles (`Rate limit reached for gpt-4o`); the miner and
# the signature still treat them as values, so a group never depends on the model that failed.
_MODEL_NAME_RE = re.compile(
    r"(?:gpt|chatgpt|o[1-9]|claude|gemini|gemma|llama|mistral|mixtral|codestral|qwen|deepseek|"
    r"text-embedding|dall-e|whisper|tts)[A-Za-z0-9]*(?:[-.:][A-Za-z0-9]+)*",
    re.IGNORECASE,
)

_cache: dict[str, tuple[str, str]] = {}


def clear_token_cache() -> None:
    """Forget memoised token classifications (benchmarks use it to measure a cold start)."""
    _cache.clear()


def looks_like_value(text: str) -> bool:
    """True for identifiers that are really data: ids with many digits, long random strings."""
    digits = sum(ch.isdigit() for ch in text)
    if digits == 0:
        return False
    if digits >= 4 or (len(text) >= 6 and digits * 10 >= len(text) * 3):
        return True
    return len(text) >= 16 and any(ch.isalpha() for ch in text)


def _word_value(core: str, colon: int) -> str | None:
    """`type:create`, `state:RUNNING`: a plain word after a `key:` written without a space is its value."""
    value = core[colon + 1 :]
    return "str" if colon >= 2 and _WORD_VALUE_RE.fullmatch(value) else None


def _few_digits(text: str) -> bool:
    digits = sum(ch.isdigit() for ch in text)
    return digits <= 4 and digits * 10 < len(text) * 3


def _placeholder(core: str) -> str | None:
    """The placeholder type of a token stripped of its punctuation, or None when it is a word."""
    match = _VALUE_RE.fullmatch(core)
    if match is not None:
        return match.lastgroup
    if core in _VALUE_WORDS:
        return _value_word_kind(core)
    if _DIGIT_RE.search(core):
        return "*"
    slash = core.find("/")
    if slash > 0 and "." in core and core.find("/", slash + 1) < 0:
        return "path"  # a one-slash name with dots: `com.example.app/.MainActivity`, `pkg/mod.py`
    return None


def _value_word_kind(word: str) -> str:
    return "bool" if word.lower() in ("true", "false") else "null"


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
            return f"<{_value_word_kind(token)}>", WILDCARD
        if token in _CALENDAR_WORDS or token in _EMPTY_VALUES:
            return token, WILDCARD
        return token, token
    if token in _EMPTY_VALUES:
        return token, WILDCARD
    if _PLACEHOLDER_TOKEN_RE.fullmatch(token):
        return token, WILDCARD
    eq = token.find("=")
    if eq >= 0 and eq + 1 < len(token) and token[eq + 1] != "=" and _ASSIGN_KEY_RE.fullmatch(token, 0, eq):
        key = token[: eq + 1]
        return f"{key}<{_classify_value(token[eq + 1 :])}>", f"{key}{WILDCARD}"
    if eq == len(token) - 1 and _KEY_RE.fullmatch(token, 0, eq):
        return token, f"{token}{WILDCARD}"  # `ruser=`: a key whose value is empty this time
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
        value_kind = _placeholder(core[colon + 1 :]) or _word_value(core, colon)
        if value_kind is not None:
            key = prefix + core[: colon + 1]
            return f"{key}<{value_kind}>{suffix}", f"{key}{WILDCARD}"
    if "::" in core and core[0].isalpha() and _few_digits(core):
        return token, token  # a code symbol (`AirPort_Brcm43xx::syncPowerState`): digits are part of its name
    if _MODEL_NAME_RE.fullmatch(core):
        return token, WILDCARD  # shown as written, matched as a value
    placeholder = _placeholder(core) or ("str" if quoted else None)
    if placeholder is None:
        return token, token
    return f"{prefix}<{placeholder}>{suffix}", WILDCARD


def mask_tokens(message: str) -> tuple[str, ...]:
    """Normalised token shape of a message: words kept, values as one `<*>` per run."""
    text = message[:MAX_MESSAGE_CHARS]
    if "'" in text or '"' in text:
        text = _mask_quoted_values(text)
    out: list[str] = []
    append = out.append
    cache = _cache
    previous = ""
    value_follows = False
    # str.split is several times faster than the regex; the regex is only needed for `,` `;` `...`.
    tokens = _SPLIT_RE.split(text) if ("," in text or ";" in text or "..." in text) else text.split()
    for token in tokens:
        if not token:
            continue
        cached = cache.get(token)
        if cached is not None:
            miner = cached[1]
        elif _PLAIN_VALUE_RE.match(token):
            miner = WILDCARD  # has a digit and no key, quote or scheme: a value, not worth caching
        elif (assignment := _ASSIGNMENT_RE.match(token)) is not None:
            miner = assignment.group(1) + WILDCARD  # key=value: the key stays, any value is `<*>`
        else:
            miner = classify_token(token)[1]
        if value_follows:
            miner = WILDCARD
        value_follows = token == "=" or token in _HOST_CONTEXT_WORDS
        if previous == WILDCARD and (
            miner == WILDCARD or miner.strip(_TRAILING_PUNCT) in _VALUE_SUFFIX_WORDS
        ):
            continue
        append(miner)
        previous = miner
    return tuple(out)


def parameterize(message: str) -> str:
    """Readable template of a message: values replaced by typed placeholders, punctuation kept."""
    text = _mask_quoted_values(message[:MAX_MESSAGE_CHARS])
    out: list[str] = []
    position = 0
    context = ""
    for match in _TOKEN_RE.finditer(text):
        token = match.group(0)
        out.append(text[position : match.start()])
        position = match.end()
        if context == "=" or context in _HOST_CONTEXT_WORDS:
            display = _context_value(token, "str" if context == "=" else "host")
        elif token.startswith("<") and token.endswith(">") and token[1:-1].isalpha():
            display = token
        else:
            display = classify_token(token)[0]
        out.append(display)
        context = token
    out.append(text[position:])
    return "".join(out)


def _context_value(token: str, kind: str) -> str:
    """A token that is a value because of the word before it (`= value`, `host mail`)."""
    display, miner = classify_token(token)
    if miner == WILDCARD:
        return display
    prefix, core, suffix = _strip_punctuation(token)
    return f"{prefix}<{kind}>{suffix}" if core else token


# A single-quoted string with spaces is a repr or user input; a double-quoted one is data only as the value
# of key="...", elsewhere it is often part of the line format (`"GET /path HTTP/1.1"`) and is tokenised.
_QUOTED_RE = re.compile(
    r"(?<![\w'\"])'([^'\n]{0,400}?\s[^'\n]{0,400}?)'(?![\w'])" r'|(?<==)"([^"\n]{0,400}?)"'
)


def _mask_quoted_values(text: str) -> str:
    if "'" not in text and '"' not in text:
        return text
    return _QUOTED_RE.sub(_quoted_replacement, text)


def _quoted_replacement(match: re.Match[str]) -> str:
    return "'<str>'" if match.group(1) is not None else '"<str>"'
