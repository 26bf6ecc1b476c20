"""Batch passes of the template miner: which token shapes are one template, judged on the whole batch.

`frequency_groups` is a Brain-style pass (Yu et al., "Brain: Log Parsing with Bidirectional Parallel Tree",
2023) over the distinct shapes of one (group, token count). Each shape's tokens get their frequency: the
number of shapes holding that token at that position. The frequency shared by most of a shape's tokens
(the longest common pattern; on a tie the lower, which keeps more words constant) is its dominant
frequency; words at least that frequent are the constant part of its template, the rarer ones and the
masked values are open. Shapes with the same constant part (at least `min_anchor_words` words) are one
candidate group; an open position is a value when it shows at least `min_distinct_values` different tokens
across that group, otherwise its tokens are constants and split the group (`Changing view acls` and
`Changing modify acls` stay apart). Several values in one message need no repetition of the others,
unlike the online families of `template_miner`.

`wildcard_siblings` finds words standing where a shape equal in every other token has a masked value
(`got 'tomorrow'` next to `got '<str>'`): those words are values too.

`collapse` folds a run of wildcards into one, so templates whose values span a varying number of tokens
(multi-word names, free text) become one template across token counts.

Cost: O(total tokens of the distinct shapes) per pass, hash-table work only.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable
from typing import TYPE_CHECKING

from .parameterize import WILDCARD

if TYPE_CHECKING:
    from .template_miner import Shape, TemplateCluster


def frequency_groups(
    roots: Iterable[TemplateCluster], min_distinct_values: int, min_anchor_words: int, max_tokens: int
) -> list[tuple[Shape, frozenset[int], list[TemplateCluster]]]:
    """(template, positions generalised, member clusters) for every set of shapes that is one template."""
    buckets: dict[tuple[str, int], list[TemplateCluster]] = defaultdict(list)
    for root in roots:
        if 1 < len(root.template) <= max_tokens:
            buckets[(root.group, len(root.template))].append(root)
    found: list[tuple[Shape, frozenset[int], list[TemplateCluster]]] = []
    for members in buckets.values():
        if len(members) > 1:
            found.extend(_bucket_groups(members, min_distinct_values, min_anchor_words))
    return found


def _bucket_groups(
    members: list[TemplateCluster], min_distinct_values: int, min_anchor_words: int
) -> list[tuple[Shape, frozenset[int], list[TemplateCluster]]]:
    width = len(members[0].template)
    counts: list[Counter[str]] = [Counter() for _ in range(width)]
    for cluster in members:
        for position, token in enumerate(cluster.template):
            counts[position][token] += 1
    candidates: dict[tuple[str | None, ...], list[TemplateCluster]] = defaultdict(list)
    for cluster in members:
        template = cluster.template
        frequencies = [counts[position][token] for position, token in enumerate(template)]
        shared = Counter(f for f in frequencies if f > 1)
        if not shared:
            continue  # no token in common with another shape of this length
        dominant = max(shared.items(), key=lambda item: (item[1], -item[0]))[0]
        # Masked values are open positions too, so a shape with a word there can join their group.
        pattern = tuple(
            t if f >= dominant and t != WILDCARD else None for t, f in zip(template, frequencies, strict=True)
        )
        if None in pattern and len(pattern) - pattern.count(None) >= min_anchor_words:
            candidates[pattern].append(cluster)
    found = []
    for pattern, group in candidates.items():
        if len(group) < 2:
            continue
        open_positions = [i for i, token in enumerate(pattern) if token is None]
        variable = [
            position
            for position in open_positions
            if len({cluster.template[position] for cluster in group}) >= min_distinct_values
        ]
        if not variable:
            continue
        kept = [i for i in open_positions if i not in variable]
        split: dict[tuple[str, ...], list[TemplateCluster]] = defaultdict(list)
        for cluster in group:
            split[tuple(cluster.template[i] for i in kept)].append(cluster)
        generalised = frozenset(variable)
        for kept_values, clusters in split.items():
            merged = [WILDCARD if token is None else token for token in pattern]
            for position, value in zip(kept, kept_values, strict=True):
                merged[position] = value
            found.append((tuple(merged), generalised, clusters))
    return found


def wildcard_siblings(
    roots: Iterable[TemplateCluster], min_anchor_words: int
) -> list[tuple[TemplateCluster, tuple[str, Shape], int]]:
    """(cluster, key of a template, position) triples: the template is the cluster's with the word at
    `position` replaced by a wildcard, where another message, equal in every other token, had a value.

    `got 'tomorrow'` joins `got '<str>'`, `for user root from` joins `for user <*> from` (`user42`).
    Only lengths that hold a wildcard template are probed: O(n^2) per shape of n tokens there, else O(1).
    """
    roots = list(roots)
    known: set[tuple[str, Shape]] = set()
    lengths: set[tuple[str, int]] = set()
    for root in roots:
        known.add((root.group, root.template))
        if WILDCARD in root.template and not root.generalised:
            lengths.add((root.group, len(root.template)))
    found = []
    for root in roots:
        template, group = root.template, root.group
        width = len(template)
        if width - template.count(WILDCARD) <= min_anchor_words or (group, width) not in lengths:
            continue
        for position, token in enumerate(template):
            if token == WILDCARD:
                continue
            key = (group, template[:position] + (WILDCARD,) + template[position + 1 :])
            if key in known:
                found.append((root, key, position))
                break
    return found


def collapse(template: Shape) -> Shape:
    """The template with every run of wildcards folded into one wildcard."""
    out: list[str] = []
    for token in template:
        if token == WILDCARD and out and out[-1] == WILDCARD:
            continue
        out.append(token)
    return tuple(out)
