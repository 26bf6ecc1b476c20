"""The memory store: findings in chroma, their changes in the audit trail, outages in the write-ahead.

Synchronous and guarded by one lock, so check-then-write sequences (idempotent remember, update
with audit) are atomic within the process; `service` runs these methods in a worker thread. The
chroma connection is made on first use and retried on every call until it works.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..support.clock import iso_z
from ..support.problems import NotFoundError, ToolInputError
from .audit import AuditLog, Change
from .outages import ServerDownError

if TYPE_CHECKING:
    from .embedders import Embedder
from .fields import (
    KNOWN_KEYS,
    check_confidence,
    check_content,
    check_metadata,
    check_source,
    embedding_text,
    from_chroma,
    full_metadata,
    parse_time,
    to_chroma,
)
from .identity import finding_id
from .models import Finding, RememberResult
from .pending import PendingWrites

AUDIT_DB = "memory_audit.db"
DEFAULT_ACTOR = "self-improver"


class MemoryStore:
    def __init__(
        self,
        data_dir: Path,
        url: str | None = None,
        embedding: str = "auto",
        now: Callable[[], datetime] | None = None,
        embedder: Embedder | None = None,
    ):
        self.data_dir = Path(data_dir)
        self.url = url or None
        self.embedding = embedding
        self._now = now
        self._embedder = embedder
        self._client: Any = None
        self._collection: Any = None
        self._lock = threading.RLock()
        self.audit = AuditLog(self.data_dir / AUDIT_DB)
        self.pending = PendingWrites(self.data_dir / AUDIT_DB)
        self._maybe_pending = True
        self._just_flushed: frozenset[str] = frozenset()

    # -- lifecycle -------------------------------------------------------------------------------

    def now(self) -> datetime:
        return self._now() if self._now else datetime.now(UTC)

    @property
    def embedder(self) -> Embedder:
        if self._embedder is None:
            from .embedders import make_embedder  # chromadb loads with the first memory call, not at start-up

            self._embedder = make_embedder(self.embedding, pinned=self._pinned_embedding())
        return self._embedder

    def _pinned_embedding(self) -> str | None:
        """For `auto`: the embedding the findings collection was built with, None when there is none yet."""
        if self.embedding != "auto":
            return None
        from .connection import PIN_NAME, get_collection, open_client

        if self._client is None:
            self._client = open_client(self.data_dir, self.url)
        collection = get_collection(self._client)
        name = (collection.metadata or {}).get(PIN_NAME) if collection is not None else None
        return str(name) if name else None

    def collection(self) -> Any:
        """The open findings collection; connects (again) when needed."""
        from .connection import open_client, open_collection

        if self._collection is None:
            if self._client is None:
                self._client = open_client(self.data_dir, self.url)
            self._collection = open_collection(self._client, self.embedder)
        return self._collection

    def close(self) -> None:
        with self._lock:
            client, self._client, self._collection = self._client, None, None
            if client is not None and hasattr(client, "close"):
                client.close()

    def run(self, operation: Callable[[Any], Any]) -> Any:
        """Run `operation(collection)` under the lock, after writing any queued findings."""
        from .connection import outage_as_unavailable

        with self._lock:
            try:
                with outage_as_unavailable(self.url):
                    collection = self.collection()
                    self._flush_pending(collection)
                    return operation(collection)
            except ServerDownError:
                self._collection = None  # reopen after the server is back (it may have been recreated)
                raise

    # -- writes ----------------------------------------------------------------------------------

    def draft(
        self,
        content: str,
        confidence: float,
        metadata: dict[str, Any] | None,
        source: str = DEFAULT_ACTOR,
        timestamp: str | None = None,
    ) -> Finding:
        """A validated finding with its stable id, not stored yet."""
        text = check_content(content)
        fields = full_metadata(check_metadata(metadata))
        moment = parse_time(timestamp, "timestamp") if timestamp else self.now()
        signature = fields.get("signature")
        return Finding(
            id=finding_id(
                text,
                signature if isinstance(signature, str) else None,
                moment.astimezone(UTC).date().isoformat(),
            ),
            content=text,
            source=check_source(source),
            confidence=check_confidence(confidence),
            timestamp=iso_z(moment),
            metadata=fields,
        )

    def remember(self, finding: Finding) -> RememberResult:
        """Store a drafted finding once; on a server outage queue it and raise (never acknowledge)."""
        try:
            return self.run(lambda collection: self._remember(collection, finding))
        except ServerDownError as exc:
            self.pending.put(finding, finding.source, iso_z(self.now()))
            self._maybe_pending = True
            raise ServerDownError(
                f"{exc}. The finding was NOT stored yet: it is queued locally as {finding.id} and will be written on "
                "the next call that reaches the server; call remember_finding again with the same arguments to "
                "confirm it is stored"
            ) from exc

    def _remember(self, collection: Any, finding: Finding) -> RememberResult:
        existing = collection.get(ids=[finding.id], include=["documents", "metadatas"])
        if existing["ids"]:
            stored = from_chroma(finding.id, existing["documents"][0], existing["metadatas"][0])
            return RememberResult(id=finding.id, created=finding.id in self._just_flushed, finding=stored)
        self._add(collection, [finding], actor=finding.source)
        return RememberResult(id=finding.id, created=True, finding=finding)

    def remember_many(self, findings: list[Finding]) -> int:
        """Bulk store (benchmarks, imports): findings already stored are skipped; returns how many were added."""

        def add_new(collection: Any) -> int:
            unique = list({f.id: f for f in findings}.values())
            known = set(collection.get(ids=[f.id for f in unique], include=[])["ids"]) if unique else set()
            fresh = [f for f in unique if f.id not in known]
            self._add(collection, fresh, actor=None)
            return len(fresh)

        return int(self.run(add_new))

    def _add(self, collection: Any, findings: list[Finding], actor: str | None) -> None:
        if not findings:
            return
        collection.add(
            ids=[f.id for f in findings],
            documents=[f.content for f in findings],
            embeddings=self.embedder.embed([embedding_text(f) for f in findings]),
            metadatas=[to_chroma(f) for f in findings],
        )
        if actor is not None:
            at = iso_z(self.now())
            self.audit.record(
                Change(f.id, _signature(f), actor, "create", None, None, None, at) for f in findings
            )

    def _flush_pending(self, collection: Any) -> None:
        """Write findings queued during an outage; remembers which ones this call created."""
        self._just_flushed = frozenset()
        if not self._maybe_pending:
            return
        queued = self.pending.all()
        if queued:
            known = set(collection.get(ids=[f.id for f, _ in queued], include=[])["ids"])
            for finding, actor in queued:
                if finding.id not in known:
                    self._add(collection, [finding], actor=actor)
            self._just_flushed = frozenset(f.id for f, _ in queued if f.id not in known)
            self.pending.remove([f.id for f, _ in queued])
        self._maybe_pending = False

    def update(
        self,
        finding_id_: str,
        metadata: dict[str, Any] | None,
        confidence: float | None = None,
        actor: str = DEFAULT_ACTOR,
    ) -> Finding:
        """Merge metadata into a finding; each changed key becomes one audit row, a no-op writes nothing."""
        changes = check_metadata(metadata)
        new_confidence = None if confidence is None else check_confidence(confidence)
        if not changes and new_confidence is None:
            raise ToolInputError('metadata is empty: send the keys to change, e.g. {"pr_status": "merged"}')
        actor = check_source(actor)

        def apply(collection: Any) -> Finding:
            current = self._get(collection, finding_id_)
            merged = dict(current.metadata)
            for key, value in changes.items():
                if value is None and key not in KNOWN_KEYS:
                    merged.pop(key, None)
                else:
                    merged[key] = value
            updated = current.model_copy(
                update={
                    "metadata": full_metadata(merged),
                    "confidence": current.confidence if new_confidence is None else new_confidence,
                }
            )
            at = iso_z(self.now())
            diffs = [
                Change(
                    current.id,
                    _signature(updated),
                    actor,
                    "update",
                    key,
                    current.metadata.get(key),
                    updated.metadata.get(key),
                    at,
                )
                for key in changes
                if _differs(current.metadata.get(key), updated.metadata.get(key))
            ]
            if _differs(current.confidence, updated.confidence):
                diffs.append(
                    Change(
                        current.id,
                        _signature(updated),
                        actor,
                        "update",
                        "confidence",
                        current.confidence,
                        updated.confidence,
                        at,
                    )
                )
            if not diffs:
                return current
            stored: dict[str, Any] = dict(to_chroma(updated))
            stored.update(
                {k: None for k in current.metadata if updated.metadata.get(k) is None}
            )  # None deletes
            kwargs: dict[str, Any] = {}
            if updated.metadata.get("error_type") != current.metadata.get("error_type"):
                kwargs["embeddings"] = self.embedder.embed([embedding_text(updated)])
            collection.update(ids=[current.id], metadatas=[stored], **kwargs)
            self.audit.record(diffs)
            return updated

        return self.run(apply)  # type: ignore[no-any-return]

    # -- reads -----------------------------------------------------------------------------------

    def get(self, finding_id_: str) -> Finding:
        return self.run(lambda collection: self._get(collection, finding_id_))  # type: ignore[no-any-return]

    def _get(self, collection: Any, finding_id_: str) -> Finding:
        got = collection.get(ids=[finding_id_], include=["documents", "metadatas"])
        if not got["ids"]:
            raise NotFoundError(
                f"no finding with id {finding_id_!r}: use an id returned by remember_finding or recall_findings"
            )
        return from_chroma(got["ids"][0], got["documents"][0], got["metadatas"][0])

    def count(self) -> int:
        return int(self.run(lambda collection: collection.count()))


def _signature(finding: Finding) -> str | None:
    value = finding.metadata.get("signature")
    return value if isinstance(value, str) else None


def _differs(before: Any, after: Any) -> bool:
    return before != after or type(before) is not type(after)


def open_store(
    data_dir: Path, url: str | None, embedding: str, now: Callable[[], datetime] | None = None
) -> MemoryStore:
    """A store that connects on first use (so building it never fails, even with the server down)."""
    return MemoryStore(data_dir=data_dir, url=url, embedding=embedding, now=now)
