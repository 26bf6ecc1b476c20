"""Error text to meaning-bearing tokens, so the offline embedding compares problems, not values.

Two messages about the same problem differ in ids, numbers, hosts and wording ("timed out" vs
"deadline exceeded"). Values become placeholders, identifiers are split into words, words are
stemmed, and common error vocabulary is folded onto one concept token each.
"""

from __future__ import annotations

import re
from functools import lru_cache

# Placeholders: lowercase words no real message contains, so later steps leave them intact.
NUM, HEX, UUID, HOST, URL, EMAIL, IDENT = "qqnum", "qqhex", "qquuid", "qqhost", "qqurl", "qqemail", "qqid"
PLACEHOLDERS = frozenset({NUM, HEX, UUID, HOST, URL, EMAIL, IDENT})

_TLDS = "com|net|org|io|dev|app|local|internal|lan|cloud|svc|cluster|corp|example|test|co|de|uk|eu|us|ai"
_VALUE_PATTERNS: list[tuple[re.Pattern[str], str]] = [
    (re.compile(r"\b[a-z][a-z0-9+.-]*://\S+", re.I), URL),
    (re.compile(r"\b[\w.+-]+@[\w-]+(?:\.[\w-]+)+\b"), EMAIL),
    (re.compile(r"\b[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\b", re.I), UUID),
    (re.compile(r"\b\d{1,3}(?:\.\d{1,3}){3}(?::\d+)?\b"), HOST),
    (re.compile(rf"\b[a-z0-9](?:[a-z0-9-]*[a-z0-9])?(?:\.[a-z0-9-]+)*\.(?:{_TLDS})\b(?::\d+)?", re.I), HOST),
    (re.compile(r"\blocalhost(?::\d+)?\b", re.I), HOST),
    (re.compile(r"\b[a-z][a-z0-9-]*:\d{2,5}\b", re.I), HOST),
    (re.compile(r"\b0x[0-9a-f]+\b", re.I), HEX),
    (re.compile(r"\b(?=[0-9a-f]*\d)(?=[0-9a-f]*[a-f])[0-9a-f]{7,}\b", re.I), HEX),
    (re.compile(r"\d{4}-\d{2}-\d{2}[t ]\d{2}:\d{2}(?::\d{2})?(?:\.\d+)?(?:z|[+-]\d{2}:?\d{2})?", re.I), NUM),
]
_MIXED_ID = re.compile(r"^(?=.*\d)(?=.*[a-z])[a-z0-9]{6,}$")
_WORD_THEN_SMALL_NUMBER = re.compile(r"^[a-z]+\d{1,3}$")  # utf8, sha256, http2, int64: real words
_NUMBER = re.compile(r"^\d+$")
_CAMEL = re.compile(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])")
_WORD = re.compile(r"[A-Za-z0-9]+")

