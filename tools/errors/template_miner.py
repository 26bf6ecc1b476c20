"""Group log-style messages (no traceback) into templates, online and in linear time.

Why not Drain: Drain merges any two messages of the same length whose tokens agree above a similarity
threshold, so `Changing view acls` and `Changing modify acls` become one template, and it needs per-dataset
masks to see values. Here values are already masked by `parameterize.mask_tokens` (digits, ids, paths,
key=value...), so most messages of one template have an identical token shape and are grouped by one dict
lookup. What remains are values written as plain words (`removing ftp`, `user alice`). A word position
becomes `<*>` only on evidence that it holds a value: shapes that agree on every other token (a *family*)
show at least `min_distinct_values` different words there (`removing ftp`, `removing printer`, ...). A
constant alternative (`view`/`modify`, `bytes`/`values`, four VM states) rarely has that many spellings.
Generalised templates join families too, so two word values in one message (`user alice ... project
apollo`) generalise once one of them has repeated with enough values of the other; until then such
messages stay split rather than risk merging different errors.

A new shape is matched against generalised templates by masking it with each wildcard pattern known for
its (group, length) (at most `max_patterns` of them), then against the families of its positions.

`consolidate` (once per batch) adds what needs the whole batch (`template_merge`): a Brain-style pass
that generalises positions varying together (two names in one message) once a group of shapes with the
same frequent words shows `min_pattern_values` spellings there; a word where a shape equal in every other
token holds a masked value becomes a value (`got 'tomorrow'` next to `got '<str>'`); templates equal once
runs of wildcards are folded become one, whatever their token count (values of one or several words).
Words with few spellings are values where they stand (`value_lists`): word items of a `value (label)`
list whose other items hold values (applied to every new shape), positions drawing on one vocabulary in
every combination (`( on off )`), and capitalised words starting a multi-word name before a value.

Complexity: a shape seen before costs one hash lookup, O(n) for n tokens. A new shape costs
O((patterns + n) * n) with n capped at `max_family_tokens`. Overall O(N) in the number of messages;
memory O(distinct shapes * n), capped by `max_families`.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field

from .parameterize import WILDCARD
from .template_merge import collapse, frequency_groups, wildcard_siblings
from .value_lists import labelled_values, shared_vocabulary_groups, value_prefixes

Shape = tuple[str, ...]


@dataclass(eq=False, slots=True)
class TemplateCluster:
    """One template: its tokens (wildcards included), a sample message, and how many messages it matched."""

    template: Shape
    group: str = ""
    example: str = ""
    size: int = 0
    parent: TemplateCluster | None = field(default=None, repr=False)
    # Positions that became `<*>` because words varied there (the others were masked values already).
    generalised: frozenset[int] = frozenset()

    def root(self) -> TemplateCluster:
        node = self
        while node.parent is not None:
            node = node.parent
        walker = self  # path compression keeps later look-ups O(1)
        while walker.parent is not None and walker.parent is not node:
            walker.parent, walker = node, walker.parent
        return node

    @property
    def text(self) -> str:
        return " ".join(self.template)

    def absorb(self, other: TemplateCluster) -> None:
        other.parent = self
        self.size += other.size
        if len(self.template) == len(other.template):
            differing = {
                i for i, (a, b) in enumerate(zip(self.template, other.template, strict=True)) if a != b
            }
            self.generalised = self.generalised | other.generalised | differing
        self.template = _union_template(self.template, other.template)


@dataclass(eq=False, slots=True)
class _Family:
    """Skeletons that agree on every token but one position: the values seen there and their clusters.

    A family with one member is stored as that member's cluster instead (most families stay that way),
    which keeps memory near one dict entry per (shape, word position).
    """

    values: set[str]
    clusters: list[TemplateCluster]
    merged: TemplateCluster | None = None


class TemplateMiner:
    """Incremental template miner; `add` returns the (current) cluster of a masked token shape."""

    def __init__(
        self,
        min_distinct_values: int = 5,
        min_anchor_words: int = 1,
        max_family_tokens: int = 40,
        max_families: int = 4_000_000,
        max_patterns: int = 64,
        min_pattern_values: int = 12,
    ) -> None:
        self.min_distinct_values = min_distinct_values
        self.min_anchor_words = min_anchor_words
        self.max_family_tokens = max_family_tokens
        self.max_families = max_families
        self.max_patterns = max_patterns
        self.min_pattern_values = min_pattern_values
        self._by_shape: dict[tuple[str, Shape], TemplateCluster] = {}
        self._families: dict[int, TemplateCluster | _Family] = {}
        # Clusters that share a family with another shape: the only candidates of the vocabulary pass.
        self._siblings: dict[int, TemplateCluster] = {}
        self._generalised: dict[tuple[str, Shape], TemplateCluster] = {}
        # Wildcard position patterns of generalised templates, per (group, length), fewest wildcards first.
        self._patterns: dict[tuple[str, int], list[tuple[int, ...]]] = {}

    def add(self, tokens: Shape, group: str = "", example: str = "") -> TemplateCluster:
        """Add one message's masked tokens; `group` (e.g. the exception type) is never merged across.

        `example` is kept on a new cluster as a readable sample of its messages.
        """
        key = (group, tokens)
        cluster = self._by_shape.get(key)
        if cluster is None:
            cluster = self._by_shape[key] = self._place_new_shape(tokens, group, example)
        elif cluster.parent is not None:
            cluster = cluster.root()
        cluster.size += 1
        return cluster

    def seed(self, template: Shape, group: str = "", example: str = "") -> TemplateCluster:
        """Restore a template learnt earlier (stored by a previous night): messages that fit its
        wildcards join it at once, as if the evidence that generalised it had been seen again."""
        wildcards = frozenset(i for i, token in enumerate(template) if token == WILDCARD)
        if not wildcards:
            return self.add(template, group, example)
        key = (group, template)
        known = self._generalised.get(key)
        if known is not None:
            return known.root()
        cluster = TemplateCluster(template, group, example, generalised=wildcards)
        self._by_shape.setdefault(key, cluster)
        self._remember_generalised(cluster)
        return cluster.root()

    def cluster_of(self, tokens: Shape, group: str = "") -> TemplateCluster | None:
        """The current cluster of an already added shape (after later generalisations)."""
        cluster = self._by_shape.get((group, tokens))
        return None if cluster is None else cluster.root()

    def clusters(self) -> list[TemplateCluster]:
        roots: dict[int, TemplateCluster] = {}
        for cluster in self._by_shape.values():
            root = cluster.root()
            roots.setdefault(id(root), root)
        return list(roots.values())

    def consolidate(self) -> None:
        """Move clusters created before a template that covers them was generalised into that template.

        A batch calls this once at the end, so a message's group does not depend on whether it arrived
        before or after the evidence; O(clusters * patterns * n).
        """
        candidates = {id(root): root for root in (cluster.root() for cluster in self._siblings.values())}
        for template, generalised, members in shared_vocabulary_groups(
            candidates.values(), self.max_family_tokens
        ):
            self._merge(template, generalised, members)
        for template, generalised, members in frequency_groups(
            self.clusters(), self.min_pattern_values, self.min_anchor_words, self.max_family_tokens
        ):
            self._merge(template, generalised, members)
        for cluster, key, _position in wildcard_siblings(self.clusters(), self.min_anchor_words):
            target = self._by_shape.get(key)  # a masked value there, not one generalised from words
            if target is not None and target.root() is not cluster.root():
                target.root().absorb(cluster.root())
        for cluster in self.clusters():
            root = cluster.root()
            for matched in self._generalised_matches(root.template, root.group):
                if matched is not root:
                    matched.absorb(root)
                    break
        self._collapse_runs()
        for cluster, target in value_prefixes(self.clusters(), self.min_anchor_words):
            if cluster.root() is not target.root():
                target.root().absorb(cluster.root())

    def _merge(self, template: Shape, generalised: frozenset[int], members: list[TemplateCluster]) -> None:
        roots = [member.root() for member in members]
        group = roots[0].group
        merged = TemplateCluster(template, group, roots[0].example, generalised=generalised)
        seen: set[int] = set()
        for root in roots:
            if id(root) not in seen and root is not merged:
                seen.add(id(root))
                merged.absorb(root)
        merged.template = template
        self._remember_generalised(merged)

    def _collapse_runs(self) -> None:
        """Templates equal once runs of wildcards are folded (a value of one word in some messages, of
        several in others) are one template, whatever their length. The most frequent length names it,
        so a later batch seeded with it still matches messages of that length one by one."""
        by_key: dict[tuple[str, Shape], list[TemplateCluster]] = {}
        for root in self.clusters():
            if WILDCARD in root.template:
                by_key.setdefault((root.group, collapse(root.template)), []).append(root)
        for roots in by_key.values():
            if len(roots) > 1:
                target = max(roots, key=lambda root: (root.size, -len(root.template)))
                for root in roots:
                    if root is not target:
                        target.absorb(root)

    def _place_new_shape(self, tokens: Shape, group: str, example: str) -> TemplateCluster:
        normal = labelled_values(tokens)
        if normal is not tokens:  # words that are values where they stand: the shape with them masked
            known = self._by_shape.get((group, normal))
            if known is None:
                known = self._by_shape[(group, normal)] = self._place_new_shape(normal, group, example)
            return known.root()
        matched = self._match_generalised(tokens, group)
        if matched is not None:
            return matched
        keys = self._family_keys(tokens, group)
        families = self._families
        for family_key in keys:
            family = families.get(family_key) if family_key else None
            if isinstance(family, _Family) and family.merged is not None:
                return family.merged.root()
        cluster = TemplateCluster(tokens, group, example)
        merged = self._join_families(cluster, keys)
        return cluster if merged is None else merged

    def _match_generalised(self, tokens: Shape, group: str) -> TemplateCluster | None:
        return next(self._generalised_matches(tokens, group), None)

    def _generalised_matches(self, tokens: Shape, group: str) -> Iterator[TemplateCluster]:
        """Generalised templates covering `tokens`, the most specific first."""
        for pattern in self._patterns.get((group, len(tokens)), ()):
            masked = list(tokens)
            for position in pattern:
                masked[position] = WILDCARD
            found = self._generalised.get((group, tuple(masked)))
            if found is not None:
                yield found.root()

    def _join_families(self, cluster: TemplateCluster, keys: list[int]) -> TemplateCluster | None:
        """Register a cluster in the families of its word positions; returns a generalisation it caused."""
        families = self._families
        tokens = cluster.template
        for position, family_key in enumerate(keys):
            if not family_key:
                continue
            family = families.get(family_key)
            if family is None:
                if len(families) < self.max_families:
                    families[family_key] = cluster
                continue
            if isinstance(family, TemplateCluster):
                if family.root() is cluster.root():
                    continue
                family = families[family_key] = _Family({family.template[position]}, [family])
                self._siblings[id(family.clusters[0])] = family.clusters[0]
            elif family.merged is not None:
                continue
            self._siblings[id(cluster)] = cluster
            family.values.add(tokens[position])
            family.clusters.append(cluster)
            if len(family.values) >= self.min_distinct_values:
                return self._generalise(family, tokens, position, cluster.group)
        return None

    def _family_keys(self, tokens: Shape, group: str) -> list[int]:
        """One family key per word position; 0 where there is none (wildcards, too few anchor words)."""
        if len(tokens) > self.max_family_tokens:
            return []
        words = len(tokens) - tokens.count(WILDCARD)
        if words - 1 < self.min_anchor_words:
            return []
        return [
            0
            if token == WILDCARD
            else (hash((group, position, tokens[:position], tokens[position + 1 :])) or 1)
            for position, token in enumerate(tokens)
        ]

    def _generalise(self, family: _Family, tokens: Shape, position: int, group: str) -> TemplateCluster:
        template = tokens[:position] + (WILDCARD,) + tokens[position + 1 :]
        merged = TemplateCluster(
            template, group, family.clusters[0].root().example, generalised=frozenset([position])
        )
        for member in family.clusters:
            root = member.root()
            if root is not merged:
                merged.absorb(root)
        family.merged = merged
        family.clusters = []
        self._remember_generalised(merged)
        # The new template is a shape like any other: with enough siblings it generalises further.
        further = self._join_families(merged, self._family_keys(merged.template, group))
        return merged if further is None else further

    def _remember_generalised(self, cluster: TemplateCluster) -> None:
        key = (cluster.group, cluster.template)
        for existing in (self._generalised.get(key), self._by_shape.get(key)):
            if existing is not None and existing.root() is not cluster:
                cluster.absorb(existing.root())  # a shape already equal to the new template
        self._generalised[key] = cluster
        pattern = tuple(sorted(cluster.generalised))
        patterns = self._patterns.setdefault((cluster.group, len(cluster.template)), [])
        if pattern not in patterns and len(patterns) < self.max_patterns:
            patterns.append(pattern)
            patterns.sort(key=len)


def _union_template(a: Shape, b: Shape) -> Shape:
    if len(a) != len(b):
        return a
    return tuple(x if x == y else WILDCARD for x, y in zip(a, b, strict=True))
