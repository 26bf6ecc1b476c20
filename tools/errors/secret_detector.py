"""Find and mask secrets: one detector for tool results, the nightly report, PR bodies and the PR scan.

Detection is Yelp's detect-secrets: every regex plugin it ships (AWS, GitHub, GitLab, Slack, Stripe,
SendGrid, Twilio, JWT, npm, PyPI, Azure storage, ...), its keyword detector's assignment patterns, its
Base64 entropy check and its false-positive heuristics (UUIDs, sequences, templates). detect-secrets
scans files line by line and reports values; here its patterns run over whole texts so that a secret
can be located (file:line for the scan) and masked in place. A few rules of ours cover what it misses
or only finds with a label: key=value pairs with short or unquoted values, `Authorization:` headers of
any scheme, URL passwords that contain '/', whole private-key blocks, `.netrc` passwords, and token
formats it lacks (`sk-ant-`, `sk-proj-`, `github_pat_`, `npm_`, `hf_`, Google `AIza`, Stripe `whsec_`,
bare AWS secret keys, Azure keys of any length, ...).

Replacements keep the text readable: the kind of secret stays visible (`sk-***`, `Bearer ***`,
`password=***`, `PASSWORD = "***"`, `https://user:***@host`), only the secret value goes.

Speed: most texts hold no candidate. Every rule names needles (substrings every match contains); a
rule runs only when one of them is in the text, and rules for one-line formats (keyword assignments)
only on the lines that hold one. Key=value pairs are found from their key word (`str.find`), not by
a regex tried at every position.
"""

from __future__ import annotations

import base64
import binascii
import bisect
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any, Literal

from detect_secrets.core.plugins.util import get_mapping_from_secret_type_to_class
from detect_secrets.filters import heuristic
from detect_secrets.plugins import keyword as ds_keyword
from detect_secrets.plugins.base import RegexBasedDetector
from detect_secrets.plugins.high_entropy_strings import Base64HighEntropyString
from detect_secrets.plugins.jwt import JwtTokenDetector

MASK = "***"

Category = Literal["format", "assignment", "entropy"]


@dataclass(frozen=True)
class SecretMatch:
    """Where a secret is and what kind it is; `span` is the secret's offsets in the text, never shown.

    `category` says how it was found: a known token `format`, the value of a secret-named key
    (`assignment`; `quoted` when the value was in quotes) or a random-looking string (`entropy`).
    """

    line: int
    column: int
    kind: str
    span: tuple[int, int]
    quoted: bool = False
    category: Category = "format"


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


def _jwt_ok(value: str, match: re.Match[str]) -> bool:
    return JwtTokenDetector.is_formally_valid(value)


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


