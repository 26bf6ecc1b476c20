"""Group batches of errors: `SignatureClusterer` (incremental) and `cluster_messages` (one call, no DB).

Traceback-bearing errors get the stateless `analyze_error` signature, whatever else is in the batch.
Log-style messages also go through the template miner, which can generalise a word that varies
(`removing ftp`, `removing printer` -> `removing <*>`); their signature is the hash of the final template,
so it equals `analyze_error`'s whenever the miner did not generalise anything.

Complexity: O(total characters) for tokenising (capped per message), O(1) amortised per repeated shape,
O(n^2) for a new shape of n <= 40 tokens (see `template_miner`); overall linear in the number of messages.
"""

from __future__ import annotations

import gc
from typing import Any, NamedTuple

from .analyze import analyze_error, describe_message, split_error_type
from .exception_names import short_name
from .fingerprint import message_fingerprint, signature_of
from .models import ErrorSignature
from .parameterize import MAX_MESSAGE_CHARS, WILDCARD, mask_tokens, parameterize
from .template_miner import TemplateCluster, TemplateMiner
from .traceback_parser import has_traceback

DEFAULT_MIN_DISTINCT_VALUES = 5
DEFAULT_MIN_ANCHOR_WORDS = 1
_MAX_REMEMBERED_MESSAGES = 20_000


class PendingMessage(NamedTuple):
    """A log-style message placed in the miner: its signature is read from its cluster when resolved,
    so it reflects templates generalised after it arrived."""

    cluster: TemplateCluster
    error_type: str | None


class SignatureClusterer:
    """Stateful grouping of errors, fed one at a time.

    `add` returns the signature as known now: a template generalised by later messages changes the
    signature of log-style messages added before it (traceback-bearing errors never change). For final
    signatures of a batch, `place` every error, `consolidate`, then `resolve_all` (what `cluster_errors`
    does).
    """

    def __init__(
        self,
        source_root: str | None = None,
        min_distinct_values: int = DEFAULT_MIN_DISTINCT_VALUES,
        min_anchor_words: int = DEFAULT_MIN_ANCHOR_WORDS,
        **miner_options: int,
    ) -> None:
        self.source_root = source_root
        self._miner = TemplateMiner(
            min_distinct_values=min_distinct_values, min_anchor_words=min_anchor_words, **miner_options
        )
        self._resolved: dict[tuple[int, tuple[str, ...]], ErrorSignature] = {}
        # One handle per (cluster, error type), shared by its messages: a batch of a million messages
        # then holds a million references, not a million handles.
        self._handles: dict[tuple[int, str | None], PendingMessage] = {}

    def add(
        self, message: str, traceback: str | None = None, error_type: str | None = None
    ) -> ErrorSignature:
        return self._resolve(self.place(message, traceback, error_type))

    def place(
        self, message: str, traceback: str | None = None, error_type: str | None = None
    ) -> ErrorSignature | PendingMessage:
        """Add an error; returns a finished signature (tracebacks) or a handle to resolve later."""
        message = (message or "")[:MAX_MESSAGE_CHARS]
        if (traceback and has_traceback(traceback)) or has_traceback(message):
            analysed = analyze_error(message, traceback, error_type, self.source_root)
            if analysed.kind == "traceback":
                return analysed
        error_type, body = split_error_type(message, error_type)
        cluster = self._miner.add(mask_tokens(body), short_name(error_type) or "", body)
        key = (id(cluster), error_type)
        handle = self._handles.get(key)
        if handle is None or handle.cluster is not cluster:
            handle = self._handles[key] = PendingMessage(cluster, error_type)
        return handle

    def seed(self, shape: str, error_type: str | None = None) -> PendingMessage:
        """Restore a log-style template from an earlier batch (`TemplateCluster.text`), see TemplateMiner.seed."""
        group = short_name(error_type) or ""
        cluster = self._miner.seed(mask_tokens(shape), group, shape)
        raw = tuple(shape.split())
        if WILDCARD in raw and len(raw) != len(cluster.template):
            # A run of wildcards (a value of several words) that mask_tokens folds: seed the template as
            # stored too, so messages of its length join it one by one, as they did the night before.
            stored = self._miner.seed(raw, group, shape)
            if stored.root() is not cluster.root():
                stored.root().absorb(cluster.root())
            cluster = stored.root()
        return PendingMessage(cluster, error_type)

    def consolidate(self) -> None:
        """Regroup earlier log-style messages under templates generalised since (see TemplateMiner)."""
        self._miner.consolidate()
        self._resolved.clear()

    def resolve_all(self, placements: list[ErrorSignature | PendingMessage]) -> list[ErrorSignature]:
        """Final signatures of placed errors (after `consolidate`)."""
        return [self._resolve(p) for p in placements]

    def signature_ids(self, placements: list[Any]) -> list[str]:
        """Only the final signature ids, written over `placements` (which it returns): no titles or
        templates are built, which keeps batches fast, and no second list of a batch's length is made."""
        ids: dict[int, str] = {}
        for index, placement in enumerate(placements):
            if isinstance(placement, ErrorSignature):
                placements[index] = placement.signature
                continue
            cluster = placement.cluster.root()
            signature = ids.get(id(cluster))
            if signature is None:
                fingerprint = message_fingerprint(placement.error_type, cluster.text)
                signature = ids[id(cluster)] = signature_of(fingerprint)
            placements[index] = signature
        return placements

    def _resolve(self, placement: ErrorSignature | PendingMessage) -> ErrorSignature:
        if isinstance(placement, ErrorSignature):
            return placement
        cluster = placement.cluster.root()
        key = (id(cluster), cluster.template)
        cached = self._resolved.get(key)
        if cached is None:
            cached = self._resolved[key] = _cluster_signature(cluster, placement.error_type)
        return cached


