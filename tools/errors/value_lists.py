"""Words that are values because of where they stand, not because they take many spellings.

The online families and the frequency pass (`template_merge`) need a word position to show several
spellings before they call it a value, which keeps constant alternatives apart (`view`/`modify acls`,
`startup`/`shutdown succeeded`, `HTTPS`/`SOCKS5`). A field holding one of two or three states (`LOOKING`,
`on`/`off`) never shows that many. Other evidence tells it:

* `labelled_values` (one shape): in a list of `value (label)` items (`1 (n.leader), 0x0 (n.zxid),
  LOOKING (n.state), 2 (n.sid)`) where most items already hold a masked value, the items holding a word
  hold a value too. A lone `VM Started (Lifecycle Event)` has no such siblings and keeps its word.
* `shared_vocabulary_groups` (the batch): two positions of shapes equal in every other token that draw
  their words from one vocabulary, in every combination (`PSU status ( on off )`, `( off on )`, `( on on )`,
  `( off off )`), are values; so is a further position whose words come from that vocabulary
  (`( on off on )`). Constant alternatives do not do that: `X startup/shutdown succeeded` takes the two
  positions from different words, and a transition `from NEW to RUNNING` never repeats a state (`from
  NEW to NEW`), so its combinations are never complete.
* `value_prefixes` (the batch): capitalised words just before a value, which other messages of the
  template lack and which take several spellings, are the first words of a multi-word name (`process
  Google Chrome He[12]`, `process Slack Helper[34]`, `process Safari[56]`).

Cost: `labelled_values` is O(n) for a shape of n tokens, run once per new shape; the batch passes are
O(total tokens) of their candidate shapes, plus O(k^2) per shape for the vocabulary pass, k its words
that occur at more than one position of its (group, length), capped at `MAX_SHARED_POSITIONS`. The
vocabulary pass only looks at shapes that share an online family with another shape.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterable
from itertools import combinations
from typing import TYPE_CHECKING

from .parameterize import WILDCARD

if TYPE_CHECKING:
    from .template_miner import Shape, TemplateCluster

# A label in parentheses: `(n.state)`, `(my state)`, up to three words of a name, nothing masked.
_LABEL_WORD_RE = re.compile(r"[A-Za-z_][\w.\-]*")
_MAX_LABEL_WORDS = 3
MAX_SHARED_POSITIONS = 12
# A group found by the vocabulary pass: template (mutable), value positions, member clusters, vocabulary.
_Found = tuple[list[str], set[int], list["TemplateCluster"], set[str]]


def labelled_values(tokens: Shape) -> Shape:
    """The shape with the word items of a `value (label)` list masked, or `tokens` itself when none."""
    if tokens.count(WILDCARD) < 2 or not any(token[:1] == "(" for token in tokens):
        return tokens
    masked: list[int] = []
    words: list[int] = []
    for position in range(len(tokens) - 1):
        value = tokens[position]
        if value[:1] == "(" or value[-1:] in ":)=" or not _is_label(tokens, position + 1):
            continue
        (masked if value == WILDCARD else words).append(position)
    if len(masked) < 2 or len(masked) <= len(words) or not words:
        return tokens
    out = list(tokens)
    for position in words:
        out[position] = WILDCARD
    return _fold(out)


def _is_label(tokens: Shape, start: int) -> bool:
    """Whether a parenthesised name of at most three words starts at `start`."""
    first = tokens[start]
    if first[:1] != "(" or len(first) < 2:
        return False
    for offset in range(_MAX_LABEL_WORDS):
        index = start + offset
        if index >= len(tokens):
            return False
        word = tokens[index][1:] if offset == 0 else tokens[index]
        closed = word.endswith(")")
        if not _LABEL_WORD_RE.fullmatch(word[:-1] if closed else word):
            return False
        if closed:
            return True
    return False


def _fold(tokens: list[str]) -> Shape:
    out: list[str] = []
    for token in tokens:
        if token == WILDCARD and out and out[-1] == WILDCARD:
            continue
        out.append(token)
    return tuple(out)


def shared_vocabulary_groups(
    roots: Iterable[TemplateCluster], max_tokens: int
) -> list[tuple[Shape, frozenset[int], list[TemplateCluster]]]:
    """(template, positions generalised, member clusters) for every pair of positions whose words come
    from one vocabulary in every combination, in shapes equal elsewhere."""
    buckets: dict[tuple[str, int], list[TemplateCluster]] = defaultdict(list)
    for root in roots:
        if 2 < len(root.template) <= max_tokens:
            buckets[(root.group, len(root.template))].append(root)
    found: list[tuple[Shape, frozenset[int], list[TemplateCluster]]] = []
    for members in buckets.values():
        if len(members) >= 4:
            found.extend(_bucket_vocabularies(members))
    return found


def _bucket_vocabularies(
    members: list[TemplateCluster],
) -> list[tuple[Shape, frozenset[int], list[TemplateCluster]]]:
    positions_of: dict[str, set[int]] = defaultdict(set)
    for cluster in members:
        for position, token in enumerate(cluster.template):
            if token != WILDCARD:
                positions_of[token].add(position)
    pairs: dict[tuple[int, int, Shape], dict[tuple[str, str], TemplateCluster]] = defaultdict(dict)
    for cluster in members:
        template = cluster.template
        shared = [i for i, token in enumerate(template) if token != WILDCARD and len(positions_of[token]) > 1]
        for a, b in combinations(shared[:MAX_SHARED_POSITIONS], 2):
            rest = template[:a] + template[a + 1 : b] + template[b + 1 :]
            pairs[(a, b, rest)].setdefault((template[a], template[b]), cluster)
    found: list[_Found] = []
    used: set[int] = set()
    for (a, b, _rest), seen in pairs.items():
        if len(seen) < 4:
            continue
        first = {x for x, _ in seen}
        second = {y for _, y in seen}
        if len(first & second) < 2 or len(seen) != len(first) * len(second):
            continue
        clusters = list(seen.values())
        if any(id(cluster) in used for cluster in clusters):
            continue
        used.update(id(cluster) for cluster in clusters)
        masked = list(clusters[0].template)
        masked[a] = masked[b] = WILDCARD
        found.append((masked, {a, b}, clusters, first | second))
    while _extend(found):
        pass
    return [(tuple(template), frozenset(positions), clusters) for template, positions, clusters, _ in found]


def _extend(found: list[_Found]) -> bool:
    """Join templates of `found` that differ in one more position, when their words there come from
    the vocabulary of their value positions (`( on off on )` next to `( on off off )`)."""
    siblings: dict[tuple[frozenset[int], tuple[str, ...]], list[int]] = defaultdict(list)
    for index, (template, positions, _clusters, vocabulary) in enumerate(found):
        for position, token in enumerate(template):
            if token in vocabulary:
                key = tuple(template[:position]) + (WILDCARD,) + tuple(template[position + 1 :])
                siblings[(frozenset(positions | {position}), key)].append(index)
    for (joined_positions, key), indexes in siblings.items():
        if len(indexes) < 2:
            continue
        joined: list[TemplateCluster] = []
        words: set[str] = set()
        for index in indexes:
            joined.extend(found[index][2])
            words |= found[index][3]
        rest = [entry for index, entry in enumerate(found) if index not in indexes]
        found[:] = [*rest, (list(key), set(joined_positions), joined, words)]
        return True
    return False


def value_prefixes(
    roots: Iterable[TemplateCluster], min_anchor_words: int, max_words: int = 3
) -> list[tuple[TemplateCluster, TemplateCluster]]:
    """(cluster, template it belongs to) for shapes with one to `max_words` capitalised words just before
    a value where another template, equal once those words are dropped, has the value alone, and the
    dropped words take at least two spellings: they are the first words of a multi-word name (`process
    Google Chrome He[12]` and `process Slack Helper[34]` next to `process Safari[56]`). One constant
    optional phrase (`for invalid user X` next to `for X`) has one spelling and stays a template of its
    own, and lower-case words (`to server X`, `to proxy X`) are not names."""
    roots = list(roots)
    by_template = {(root.group, root.template): root for root in roots}
    candidates: dict[tuple[str, Shape], dict[Shape, list[TemplateCluster]]] = defaultdict(dict)
    for root in roots:
        template = root.template
        if WILDCARD not in template:
            continue
        for position, token in enumerate(template):
            if token != WILDCARD:
                continue
            for length in range(1, max_words + 1):
                start = position - length
                word = template[start] if start >= 0 else WILDCARD
                if not word[:1].isupper() or word[-1] in ":=" or word == WILDCARD:
                    break  # only capitalised words, as names are written (`Google Chrome He[12]`)
                key = (root.group, template[:start] + template[position:])
                if key in by_template and len(key[1]) - key[1].count(WILDCARD) > min_anchor_words:
                    candidates[key].setdefault(template[start:position], []).append(root)
    found: list[tuple[TemplateCluster, TemplateCluster]] = []
    for key, spans in candidates.items():
        if len(spans) >= 2:
            target = by_template[key]
            found.extend((cluster, target) for clusters in spans.values() for cluster in clusters)
    return found