_NOT_A_VALUE = {
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
_CODE_REF_RE = re.compile(
    r"[A-Za-z_][\w.]*[(\[{]|\{|\$\{|%\(|<|\$[A-Za-z_]\w*$|(?:self|cls|this)\.|[A-Z]+(?:_[A-Z]+)*$"
    r"|[\w.$]+@[0-9a-f]{4,}$"
)


def _header_value(value: str, match: re.Match[str]) -> bool:
    return len(value) >= 6 and not _CODE_REF_RE.match(value)


def _keyword_value(value: str, match: re.Match[str]) -> bool:
    return value.lower() not in _NOT_A_VALUE


# -- rules --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Rule:
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


# Prefixes that name a kind of key and stay visible; everything after them is masked.
_KIND_PREFIX_RE = re.compile(
    r"sk-(?:ant-|proj-|svcacct-|admin-|live-|test-)?|(?:sk|pk|rk)_(?:live|test)_|gh[pousr]_|github_pat_"
    r"|gl(?:pat|dt|ft|soat|rt|cbt|imt|ptt|agent|oas)-|xox[a-z]-|xapp-|whsec_|shp(?:at|ca|pa|ss)_|do[opr]_v1_"
    r"|PMAK-|(?:A3T[A-Z0-9]|ABIA|ACCA|AKIA|ASIA)(?=[A-Z0-9]{16})|AIza|eyJ|SG\.|npm_|hf_|pypi-"
    r"|https://hooks\.slack\.com/[a-z]+/|AccountKey="
)
_JWT_TAIL = re.compile(r"[A-Za-z0-9_\-.+/=]*")

_OWN_FORMATS: list[_Rule] = [
    # detect-secrets flags the BEGIN line; we mask the whole block (and know ENCRYPTED/any-label keys).
    _Rule(
        "private key",
        re.compile(
            r"-----BEGIN ([A-Z0-9 ]*PRIVATE KEY(?: BLOCK)?)-----(.*?)(?:-----END \1-----|\Z)", re.DOTALL
        ),
        ("private key",),
        group=2,
    ),
    _Rule(
        "private key",
        re.compile(
            r"PuTTY-User-Key-File-\d+:[^\n]*\n(?:[^\n]*\n){0,40}?Private-Lines: *\d+ *\n(.*?)(?:Private-MAC:|\Z)",
            re.DOTALL,
        ),
        ("putty-user-key-file",),
        group=1,
    ),
    _Rule(  # the header line alone (a diff is scanned line by line), as detect-secrets' PuTTY pattern
        "private key",
        re.compile(r"PuTTY-User-Key-File-\d+:"),
        ("putty-user-key-file",),
        group=0,
        accept=_putty_header_alone,
        keep_prefix=False,
    ),
]
_HEADER_RULES: list[_Rule] = [
    _Rule(
        "bearer/basic credential",
        re.compile(r"(?i)\bbearer\s+([A-Za-z0-9._~+/\-]{8,}=*)"),
        ("bearer",),
        accept=_bearer_token,
    ),
    _Rule(
        "bearer/basic credential",
        re.compile(r"(?i)\bbasic\s+([A-Za-z0-9+/]{6,}={0,2})"),
        ("basic",),
        accept=_basic_credentials,
    ),
    _Rule(
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
# Formats detect-secrets does not know, or knows only in one exact length or next to a label.
_OWN_TOKENS: list[_Rule] = [
    _Rule(
        "API key (sk-...)",
        re.compile(r"\bsk-(?:ant-|proj-|svcacct-|admin-|live-|test-)?[A-Za-z0-9_\-]{16,}"),
        ("sk-",),
    ),
    _Rule(
        "Stripe-style key", re.compile(r"\b(?:sk|pk|rk)_(?:live|test)_[A-Za-z0-9]{10,}"), ("_live_", "_test_")
    ),
    _Rule("Stripe webhook secret", re.compile(r"\bwhsec_[A-Za-z0-9+/=]{24,}"), ("whsec_",)),
    _Rule(
        "GitHub token", re.compile(r"\bgh[pousr]_[A-Za-z0-9_]{20,}"), ("ghp_", "gho_", "ghu_", "ghs_", "ghr_")
    ),
    _Rule("GitHub fine-grained token", re.compile(r"\bgithub_pat_[A-Za-z0-9_]{20,}"), ("github_pat_",)),
    _Rule("Slack token", re.compile(r"\b(?:xox[a-z]|xapp)-[A-Za-z0-9\-]{10,}"), ("xox", "xapp-")),
    _Rule(
        "Slack webhook URL",
        re.compile(r"https://hooks\.slack\.com/(?:services|workflows|triggers)/[A-Za-z0-9_/]{8,}"),
        ("hooks.slack.com",),
    ),
    _Rule("Google API key", re.compile(r"\bAIza[0-9A-Za-z_\-]{35}"), ("AIza",)),
    _Rule("npm token", re.compile(r"\bnpm_[A-Za-z0-9]{30,}"), ("npm_",)),
    _Rule("Hugging Face token", re.compile(r"\bhf_[A-Za-z0-9]{30,}"), ("hf_",)),
    _Rule("PyPI token", re.compile(r"\bpypi-[A-Za-z0-9_\-]{50,}"), ("pypi-",)),
    _Rule("Shopify token", re.compile(r"\bshp(?:at|ca|pa|ss)_[a-fA-F0-9]{32}"), ("shp",)),
    _Rule("DigitalOcean token", re.compile(r"\bdo[opr]_v1_[a-f0-9]{64}"), ("_v1_",)),
    _Rule("Databricks token", re.compile(r"\bdapi[a-f0-9]{32}(?:-\d)?"), ("dapi",)),
    _Rule("Postman API key", re.compile(r"\bPMAK-[a-f0-9]{24}-[a-f0-9]{34}"), ("PMAK-",)),
    _Rule(
        "Azure storage key",
        re.compile(r"(?i)\b(?:Account|SharedAccess)Key\s*=\s*([A-Za-z0-9+/=]{20,})"),
        ("accountkey", "sharedaccesskey"),
    ),
    _Rule(
        "JSON web token",
        re.compile(r"\beyJ[A-Za-z0-9_\-]{4,}\.[A-Za-z0-9_\-]{4,}\.[A-Za-z0-9_\-]{4,}"),
        ("eyJ",),
    ),
    _Rule(
        "password in a URL",
        re.compile(
            r"(?<![A-Za-z0-9+.\-])[A-Za-z][A-Za-z0-9+.\-]{0,30}://[^\s:/@]{0,256}:"
            r"(?!\d{1,5}(?:[/?#]|$))([^\s@]{1,256})@(?=[A-Za-z0-9\[])"
        ),
        ("://",),
        keep_prefix=False,
    ),
    _Rule(
        "password in a .netrc",
        re.compile(r"(?i)\bmachine\s+\S+\s+login\s+\S+\s+password\s+(\S+)"),
        ("machine",),
        category="assignment",
        keep_prefix=False,
    ),
    _Rule(
        "AWS secret access key",
        re.compile(r"(?<![\w+/.\-])[A-Za-z0-9+/]{40}(?![\w+/=\-]|\.\w)"),
        ("",),
        accept=_bare_aws_secret,
        category="entropy",
        keep_prefix=False,
    ),
]

# detect-secrets' keyword detector in its quoted form (the one it applies to code): `password == "x"`,
# `secret := "x"`, `pwd.assign("x")`, `db_pass: "x";`, `"x" == password`. (Unquoted values: see pairs.)
_KEYWORD_RULES: list[_Rule] = [
    _Rule(
        "value",
        regex,
        ("key", "pass", "pwd", "secret", "contrase"),
        group=group,
        category="assignment",
        accept=_keyword_value,
        keep_prefix=False,
        per_line=True,
        keyword=True,
    )
    for regex, group in [
        *ds_keyword.QUOTES_REQUIRED_DENYLIST_REGEX_TO_GROUP.items(),
        (ds_keyword.FOLLOWED_BY_COLON_EQUAL_SIGNS_REGEX, 4),
        (ds_keyword.FOLLOWED_BY_OPTIONAL_ASSIGN_QUOTES_REQUIRED_REGEX, 4),
    ]
]
_ENTROPY_RULES = [
    _Rule(
        "high-entropy string",
        _ENTROPY.regex,  # quoted strings of the base64 charset, as detect-secrets looks for them
        ("'", '"'),
        group=2,
        category="entropy",
        accept=_quoted_entropy,
        keep_prefix=False,
    )
]

# Plugins that are not secrets (public IPs), or that rules here cover more completely.
_SKIPPED_PLUGINS = {"IPPublicDetector", "PrivateKeyDetector", "KeywordDetector"}
# Plugins whose pattern groups only the kind prefix (`(ghp|gho|...)_...`): the secret is the whole match.
_WHOLE_MATCH_PLUGINS = {"GitHubTokenDetector", "GitLabTokenDetector"}
# Plugins whose patterns are one-line assignments: run them on the lines that hold a needle only.
_PER_LINE_PLUGINS = {"CloudantDetector", "IbmCloudIamDetector", "IbmCosHmacDetector", "SoftlayerDetector"}
_PLUGIN_LABELS = {
    "AWS Access Key": "AWS access key",
    "Basic Auth Credentials": "password in a URL",
    "GitHub Token": "GitHub token",
    "GitLab Token": "GitLab token",
    "JSON Web Token": "JSON web token",
    "Slack Token": "Slack token",
    "Stripe Access Key": "Stripe-style key",
}
_PLUGIN_NEEDLES = {  # substrings every match of the plugin contains; a plugin not listed always runs
    "ArtifactoryDetector": ("AKC", "AP"),
    "AWSKeyDetector": ("A3T", "ABIA", "ACCA", "AKIA", "ASIA", "aws"),
    "AzureStorageKeyDetector": ("accountkey=",),
    "BasicAuthDetector": ("://",),
    "CloudantDetector": ("cloudant", "clou", "cl_", "cl-", "clapi", "clkey", "clpw", "clpass", "cltoken"),
    "DiscordBotTokenDetector": (".",),
    "GitHubTokenDetector": ("ghp_", "gho_", "ghu_", "ghs_", "ghr_"),
    "GitLabTokenDetector": ("gl", "GR1348941"),
    "IbmCloudIamDetector": ("key", "pwd", "pass", "token"),
    "IbmCosHmacDetector": ("secret",),
    "JwtTokenDetector": ("eyJ",),
    "MailchimpDetector": ("-us",),
    "NpmDetector": ("_authtoken",),
    "OpenAIDetector": ("T3BlbkFJ",),
    "PypiTokenDetector": ("pypi-",),
    "SendGridDetector": ("SG.",),
    "SlackDetector": ("xox", "hooks.slack.com"),
    "SoftlayerDetector": ("softlayer", "sl_", "sl-", "slapi", "slkey", "slpwd", "slpass", "sltoken"),
    "SquareOAuthDetector": ("sq0csp-",),
    "StripeDetector": ("k_live_",),
    "TelegramBotTokenDetector": (":",),
    "TwilioKeyDetector": ("AC", "SK"),
}


def _plugin_rules() -> list[_Rule]:
    """One rule per pattern of every regex plugin detect-secrets ships (new plugins join by themselves)."""
    rules = []
    plugin_classes: list[Any] = list(get_mapping_from_secret_type_to_class().values())
    for plugin_class in plugin_classes:
        name = plugin_class.__name__
        if name in _SKIPPED_PLUGINS or not issubclass(plugin_class, RegexBasedDetector):
            continue
        jwt = name == "JwtTokenDetector"
        secret_type = str(plugin_class.secret_type)
        for regex in plugin_class.denylist:
            rules.append(
                _Rule(
                    _PLUGIN_LABELS.get(secret_type, secret_type),
                    regex,
                    _PLUGIN_NEEDLES.get(name, ("",)),
                    group=0 if name in _WHOLE_MATCH_PLUGINS else None,
                    accept=_jwt_ok if jwt else None,
                    extend=_JWT_TAIL if jwt else None,
                    trim=True,
                    per_line=name in _PER_LINE_PLUGINS,
                )
            )
    return rules


# -- key=value pairs ------------------------------------------------------------------------------------

# Where a secret word may sit in a key; the key (`db_password`, `X-Api-Key`) is read around it.
_PAIR_NEEDLES = (
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
_KEY_CHARS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-ñ")
# After the key: an optional closing quote/bracket, an operator, then a quoted or a plain value.
_PAIR_VALUE_RE = re.compile(
    r"""["'`]?\]?[ \t]*(?::=|=>|==?|:)[ \t]*
    (?:
        (?P<q>["'`])(?P<qv>(?:(?!(?P=q))[^\n]){1,500})(?P=q)
      | (?P<q2>["'`])?(?P<v>[^\s"'`&,;)}\]]{1,500})
    )""",
    re.VERBOSE,
)


def _pairs(text: str, lowered: str) -> Iterator[tuple[int, int, str, bool]]:
    """(start, end, key, quoted) of each value assigned to a secret-named key."""
    seen: set[int] = set()
    for needle in _PAIR_NEEDLES:
        at = lowered.find(needle)
        while at >= 0:
            end = at + len(needle)
            while end < len(text) and text[end] in _KEY_CHARS and end - at < _MAX_KEY:
                end += 1
            start = at
            while start > 0 and text[start - 1] in _KEY_CHARS and at - start < _MAX_KEY:
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
    if lowered in _NOT_A_VALUE or value.startswith("<"):
        return False
    if quoted:
        return True
    if key.endswith("auth") and not key.endswith(("_auth", "-auth", ".auth")):
        return False  # `auth: SIMPLE`, `auth=auth`, `(auth: token expired)`: only a quoted value counts
    return lowered not in key and not _CODE_REF_RE.match(value)


# Earlier rules win where matches overlap: exact formats, headers, tokens, then key=value, then entropy.
_FORMAT_RULES: list[_Rule] = [*_OWN_FORMATS, *_plugin_rules(), *_HEADER_RULES, *_OWN_TOKENS]
_TRIM = " \t\r\n=:\"'`"
_TRIM_END = " \t\r\n\"'`"

# Anchored at the start of a run of name characters, so a long run without `@` is scanned once, not n times.
_EMAIL_RE = re.compile(r"(?<![\w.+\-])[\w.+\-]{1,64}@[A-Za-z0-9\-]+(?:\.[A-Za-z0-9\-]+)*\.[A-Za-z]{2,}")


# -- finding ------------------------------------------------------------------------------------------

_Candidate = tuple[int, int, str, bool, Category]

# Every rule in order of precedence; None stands for the key=value pairs (found from their key word).
_PIPELINE: list[_Rule | None] = [*_FORMAT_RULES, None, *_KEYWORD_RULES, *_ENTROPY_RULES]


def _needle_index() -> tuple[list[int], list[tuple[str, list[int]]], list[tuple[str, list[int]]]]:
    """Rules that always run; lowered needles and case-sensitive needles, each with the rules it wakes."""
    always: list[int] = []
    lower: dict[str, list[int]] = {}
    exact: dict[str, list[int]] = {}
    for index, rule in enumerate(_PIPELINE):
        for needle in rule.needles if rule is not None else _PAIR_NEEDLES:
            if not needle:
                always.append(index)
            else:
                (lower if needle == needle.lower() else exact).setdefault(needle, []).append(index)
    return always, list(lower.items()), list(exact.items())


_ALWAYS, _LOWER_NEEDLES, _EXACT_NEEDLES = _needle_index()


def _awake(text: str, lowered: str) -> list[int]:
    """The rules worth running on `text`: those one of whose needles it holds (a few `in` tests)."""
    awake = set(_ALWAYS)
    for needle, rules in _LOWER_NEEDLES:
        if needle in lowered:
            awake.update(rules)
    for needle, rules in _EXACT_NEEDLES:
        if needle in text:
            awake.update(rules)
    return sorted(awake)


def _lines_with(rule: _Rule, text: str, lowered: str) -> list[tuple[int, int]]:
    """The lines of `text` that hold one of the rule's needles."""
    lines: set[tuple[int, int]] = set()
    for needle in rule.needles:
        haystack = lowered if needle == needle.lower() else text
        at = haystack.find(needle)
        while at >= 0:
            start = text.rfind("\n", 0, at) + 1
            end = text.find("\n", at)
            end = len(text) if end < 0 else end
            lines.add((start, end))
            at = haystack.find(needle, end)
    return sorted(lines)


def _rule_candidates(rule: _Rule, text: str, lowered: str) -> Iterator[_Candidate]:
    regions = _lines_with(rule, text, lowered) if rule.per_line else [(0, len(text))]
    for region_start, region_end in regions:
        for match in rule.regex.finditer(text, region_start, region_end):
            found = _value_span(rule, match)
            if found is None:
                continue
            start, end = found
            if rule.extend is not None:
                end = rule.extend.match(text, end).end()  # type: ignore[union-attr]
            value = text[start:end]
            if rule.accept is not None and not rule.accept(value, match):
                continue
            if rule.keep_prefix:
                prefix = _KIND_PREFIX_RE.match(value)
                if prefix and prefix.end() < len(value):
                    start += prefix.end()
            kind = rule.kind
            quoted = rule.category == "assignment" and start > 0 and text[start - 1] in "\"'`"
            if rule.keyword:
                key = _keyword_key(text, match)
                if key is None:
                    continue
                kind = f"value of `{key}`"
                quoted = True
            yield start, end, kind, quoted, rule.category


def _value_span(rule: _Rule, match: re.Match[str]) -> tuple[int, int] | None:
    group = rule.group
    if group is None:
        group = next((i for i in range(1, (match.re.groups or 0) + 1) if match.group(i)), 0)
    start, end = match.span(group)
    if start < 0:
        return None
    if rule.trim:
        value = match.string[start:end]
        stripped = value.lstrip(_TRIM).rstrip(_TRIM_END)
        if not stripped:
            return None
        start += value.index(stripped)
        end = start + len(stripped)
    if start == end and rule.kind != "private key":
        return None
    return start, end


_DS_KEYWORD_RE = re.compile(ds_keyword.DENYLIST_REGEX, re.IGNORECASE)


_DS_KEY_END_RE = re.compile(rf"(?:{'|'.join(ds_keyword.DENYLIST)})$", re.IGNORECASE)


def _keyword_key(text: str, match: re.Match[str]) -> str | None:
    """The key a detect-secrets keyword pattern matched (`db_password`), if it ends with a secret word.

    detect-secrets lets any word follow (`secret_name`, `password_field`); a key that only starts with
    a secret word names something about a secret, not the secret.
    """
    word = _DS_KEYWORD_RE.search(text, match.start(), match.end())
    start, end = word.span() if word else match.span()
    while start > 0 and text[start - 1] in _KEY_CHARS:
        start -= 1
    while end < len(text) and (text[end].isalnum() or text[end] == "_"):
        end += 1
    key = text[start:end]
    lowered = key.lower()
    return key[:60] if _KEY_END_RE.search(lowered) or _DS_KEY_END_RE.search(lowered) else None


def _candidates(text: str) -> Iterator[_Candidate]:
    """Every candidate, most specific rules first."""
    lowered = text.lower()
    if len(lowered) != len(text):  # a few characters lower-case to two: keep offsets aligned
        lowered = "".join(c.lower() if len(c.lower()) == 1 else c for c in text)
    for index in _awake(text, lowered):
        rule = _PIPELINE[index]
        if rule is None:
            for start, end, key, quoted in _pairs(text, lowered):
                yield start, end, f"value of `{key[:60]}`", quoted, "assignment"
        else:
            yield from _rule_candidates(rule, text, lowered)


def find_secrets(text: str) -> list[SecretMatch]:
    """The secrets `redact_secrets` masks (emails excepted), with 1-based line and column, in text order.

    Values already masked (`***`) and template placeholders (`<...>`, `{...}`, `${...}`) are not
    reported. Where matches overlap, the more specific rule wins.
    """
    if not text:
        return []
    starts: list[int] = []  # the spans taken so far, sorted and disjoint
    spans: list[tuple[int, int, str, bool, Category]] = []
    for start, end, kind, quoted, category in _candidates(text):
        value = text[start:end]
        if MASK in value or (len(value) > 1 and heuristic.is_templated_secret(value)):
            continue
        at = bisect.bisect_right(starts, start)
        before = spans[at - 1] if at else None
        after = spans[at] if at < len(spans) else None
        if before is not None and (before[1] > start or before[0] == start):
            continue
        if after is not None and (after[0] < end or after[0] == start):
            continue
        starts.insert(at, start)
        spans.insert(at, (start, end, kind, quoted, category))
    found: list[SecretMatch] = []
    line, line_start, counted = 1, 0, 0
    for start, end, kind, quoted, category in spans:
        line += text.count("\n", counted, start)
        counted = start
        line_start = text.rfind("\n", 0, start) + 1
        found.append(SecretMatch(line, start - line_start + 1, kind, (start, end), quoted, category))
    return found


def has_private_key(text: str) -> bool:
    """Whether `text` holds a private key (the content check for files that must never be shown)."""
    lowered = text.lower()
    if "private key" not in lowered and "putty-user-key-file" not in lowered:
        return False
    return any(m.kind == "private key" for m in find_secrets(text))


# -- masking ------------------------------------------------------------------------------------------


def redact_secrets(text: str, redact_emails: bool = True) -> str:
    """`text` with API keys, tokens, passwords, private keys (and emails unless told not to) masked."""
    if not text:
        return text
    matches = find_secrets(text)
    if matches:
        pieces = []
        last = 0
        for match in matches:
            start, end = match.span
            pieces += [text[last:start], MASK]
            last = end
        pieces.append(text[last:])
        text = "".join(pieces)
    if redact_emails and "@" in text:
        text = _EMAIL_RE.sub("<email>", text)
    return text


def redact_lines(text: str, redact_emails: bool = False) -> str:
    """`redact_secrets` that keeps every line where it was: a masked span over several lines (a private
    key's body) leaves its line breaks, so line numbers of source files stay right."""
    if not text:
        return text
    pieces = []
    last = 0
    for match in find_secrets(text):
        start, end = match.span
        pieces.append(text[last:start])
        pieces.append("\n".join(MASK if part else "" for part in text[start:end].split("\n")) or MASK)
        last = end
    pieces.append(text[last:])
    text = "".join(pieces)
    if redact_emails and "@" in text:
        text = _EMAIL_RE.sub("<email>", text)
    return text