# Multi-word expressions first (longest first), then single words; values are concept tokens.
_PHRASES: dict[tuple[str, ...], tuple[str, ...]] = {
    ("timed", "out"): ("timeout",),
    ("time", "out"): ("timeout",),
    ("times", "out"): ("timeout",),
    ("timing", "out"): ("timeout",),
    ("deadline", "exceeded"): ("timeout",),
    ("took", "too", "long"): ("timeout",),
    ("connection", "refused"): ("connrefused",),
    ("actively", "refused"): ("connrefused",),
    ("refused", "connection"): ("connrefused",),
    ("refused", "to", "connect"): ("connrefused",),
    ("connect", "refused"): ("connrefused",),
    ("refuses", "connections"): ("connrefused",),
    ("refused", "connections"): ("connrefused",),
    ("refusing", "connections"): ("connrefused",),
    ("connection", "reset"): ("connreset",),
    ("reset", "by", "peer"): ("connreset",),
    ("broken", "pipe"): ("connreset",),
    ("connection", "aborted"): ("connreset",),
    ("connection", "closed"): ("connreset",),
    ("closed", "connection"): ("connreset",),
    ("server", "disconnected"): ("connreset",),
    ("remote", "end", "closed"): ("connreset",),
    ("unexpected", "eof"): ("connreset",),
    ("dropped", "connection"): ("connreset",),
    ("not", "found"): ("notfound",),
    ("no", "such"): ("notfound",),
    ("does", "not", "exist"): ("notfound",),
    ("doesn", "t", "exist"): ("notfound",),
    ("could", "not", "find"): ("notfound",),
    ("can", "not", "find"): ("notfound",),
    ("cannot", "find"): ("notfound",),
    ("unable", "to", "find"): ("notfound",),
    ("has", "no", "attribute"): ("notfound", "attribute"),
    ("no", "attribute"): ("notfound", "attribute"),
    ("attribute", "error"): ("notfound", "attribute"),
    ("key", "error"): ("notfound", "key"),
    ("index", "error"): ("outofrange", "index"),
    ("out", "of", "range"): ("outofrange",),
    ("out", "of", "bounds"): ("outofrange",),
    ("permission", "denied"): ("denied",),
    ("access", "denied"): ("denied",),
    ("not", "authorized"): ("denied",),
    ("not", "allowed"): ("denied",),
    ("not", "permitted"): ("denied",),
    ("out", "of", "memory"): ("oom",),
    ("memory", "error"): ("oom",),
    ("cannot", "allocate"): ("oom",),
    ("oom", "killed"): ("oom",),
    ("memory", "limit"): ("oom",),
    ("too", "many", "requests"): ("ratelimit",),
    ("rate", "limit"): ("ratelimit",),
    ("rate", "limited"): ("ratelimit",),
    ("quota", "exceeded"): ("ratelimit",),
    ("no", "space", "left"): ("diskfull",),
    ("disk", "full"): ("diskfull",),
    ("disk", "quota"): ("diskfull",),
    ("name", "resolution"): ("dnsfail",),
    ("could", "not", "resolve"): ("dnsfail",),
    ("failed", "to", "resolve"): ("dnsfail",),
    ("name", "or", "service", "not", "known"): ("dnsfail",),
    ("nodename", "nor", "servname"): ("dnsfail",),
    ("unknown", "host"): ("dnsfail",),
    ("no", "route", "to", "host"): ("unreachable",),
    ("network", "is", "unreachable"): ("unreachable",),
    ("service", "unavailable"): ("unavailable",),
    ("bad", "gateway"): ("unavailable",),
    ("gateway", "timeout"): ("timeout", "gateway"),
    ("null", "pointer"): ("null",),
    ("none", "type"): ("null",),
    ("segmentation", "fault"): ("crash",),
    ("core", "dumped"): ("crash",),
    ("lock", "wait"): ("deadlock",),
    ("unique", "constraint"): ("duplicate",),
    ("duplicate", "key"): ("duplicate",),
    ("already", "exists"): ("duplicate",),
    ("integrity", "error"): ("duplicate",),
    ("certificate", "verify", "failed"): ("tls",),
    ("handshake", "failure"): ("tls",),
    ("expecting", "value"): ("parse", "json"),
    ("json", "decode"): ("parse", "json"),
    ("unexpected", "token"): ("parse",),
    ("invalid", "json"): ("parse", "json"),
}
_WORDS: dict[str, str] = {
    "timeout": "timeout",
    "timeouts": "timeout",
    "deadline": "timeout",
    "etimedout": "timeout",
    "hung": "timeout",
    "hangs": "timeout",
    "hang": "timeout",
    "stalled": "timeout",
    "slow": "timeout",
    "econnrefused": "connrefused",
    "econnreset": "connreset",
    "epipe": "connreset",
    "disconnected": "connreset",
    "disconnect": "connreset",
    "missing": "notfound",
    "nonexistent": "notfound",
    "enoent": "notfound",
    "notfound": "notfound",
    "absent": "notfound",
    "unknown": "notfound",
    "404": "notfound",
    "forbidden": "denied",
    "unauthorized": "denied",
    "unauthorised": "denied",
    "denied": "denied",
    "eacces": "denied",
    "eperm": "denied",
    "401": "denied",
    "403": "denied",
    "oom": "oom",
    "oomkilled": "oom",
    "enomem": "oom",
    "throttled": "ratelimit",
    "throttling": "ratelimit",
    "throttle": "ratelimit",
    "ratelimit": "ratelimit",
    "ratelimited": "ratelimit",
    "429": "ratelimit",
    "enospc": "diskfull",
    "getaddrinfo": "dnsfail",
    "nxdomain": "dnsfail",
    "dns": "dnsfail",
    "resolve": "dnsfail",
    "ehostunreach": "unreachable",
    "enetunreach": "unreachable",
    "unreachable": "unreachable",
    "unavailable": "unavailable",
    "503": "unavailable",
    "502": "unavailable",
    "504": "timeout",
    "null": "null",
    "none": "null",
    "nil": "null",
    "nonetype": "null",
    "undefined": "null",
    "segfault": "crash",
    "sigsegv": "crash",
    "crashed": "crash",
    "crash": "crash",
    "panic": "crash",
    "deadlock": "deadlock",
    "deadlocked": "deadlock",
    "ssl": "tls",
    "tls": "tls",
    "certificate": "tls",
    "cert": "tls",
    "x509": "tls",
    "malformed": "invalid",
    "invalid": "invalid",
    "illegal": "invalid",
    "corrupt": "invalid",
    "corrupted": "invalid",
    "unparseable": "parse",
    "parsing": "parse",
    "parse": "parse",
    "decode": "parse",
    "decoding": "parse",
    "unmarshal": "parse",
    "deserialize": "parse",
    "deserialization": "parse",
    "auth": "auth",
    "authentication": "auth",
    "authenticate": "auth",
    "login": "auth",
    "credentials": "auth",
    "credential": "auth",
    "password": "auth",
    "token": "auth",
    "postgresql": "postgres",
    "psql": "postgres",
    "pg": "postgres",
    "psycopg2": "postgres",
    "psycopg": "postgres",
    "db": "database",
    "rds": "database",
    "k8s": "kubernetes",
    "kube": "kubernetes",
    "retries": "retry",
    "retrying": "retry",
    "retried": "retry",
}
STOPWORDS = frozenset(
    "a an the to of in on at for is was were be been by from and or with while when this that it its as "
    "after before into than then there their our we i you he she they s t not no".split()
)
# Present in almost every error text, so they say little about which problem it is.
GENERIC = frozenset(
    "error errors exception exceptions fail failed failing failure failures raise raised traceback most "
    "recent call last line file errno code message occurred problem issue caused cause got could cannot "
    "unable py self".split()
)
_MAX_PHRASE = max(len(p) for p in _PHRASES)
CONCEPTS = frozenset(_WORDS.values()) | frozenset(w for concept in _PHRASES.values() for w in concept)


