"""Move every finding to a collection embedded with the configured embedding, losing nothing.

The new collection is filled and counted before the switch; the old one is then renamed to a
backup and the new one takes the findings collection's name. If a run stops half-way, the next run
finishes or restarts it: findings are only ever copied, never deleted.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from .connection import (
    COLLECTION,
    PIN_DIM,
    PIN_NAME,
    REINDEX_COLLECTION,
    create_collection,
    get_collection,
    open_client,
    outage_as_unavailable,
)
from .embedders import Embedder
from .fields import embedding_text, from_chroma

BATCH = 500


@dataclass(frozen=True)
class ReindexReport:
    findings: int
    embedding: str
    backup: str | None
    message: str


def _copy(old: Any, new: Any, embedder: Embedder, progress: Callable[[str], None]) -> int:
    total, offset = old.count(), 0
    while True:
        got = old.get(limit=BATCH, offset=offset, include=["documents", "metadatas"])
        if not got["ids"]:
            break
        findings = [
            from_chroma(i, d, m)
            for i, d, m in zip(got["ids"], got["documents"], got["metadatas"], strict=True)
        ]
        new.upsert(
            ids=got["ids"],
            documents=got["documents"],
            metadatas=got["metadatas"],
            embeddings=embedder.embed([embedding_text(f) for f in findings]),
        )
        offset += len(got["ids"])
        progress(f"re-embedded {offset}/{total} findings")
    return offset


def reindex(
    data_dir: Path,
    url: str | None,
    embedder: Embedder,
    force: bool = False,
    progress: Callable[[str], None] = lambda _msg: None,
) -> ReindexReport:
    with outage_as_unavailable(url):
        client = open_client(data_dir, url)
        old = get_collection(client, COLLECTION)
        pending = get_collection(client, REINDEX_COLLECTION)
        if old is None and pending is not None:  # an earlier run stopped right after moving the old one away
            pending.modify(name=COLLECTION)
            return ReindexReport(pending.count(), embedder.name, None, "finished an interrupted reindex")
        if old is None:
            create_collection(client, embedder, COLLECTION)
            return ReindexReport(0, embedder.name, None, "memory was empty: created the collection")
        pinned = dict(old.metadata or {})
        if not force and pinned.get(PIN_NAME) == embedder.name and pinned.get(PIN_DIM) == embedder.dim:
            return ReindexReport(
                old.count(), embedder.name, None, f"already embedded with {embedder.name}: nothing to do"
            )
        if pending is not None:
            client.delete_collection(REINDEX_COLLECTION)  # a partial copy from an interrupted run
        new = create_collection(client, embedder, REINDEX_COLLECTION)
        copied = _copy(old, new, embedder, progress)
        if new.count() != old.count():
            raise RuntimeError(
                f"reindex copied {new.count()} of {old.count()} findings; the old collection is untouched"
            )
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S")
        backup = f"{COLLECTION}_backup_{pinned.get(PIN_NAME, 'unknown')}_{stamp}"[:200]
        old.modify(name=backup)
        new.modify(name=COLLECTION)
        return ReindexReport(
            copied, embedder.name, backup, f"re-embedded {copied} findings with {embedder.name}"
        )
