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

Speed: most texts hold no candidate. Every rule names needles (substrings every match contains), all
found in one Aho-Corasick pass (ahocorasick-rs); a rule runs only when one of them is in the text and its
gate (a cheaper test all its matches pass, see `secret_rules`) holds, and rules for one-line formats (keyword assignments) only on the lines that hold
a needle. Key=value pairs are found from their key word (`str.find`), not by a regex tried at every
position. Masked texts up to 2,000 characters are kept in an LRU cache keyed by the exact text: the same
error texts come back page after page.

The rules live in `secret_rules` (ours), `secret_plugins` (detect-secrets' regex plugins) and
`secret_keys` (key=value pairs and keyword keys); this module finds, orders and masks.
"""

from __future__ import annotations

import bisect
import functools
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from ahocorasick_rs import AhoCorasick
from detect_secrets.filters import heuristic

from .secret_keys import PAIR_NEEDLES, keyword_key, pairs
from .secret_plugins import plugin_rules
from .secret_rules import (
    ENTROPY_RULES,
    GATES,
    HEADER_RULES,
    KEYWORD_RULES,
    KIND_PREFIX_RE,
    OWN_FORMATS,
    OWN_TOKENS,
    Category,
    Rule,
    has_long_run,
)

MASK = "***"
CACHED_TEXT = 2000  # longer texts are masked every time (the cache holds at most CACHE_SIZE of them)
CACHE_SIZE = 4096


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


# Earlier rules win where matches overlap: exact formats, headers, tokens, then key=value, then entropy.
_FORMAT_RULES: list[Rule] = [*OWN_FORMATS, *plugin_rules(), *HEADER_RULES, *OWN_TOKENS]
_TRIM = " \t\r\n=:\"'`"
_TRIM_END = " \t\r\n\"'`"

# Anchored at the start of a run of name characters, so a long run without `@` is scanned once, not n times.
_EMAIL_RE = re.compile(r"(?<![\w.+\-])[\w.+\-]{1,64}@[A-Za-z0-9\-]+(?:\.[A-Za-z0-9\-]+)*\.[A-Za-z]{2,}")


# -- finding ------------------------------------------------------------------------------------------

_Candidate = tuple[int, int, str, bool, Category]

# Every rule in order of precedence; None stands for the key=value pairs (found from their key word).
_PIPELINE: list[Rule | None] = [*_FORMAT_RULES, None, *KEYWORD_RULES, *ENTROPY_RULES]


def _needle_index() -> tuple[list[int], list[tuple[str, list[tuple[str | None, list[int]]]]]]:
    """Rules that always run; each needle lowered, with what it wakes: (the exact needle to confirm when
    it has capitals, else None; the rules)."""
    always: list[int] = []
    needles: dict[str, dict[str | None, list[int]]] = {}
    for index, rule in enumerate(_PIPELINE):
        for needle in rule.needles if rule is not None else PAIR_NEEDLES:
            if not needle:
                always.append(index)
            else:
                exact = None if needle == needle.lower() else needle
                needles.setdefault(needle.lower(), {}).setdefault(exact, []).append(index)
    return always, [(lowered, list(wakes.items())) for lowered, wakes in needles.items()]


_ALWAYS, _NEEDLES = _needle_index()
# Every needle in one pass over the lowered text (Aho-Corasick, in Rust): ~0.4 us a short text, where an
# `in` test per needle cost ~4 us.
_AUTOMATON = AhoCorasick([lowered for lowered, _ in _NEEDLES])
_GATED = {index: rule.gate for index, rule in enumerate(_PIPELINE) if rule is not None and rule.gate}
# Most texts have no run of 24 token characters, and then the rules gated on one (the bare AWS secret that
# always runs, Telegram's `:`, Twilio's `AC`/`SK`, ...) cannot match: the same index without them.
_NEEDLES_ALL = [wakes for _, wakes in _NEEDLES]
_ALWAYS_SHORT = [index for index in _ALWAYS if _GATED.get(index) != "long run"]
_NEEDLES_SHORT = [
    [(exact, kept) for exact, rules in wakes if (kept := [i for i in rules if _GATED.get(i) != "long run"])]
    for _, wakes in _NEEDLES
]


def _awake(text: str, lowered: str) -> list[int]:
    """The rules worth running on `text`, in order: those one of whose needles it holds and whose gate
    holds (each gate tested at most once a text; the long-run gate first, since most rules share it)."""
    runs = has_long_run(text)
    always, wakes = (_ALWAYS, _NEEDLES_ALL) if runs else (_ALWAYS_SHORT, _NEEDLES_SHORT)
    try:
        found_needles = {match[0] for match in _AUTOMATON.find_matches_as_indexes(lowered, overlapping=True)}
    except UnicodeEncodeError:  # a lone surrogate (no UTF-8 for the automaton): one test per needle
        found_needles = {i for i, (needle, _) in enumerate(_NEEDLES) if needle in lowered}
    woken = set(always)
    for found in found_needles:
        for exact, rules in wakes[found]:
            if exact is None or exact in text:
                woken.update(rules)
    if not woken:
        return []
    passed: dict[str, bool] = {"long run": runs}
    running = []
    for index in sorted(woken):
        gate = _GATED.get(index)
        if gate is not None:
            if gate not in passed:
                passed[gate] = GATES[gate](text, lowered)
            if not passed[gate]:
                continue
        running.append(index)
    return running


def _lines_with(rule: Rule, text: str, lowered: str) -> list[tuple[int, int]]:
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


def _rule_candidates(rule: Rule, text: str, lowered: str) -> Iterator[_Candidate]:
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
                prefix = KIND_PREFIX_RE.match(value)
                if prefix and prefix.end() < len(value):
                    start += prefix.end()
            kind = rule.kind
            quoted = rule.category == "assignment" and start > 0 and text[start - 1] in "\"'`"
            if rule.keyword:
                key = keyword_key(text, match)
                if key is None:
                    continue
                kind = f"value of `{key}`"
                quoted = True
            yield start, end, kind, quoted, rule.category


def _value_span(rule: Rule, match: re.Match[str]) -> tuple[int, int] | None:
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


def _lowered(text: str) -> str:
    lowered = text.lower()
    if len(lowered) != len(text):  # a few characters lower-case to two: keep offsets aligned
        lowered = "".join(c.lower() if len(c.lower()) == 1 else c for c in text)
    return lowered


def _candidates(text: str, lowered: str, awake: list[int]) -> Iterator[_Candidate]:
    """Every candidate of the awake rules, most specific rules first."""
    for index in awake:
        rule = _PIPELINE[index]
        if rule is None:
            for start, end, key, quoted in pairs(text, lowered):
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
    lowered = _lowered(text)
    awake = _awake(text, lowered)
    if not awake:  # most texts
        return []
    starts: list[int] = []  # the spans taken so far, sorted and disjoint
    spans: list[tuple[int, int, str, bool, Category]] = []
    for start, end, kind, quoted, category in _candidates(text, lowered, awake):
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
    if len(text) > CACHED_TEXT:
        return _redact(text, redact_emails)
    return _redact_cached(text) if redact_emails else _redact_cached_keeping_emails(text)


def redact_each(texts: list[str | None], cut: int) -> list[str | None]:
    """`redact_secrets(text)` of each text (None and empty as they are) in one call, at most `cut`
    characters, the last one `…` when it was longer: a page of tasks masks fifty short texts, and the
    per-text calls through the wrappers cost more than the cache."""
    cached, limit = _redact_cached, CACHED_TEXT
    return [
        (m if len(m := cached(t) if len(t) <= limit else _redact(t, True)) <= cut else m[: cut - 1] + "…")
        if t
        else t
        for t in texts
    ]


# One argument each: the cache then keys on the text itself, not on a tuple it builds and hashes per call.
@functools.lru_cache(maxsize=CACHE_SIZE)
def _redact_cached(text: str) -> str:
    return _redact(text, True)


@functools.lru_cache(maxsize=CACHE_SIZE)
def _redact_cached_keeping_emails(text: str) -> str:
    return _redact(text, False)


def _redact(text: str, redact_emails: bool) -> str:
    return _masked(text, redact_emails, lambda secret: MASK)


def redact_lines(text: str, redact_emails: bool = False) -> str:
    """`redact_secrets` that keeps every line where it was: a masked span over several lines (a private
    key's body) leaves its line breaks, so line numbers of source files stay right."""
    if not text:
        return text
    return _masked(
        text,
        redact_emails,
        lambda secret: "\n".join(MASK if part else "" for part in secret.split("\n")) or MASK,
    )


def _masked(text: str, redact_emails: bool, mask: Callable[[str], str]) -> str:
    """`text` with each secret replaced by `mask(secret)`, then emails unless told not to."""
    matches = find_secrets(text)
    if matches:
        pieces = []
        last = 0
        for match in matches:
            start, end = match.span
            pieces += [text[last:start], mask(text[start:end])]
            last = end
        pieces.append(text[last:])
        text = "".join(pieces)
    if redact_emails and "@" in text:
        text = _EMAIL_RE.sub("<email>", text)
    return text