def _replace_values(text: str) -> str:
    for pattern, placeholder in _VALUE_PATTERNS:
        text = pattern.sub(f" {placeholder} ", text)
    return text


def _word_class(word: str) -> str:
    """A raw lowercase word as itself, a number placeholder or an id placeholder."""
    if word in _WORDS or word in PLACEHOLDERS:
        return word
    if _NUMBER.match(word):
        return NUM
    if _MIXED_ID.match(word) and not _WORD_THEN_SMALL_NUMBER.match(word):
        return IDENT
    if any(ch.isdigit() for ch in word) and not _WORD_THEN_SMALL_NUMBER.match(word):
        return NUM if sum(ch.isdigit() for ch in word) * 2 >= len(word) else word
    return word


_ES_AFTER = ("s", "x", "z", "ch", "sh")
_KEEP_S_AFTER = ("ss", "is", "us")  # class, redis, status: no plural to strip


@lru_cache(maxsize=100_000)
def stem(word: str) -> str:
    """A light suffix stripper: enough to meet 'connecting', 'connection' and 'connections'."""
    if len(word) <= 4 or word in PLACEHOLDERS:
        return word
    for suffix, replacement in (
        ("ations", "ate"),
        ("ation", "ate"),
        ("ings", ""),
        ("ing", ""),
        ("ied", "y"),
        ("ies", "y"),
        ("ions", ""),
        ("ion", ""),
        ("edly", ""),
        ("ed", ""),
        ("ers", "er"),
        ("es", ""),
        ("ly", ""),
        ("s", ""),
    ):
        if not word.endswith(suffix) or len(word) - len(suffix) < 3:
            continue
        base = word[: len(word) - len(suffix)] + replacement
        if suffix == "es" and not base.endswith(_ES_AFTER):
            continue  # files -> file (via "s"), but boxes -> box
        if suffix == "s" and word.endswith(_KEEP_S_AFTER):
            return word
        if suffix in ("ing", "ed") and base[-1] == base[-2] and base[-1] not in "lsz":
            base = base[:-1]  # running -> run, stopped -> stop
        return base
    return word


def _fold_phrases(words: list[str]) -> list[str]:
    out: list[str] = []
    i = 0
    while i < len(words):
        for size in range(min(_MAX_PHRASE, len(words) - i), 1, -1):
            concept = _PHRASES.get(tuple(words[i : i + size]))
            if concept:
                out.extend(concept)
                i += size
                break
        else:
            word = words[i]
            out.append(_WORDS.get(word) or _WORDS.get(stem(word)) or word)
            i += 1
    return out


def tokens(text: str) -> list[str]:
    """Normalised tokens of an error text: placeholders, concepts and stems; stopwords removed."""
    text = _replace_values(text)
    text = _CAMEL.sub(" ", text)
    words = [_word_class(w) for w in _WORD.findall(text.lower())]
    folded = _fold_phrases(words)
    return [w if w in CONCEPTS else stem(w) for w in folded if w not in STOPWORDS and len(w) > 1]
