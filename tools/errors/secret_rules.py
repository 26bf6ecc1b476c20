"""The rules the secret detector runs: every pattern, the needles that wake it, and the checks on a value.

It exists so that `secret_detector` holds only the finding and masking: what counts as a secret (detect-
secrets' regex plugins and keyword patterns, our own token formats, headers and private-key blocks, the
checks that turn a match into a candidate) changes apart from how candidates are found, ordered and
masked. Each rule may name a gate, a test every one of its matches passes that is cheaper than the
rule; `secret_detector` runs a rule only when its needles are in the text and its gate holds (see the
gates below for why each one is exact).
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

from detect_secrets.filters import heuristic
from detect_secrets.plugins import keyword as ds_keyword
from detect_secrets.plugins.high_entropy_strings import Base64HighEntropyString

Category = Literal["format", "assignment", "entropy"]

# -- checks on a candidate value ------------------------------------------------------------------------

_ENTROPY = Base64HighEntropyString()  # detect-secrets' Base64 plugin: its charset, its regex, its 4.5 limit
_HEX_RE = re.compile(r"[0-9a-fA-F]+")


def _high_entropy(value: str, limit: float = _ENTROPY.entropy_limit) -> bool:
    """Random base64 (upper and lower case and digits): not words, hex hashes, ULIDs, UUIDs or sequences."""
    return (
        len(value) >= 20
        and any(c.isupper() for c in value)
        and any(c.islower() for c in value)
        and any(c.isdigit() for c in value)
        and not _HEX_RE.fullmatch(value)
        and not heuristic.is_sequential_string(value)
        and not heuristic.is_potential_uuid(value)
        and _ENTROPY.calculate_shannon_entropy(value) > limit
    )


def _basic_credentials(value: str, match: re.Match[str]) -> bool:
    """`Basic <base64 of user:password>`, not the word after "basic" in prose."""
    try:
        decoded = base64.b64decode(value + "=" * (-len(value) % 4), validate=True)
    except (binascii.Error, ValueError):
        return False
    return b":" in decoded


def _bearer_token(value: str, match: re.Match[str]) -> bool:
    return len(value) >= 20 or not value.isalpha()


def _bare_aws_secret(value: str, match: re.Match[str]) -> bool:
    """40 random base64 characters; paths (`a/b/CDE/x1`) have several slashes and lower entropy."""
    return value.count("/") <= 2 and "//" not in value and _high_entropy(value, limit=4.3)


def _quoted_entropy(value: str, match: re.Match[str]) -> bool:
    return _high_entropy(value)


def _putty_header_alone(value: str, match: re.Match[str]) -> bool:
    return "Private-Lines:" not in match.string[match.end() :]


NOT_A_VALUE = {
    "none",
    "null",
    "nil",
    "true",
    "false",
    "undefined",
    "str",
    "string",
    "bytes",
    "int",
    "bool",
    "float",
    "any",
    "object",
    "secretstr",
    "optional",
    "required",
}
# Unquoted values that are code or configuration references, not secrets: calls, indexes, f-string and
# template placeholders, environment references, attributes of self, CONSTANT_NAMES, Java `Obj@1f2e`.
CODE_REF_RE = re.compile(
    r"[A-Za-z_][\w.]*[(\[{]|\{|\$\{|%\(|<|\$[A-Za-z_]\w*$|(?:self|cls|this)\.|[A-Z]+(?:_[A-Z]+)*$"
    r"|[\w.$]+@[0-9a-f]{4,}$"
)


def _header_value(value: str, match: re.Match[str]) -> bool:
    return len(value) >= 6 and not CODE_REF_RE.match(value)


def _keyword_value(value: str, match: re.Match[str]) -> bool:
    return value.lower() not in NOT_A_VALUE


# -- rules --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Rule:
    kind: str
    regex: re.Pattern[str]
    # The rule runs only when one of these is in the text (lowered, unless the needle has capitals).
    # "" means always.
    needles: tuple[str, ...]
    group: int | None = None  # the secret's group; None: the first non-empty group, else the whole match
    category: Category = "format"
    accept: Callable[[str, re.Match[str]], bool] | None = None  # (value, match) -> a real candidate
    keep_prefix: bool = True  # keep a known kind prefix (`sk-`, `ghp_`, `AKIA`) visible
    extend: re.Pattern[str] | None = None  # the token goes on while this matches (a JWT's signature)
    trim: bool = False  # detect-secrets patterns may take a delimiter on either side: drop it
    per_line: bool = False  # a one-line format: run only on the lines that hold a needle
    keyword: bool = False  # detect-secrets keyword pattern: the kind names the key
    gate: str | None = None  # a name in GATES: a test every match passes; the rule sleeps when it fails


# -- gates --------------------------------------------------------------------------------------------
# A gate is a necessary condition of a rule's matches that costs less than the rule: when it fails on a
# text, the rule cannot match anywhere in it, so skipping the rule changes nothing. Each is kept to what
# can be read off the rule's pattern:
# * "long run": 24 or more characters of [\w+/-] in a row. Every rule given it needs a run of at least 24
#   characters of a class inside that one (a 40-character AWS secret, a 35-character Telegram token, 32
#   characters of a Twilio or Mailchimp key, ...); \w holds every letter and digit, so case-insensitive
#   classes are inside it too. The lookbehind makes the search try only where a run starts.
# * "quoted run": a quote followed by 20 characters of detect-secrets' base64 charset, which the entropy
#   rule needs (its value follows the quote and is accepted only from 20 characters on).
# * "keyword": one of detect-secrets' keyword words in the lowered text. Every keyword pattern contains
#   that alternation (checked below); on non-ASCII text the gate is not applied, since case-insensitive
#   matching there is not the same as lowering.
# * "at sign": an `@`, which both URL-password patterns contain.
LONG_RUN_RE = re.compile(r"(?<![\w+/\-])[\w+/\-]{24}")
# The same test on ASCII text, ~4x faster than the regex: each byte of the class becomes `a`, every other
# byte a space, and a run is 24 `a`s in a row (\w on ASCII is [A-Za-z0-9_]).
_RUN_BYTES = bytes.maketrans(
    bytes(range(128)),
    bytes(ord("a") if chr(b).isalnum() or chr(b) in "_+/-" else ord(" ") for b in range(128)),
)
_LONG_RUN = b"a" * 24


def has_long_run(text: str) -> bool:
    if text.isascii():
        return _LONG_RUN in text.encode("ascii").translate(_RUN_BYTES)
    return LONG_RUN_RE.search(text) is not None


QUOTED_RUN_RE = re.compile(r"[\"'][\w+/=\\\-]{20}")
_KEYWORD_WORDS = "(" + "|".join(ds_keyword.DENYLIST) + ")"
KEYWORD_WORD_RE = re.compile(_KEYWORD_WORDS)
GATES: dict[str, Callable[[str, str], bool]] = {
    "long run": lambda text, lowered: has_long_run(text),
    "quoted run": lambda text, lowered: QUOTED_RUN_RE.search(text) is not None,
    "keyword": lambda text, lowered: not text.isascii() or KEYWORD_WORD_RE.search(lowered) is not None,
    "at sign": lambda text, lowered: "@" in text,
}


# Prefixes that name a kind of key and stay visible; everything after them is masked.
KIND_PREFIX_RE = re.compile(
    r"sk-(?:ant-|proj-|svcacct-|admin-|live-|test-)?|(?:sk|pk|rk)_(?:live|test)_|gh[pousr]_|github_pat_"
    r"|gl(?:pat|dt|ft|soat|rt|cbt|imt|ptt|agent|oas)-|xox[a-z]-|xapp-|whsec_|shp(?:at|ca|pa|ss)_|do[opr]_v1_"
    r"|PMAK-|(?:A3T[A-Z0-9]|ABIA|ACCA|AKIA|ASIA)(?=[A-Z0-9]{16})|AIza|eyJ|SG\.|npm_|hf_|pypi-"
    r"|https://hooks\.slack\.com/[a-z]+/|AccountKey="
)

OWN_FORMATS: list[Rule] = [
    # detect-secrets flags the BEGIN line; we mask the whole block (and know ENCRYPTED/any-label keys).
    Rule(
        "private key",
        re.compile(
            r"-----BEGIN ([A-Z0-9 ]*PRIVATE KEY(?: BLOCK)?)-----(.*?)(?:-----END \1-----|\Z)", re.DOTALL
        ),
        ("private key",),
        group=2,
    ),
    Rule(
        "private key",
        re.compile(
            r"PuTTY-User-Key-File-\d+:[^\n]*\n(?:[^\n]*\n){0,40}?Private-Lines: *\d+ *\n(.*?)(?:Private-MAC:|\Z)",
            re.DOTALL,
        ),
        ("putty-user-key-file",),
        group=1,
    ),
    Rule(  # the header line alone (a diff is scanned line by line), as detect-secrets' PuTTY pattern
        "private key",
        re.compile(r"PuTTY-User-Key-File-\d+:"),
        ("putty-user-key-file",),
        group=0,
        accept=_putty_header_alone,
        keep_prefix=False,
    ),
]
HEADER_RULES: list[Rule] = [
    *(  # `Bearer <token>` and `Basic <user:password in base64>`: (needle, pattern, check on the value)
        Rule("bearer/basic credential", re.compile(pattern), (needle,), accept=accept)
        for needle, pattern, accept in [
            ("bearer", r"(?i)\bbearer\s+([A-Za-z0-9._~+/\-]{8,}=*)", _bearer_token),
            ("basic", r"(?i)\bbasic\s+([A-Za-z0-9+/]{6,}={0,2})", _basic_credentials),
        ]
    ),
    Rule(
        "authorization header value",
        re.compile(
            r"(?i)\b(?:proxy-)?authorization\b[\"']?\s*[:=]\s*[\"']?"
            r"(?:(?:bearer|basic|token|digest|negotiate|ntlm|apikey|api-key|key|sso-key|ssws|oauth|hawk|dpop"
            r"|splunk|geniekey|klaviyo-api-key|aws4-hmac-sha256)\s+)?([^\s\"',;]+)"
        ),
        ("authorization",),
        accept=_header_value,
        category="assignment",
        keep_prefix=False,
    ),
]
# Formats detect-secrets does not know, or knows only in one exact length or next to a label: each row is
# (kind, pattern, needles); the secret is the first group or the whole match, its kind prefix kept visible.
_TOKEN_FORMATS: list[tuple[str, str, tuple[str, ...]]] = [
    ("API key (sk-...)", r"\bsk-(?:ant-|proj-|svcacct-|admin-|live-|test-)?[A-Za-z0-9_\-]{16,}", ("sk-",)),
    ("Stripe-style key", r"\b(?:sk|pk|rk)_(?:live|test)_[A-Za-z0-9]{10,}", ("_live_", "_test_")),
    ("Stripe webhook secret", r"\bwhsec_[A-Za-z0-9+/=]{24,}", ("whsec_",)),
    ("GitHub token", r"\bgh[pousr]_[A-Za-z0-9_]{20,}", ("ghp_", "gho_", "ghu_", "ghs_", "ghr_")),
    ("GitHub fine-grained token", r"\bgithub_pat_[A-Za-z0-9_]{20,}", ("github_pat_",)),
    ("Slack token", r"\b(?:xox[a-z]|xapp)-[A-Za-z0-9\-]{10,}", ("xox", "xapp-")),
    (
        "Slack webhook URL",
        r"https://hooks\.slack\.com/(?:services|workflows|triggers)/[A-Za-z0-9_/]{8,}",
        ("hooks.slack.com",),
    ),
    ("Google API key", r"\bAIza[0-9A-Za-z_\-]{35}", ("AIza",)),
    ("npm token", r"\bnpm_[A-Za-z0-9]{30,}", ("npm_",)),
    ("Hugging Face token", r"\bhf_[A-Za-z0-9]{30,}", ("hf_",)),
    ("PyPI token", r"\bpypi-[A-Za-z0-9_\-]{50,}", ("pypi-",)),
    ("Shopify token", r"\bshp(?:at|ca|pa|ss)_[a-fA-F0-9]{32}", ("shp",)),
    ("DigitalOcean token", r"\bdo[opr]_v1_[a-f0-9]{64}", ("_v1_",)),
    ("Databricks token", r"\bdapi[a-f0-9]{32}(?:-\d)?", ("dapi",)),
    ("Postman API key", r"\bPMAK-[a-f0-9]{24}-[a-f0-9]{34}", ("PMAK-",)),
    (
        "Azure storage key",
        r"(?i)\b(?:Account|SharedAccess)Key\s*=\s*([A-Za-z0-9+/=]{20,})",
        ("accountkey", "sharedaccesskey"),
    ),
    ("JSON web token", r"\beyJ[A-Za-z0-9_\-]{4,}\.[A-Za-z0-9_\-]{4,}\.[A-Za-z0-9_\-]{4,}", ("eyJ",)),
]
OWN_TOKENS: list[Rule] = [
    *(Rule(kind, re.compile(pattern), needles) for kind, pattern, needles in _TOKEN_FORMATS),
    Rule(
        "password in a URL",
        re.compile(
            r"(?<![A-Za-z0-9+.\-])[A-Za-z][A-Za-z0-9+.\-]{0,30}://[^\s:/@]{0,256}:"
            r"(?!\d{1,5}(?:[/?#]|$))([^\s@]{1,256})@(?=[A-Za-z0-9\[])"
        ),
        ("://",),
        keep_prefix=False,
        gate="at sign",
    ),
    Rule(
        "password in a .netrc",
        re.compile(r"(?i)\bmachine\s+\S+\s+login\s+\S+\s+password\s+(\S+)"),
        ("machine",),
        category="assignment",
        keep_prefix=False,
    ),
    Rule(
        "AWS secret access key",
        re.compile(r"(?<![\w+/.\-])[A-Za-z0-9+/]{40}(?![\w+/=\-]|\.\w)"),
        ("",),
        accept=_bare_aws_secret,
        category="entropy",
        keep_prefix=False,
        gate="long run",
    ),
]

# detect-secrets' keyword detector in its quoted form (the one it applies to code): `password == "x"`,
# `secret := "x"`, `pwd.assign("x")`, `db_pass: "x";`, `"x" == password`. (Unquoted values: see pairs.)
KEYWORD_RULES: list[Rule] = [
    Rule(
        "value",
        regex,
        ("key", "pass", "pwd", "secret", "contrase"),
        group=group,
        category="assignment",
        accept=_keyword_value,
        keep_prefix=False,
        per_line=True,
        keyword=True,
        gate="keyword" if _KEYWORD_WORDS in regex.pattern else None,
    )
    for regex, group in [
        *ds_keyword.QUOTES_REQUIRED_DENYLIST_REGEX_TO_GROUP.items(),
        (ds_keyword.FOLLOWED_BY_COLON_EQUAL_SIGNS_REGEX, 4),
        (ds_keyword.FOLLOWED_BY_OPTIONAL_ASSIGN_QUOTES_REQUIRED_REGEX, 4),
    ]
]
ENTROPY_RULES = [
    Rule(
        "high-entropy string",
        _ENTROPY.regex,  # quoted strings of the base64 charset, as detect-secrets looks for them
        ("'", '"'),
        group=2,
        category="entropy",
        accept=_quoted_entropy,
        keep_prefix=False,
        gate="quoted run",
    )
]
