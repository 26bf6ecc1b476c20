"""Group log-style messages (no traceback) into templates, online and in linear time.

Why not Drain: Drain merges any two messages of the same length whose tokens agree above a similarity
threshold, so `Changing view acls` and `Changing modify acls` become one template, and it needs per-dataset
masks to see values. Here values are already masked by `parameterize.mask_tokens` (digits, ids, paths,
key=value...), so most messages of one template have an identical token shape and are grouped by one dict
lookup. What remains are values written as plain words (`removing ftp`, `removing printer`). A position is
generalised to `<*>` only when messages that agree on every other token show at least
`min_distinct_values` different words there: a constant alternative (`view`/`modify`, `bytes`/`values`)
rarely has that many spellings, a value does.

Complexity: O(n) per message of n tokens when its shape was seen before (one hash lookup); for a new shape,
O(n) family lookups of O(n)-sized keys, i.e. O(n^2) with n capped at `max_family_tokens`, so O(N) in the
number of messages overall. Memory: O(distinct shapes * n), capped by `max_families`.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from .parameterize import WILDCARD


@dataclass(eq=False, slots=True)
class TemplateCluster:
    """One template: its tokens (wildcards included) and how many messages it matched."""

    template: tuple[str, ...]
    group: str = ""
    example: str = ""
    size: int = 0
    parent: TemplateCluster | None = field(default=None, repr=False)

    def root(self) -> TemplateCluster:
        node = self
        while node.parent is not None:
            node = node.parent
        # Path compression keeps later look-ups O(1).
        walker = self
        while walker.parent is not None and walker.parent is not node:
            walker.parent, walker = node, walker.parent
        return node

    @property
    def text(self) -> str:
        return " ".join(self.template)


@dataclass(eq=False, slots=True)
class _Family:
    """Shapes that agree on every token but one position: the values seen there and their clusters.

    A family with a single shape is stored as that shape's cluster instead (most families stay that way),
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
    ) -> None:
        self.min_distinct_values = min_distinct_values
        self.min_anchor_words = min_anchor_words
        self.max_family_tokens = max_family_tokens
        self.max_families = max_families
        self._by_shape: dict[tuple[str, tuple[str, ...]], TemplateCluster] = {}
        self._families: dict[int, TemplateCluster | _Family] = {}

    def add(self, tokens: tuple[str, ...], group: str = "", example: str = "") -> TemplateCluster:
        """Add one message's masked tokens; `group` (e.g. the exception type) is never merged across.

        `example` is kept on a new cluster as a readable sample of its messages.
        """
        key = (group, tokens)
        cluster = self._by_shape.get(key)
        if cluster is None:
            cluster = self._place_new_shape(tokens, group, example)
            self._by_shape[key] = cluster
        elif cluster.parent is not None:
            cluster = cluster.root()
        cluster.size += 1
        return cluster

    def cluster_of(self, tokens: tuple[str, ...], group: str = "") -> TemplateCluster | None:
        """The current cluster of an already added shape (after later generalisations)."""
        cluster = self._by_shape.get((group, tokens))
        return None if cluster is None else cluster.root()

    def clusters(self) -> list[TemplateCluster]:
        seen: dict[int, TemplateCluster] = {}
        for cluster in self._by_shape.values():
            root = cluster.root()
            seen.setdefault(id(root), root)
        return list(seen.values())

    def _place_new_shape(self, tokens: tuple[str, ...], group: str, example: str) -> TemplateCluster:
        keys = self._family_keys(tokens, group)
        families = self._families
        for family_key in keys:
            family = families.get(family_key) if family_key else None
            if isinstance(family, _Family) and family.merged is not None:
                return family.merged.root()
        cluster = TemplateCluster(tokens, group, example)
        for position, family_key in enumerate(keys):
            if not family_key:
                continue
            family = families.get(family_key)
            if family is None:
                if len(families) < self.max_families:
                    families[family_key] = cluster
                continue
            if isinstance(family, TemplateCluster):
                family = families[family_key] = _Family({family.template[position]}, [family])
            family.values.add(tokens[position])
            family.clusters.append(cluster)
            if len(family.values) >= self.min_distinct_values:
                return self._generalise(family, tokens, position, group)
        return cluster

    def _family_keys(self, tokens: tuple[str, ...], group: str) -> list[int]:
        """One family key per word position; 0 where there is none (wildcards, too few anchors)."""
        if len(tokens) > self.max_family_tokens:
            return []
        words = len(tokens) - tokens.count(WILDCARD)
        if words - 1 < self.min_anchor_words:
            return []
        return [
            0 if token == WILDCARD else (hash((group, position, tokens[:position], tokens[position + 1 :])) or 1)
            for position, token in enumerate(tokens)
        ]

    def _generalise(
        self, family: _Family, tokens: tuple[str, ...], position: int, group: str
    ) -> TemplateCluster:
        template = tokens[:position] + (WILDCARD,) + tokens[position + 1 :]
        merged = TemplateCluster(template, group, family.clusters[0].root().example)
        for member in family.clusters:
            root = member.root()
            if root is merged:
                continue
            merged.size += root.size
            merged.template = _union_template(merged.template, root.template)
            root.parent = merged
        family.merged = merged
        family.clusters = []
        return merged


def _union_template(a: tuple[str, ...], b: tuple[str, ...]) -> tuple[str, ...]:
    if len(a) != len(b):
        return a
    return tuple(x if x == y else WILDCARD for x, y in zip(a, b, strict=True))
