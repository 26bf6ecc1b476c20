"""Incremental clustering: assign a signature to every failed task the store has not seen yet.

Each distinct (error, error_type, traceback) text is analysed once, however many tasks share it.
Cost: O(new failed tasks) per run, plus one indexed range read of the overlap window.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace
from datetime import timedelta
from typing import Any

from ..telemetry.store import TelemetryStore
from ..telemetry.windows import Window
from .analyze import analyze_error
from .clusterer import PendingMessage, SignatureClusterer
from .models import ErrorSignature
from .signature_store import FIRST_RUN_LOOKBACK, OVERLAP, Assignment, SignatureStore, failed_tasks_query

Progress = Callable[[float, float, str], Awaitable[None]]
# Log-style signatures seen within this long seed the template miner on later nights.
SHAPE_MEMORY = timedelta(days=90)


@dataclass(frozen=True)
class RefreshReport:
    scanned: int
    new_tasks: int
    new_signatures: int


async def refresh_signatures(
    telemetry: TelemetryStore,
    store: SignatureStore,
    source_root: str | None = None,
    progress: Progress | None = None,
) -> RefreshReport:
    now = telemetry.now()
    watermark = await asyncio.to_thread(store.watermark)
    start = (watermark - OVERLAP) if watermark else now - FIRST_RUN_LOOKBACK
    window = Window(start, now + timedelta(seconds=1), start.date(), now.date())
    async with telemetry.connect() as reader:
        rows = await reader.fetchall(failed_tasks_query(set(reader.columns)), window.sql_params())
    unseen = await asyncio.to_thread(store.unseen, [r["id"] for r in rows])
    fresh = [r for r in rows if r["id"] in unseen]
    Key = tuple[str, str | None, str | None]
    cache: dict[Key, ErrorSignature] = {}
    for index, row in enumerate(fresh):
        key = (row["error"] or "", row["error_type"], row["traceback"])
        if key not in cache:
            cache[key] = analyze_error(key[0], key[2], key[1], source_root)
        if progress and index % 2000 == 1999:
            await progress(index + 1, len(fresh), "clustering new failures")
    shapes = await asyncio.to_thread(store.log_shapes, now - SHAPE_MEMORY)
    mined = mine_log_messages([k for k, sig in cache.items() if sig.kind == "message"], shapes, source_root)
    assignments = []
    for row in fresh:
        key = (row["error"] or "", row["error_type"], row["traceback"])
        sig, shape = mined.get(key, (cache[key], None))
        assignments.append(
            Assignment(
                task_id=row["id"],
                signature=sig.signature,
                title=sig.title,
                error_type=sig.error_type,
                template=sig.template,
                created_at=row["created_utc"],
                agent=row["agent"],
                shape=shape,
            )
        )
    before = set((await asyncio.to_thread(store.signatures, {a.signature for a in assignments})).keys())
    added = await asyncio.to_thread(store.record, assignments, now)
    return RefreshReport(
        scanned=len(rows),
        new_tasks=added,
        new_signatures=len({a.signature for a in assignments} - before),
    )


def mine_log_messages(
    keys: list[tuple[str, str | None, str | None]], known: list[Any], source_root: str | None
) -> dict[tuple[str, str | None, str | None], tuple[ErrorSignature, str]]:
    """Group tonight's log-style messages (no traceback) with the template miner, seeded with the
    templates of log-style signatures already stored, so a word that varies (`user alice not found`,
    `user bob not found`, ...) becomes one signature and later nights keep it.

    A message whose mined template also holds a stored signature gets that (oldest) signature; the
    others get the mined template's signature, which equals `analyze_error`'s when nothing generalised.
    Returns key -> (signature, miner shape to store for the next night's seeding).
    """
    if not keys:
        return {}
    clusterer = SignatureClusterer(source_root=source_root)
    seeds = [clusterer.seed(row["shape"], row["error_type"]) for row in known]
    placed = [clusterer.place(message, None, error_type) for message, error_type, _ in keys]
    clusterer.consolidate()
    owner: dict[int, str] = {}
    for row, seed in zip(known, seeds, strict=True):
        owner.setdefault(id(seed.cluster.root()), row["signature"])
    result = {}
    for key, placement in zip(keys, placed, strict=True):
        if not isinstance(placement, PendingMessage):
            continue
        cluster = placement.cluster.root()
        sig = clusterer.resolve_all([placement])[0]
        stored = owner.get(id(cluster))
        if stored is not None:
            sig = replace(sig, signature=stored)
        result[key] = (sig, cluster.text)
    return result