def _cluster_signature(cluster: TemplateCluster, error_type: str | None) -> ErrorSignature:
    generalised = cluster.template != tuple(mask_tokens(cluster.example))
    fingerprint = message_fingerprint(error_type, cluster.text)
    shown_type, title = describe_message(error_type, cluster.text if generalised else cluster.example)
    return ErrorSignature(
        signature=signature_of(fingerprint),
        title=title,
        error_type=shown_type,
        template=cluster.text if generalised else parameterize(cluster.example),
        chain=(shown_type,) if shown_type else (),
        kind="message",
        fingerprint=fingerprint,
    )


def cluster_errors(
    errors: list[tuple[str, str | None, str | None]], source_root: str | None = None
) -> list[ErrorSignature]:
    """Final signature of each (message, traceback, error_type), in input order."""
    clusterer = SignatureClusterer(source_root=source_root)
    placements = [
        clusterer.place(message, traceback, error_type) for message, traceback, error_type in errors
    ]
    clusterer.consolidate()
    return clusterer.resolve_all(placements)


def cluster_messages(messages: list[str], **miner_options: int) -> list[str]:
    """One 12-hex signature per message, in order, without any database.

    `miner_options` override the template miner's defaults (`TemplateMiner` keywords); benchmarks use
    them to check that results do not hinge on one setting."""
    clusterer = SignatureClusterer(None, **miner_options)
    seen: dict[str, ErrorSignature | PendingMessage] = {}
    placements: list[Any] = []  # each message's placement, then (in place) its signature id
    # The batch allocates millions of small tuples and no reference cycles: the cyclic collector would
    # rescan them all again and again (a 1M batch ran 30% slower), so it is paused, then restored.
    paused = gc.isenabled()
    gc.disable()
    try:
        for message in messages:
            placement = seen.get(message)
            if placement is None:
                placement = clusterer.place(message)
                if len(seen) < _MAX_REMEMBERED_MESSAGES:
                    seen[message] = placement
            placements.append(placement)
        clusterer.consolidate()
        return clusterer.signature_ids(placements)
    finally:
        if paused:
            gc.enable()
