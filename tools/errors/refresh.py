"""Incremental clustering: assign a signature to every failed task the store has not seen yet.

Each distinct (error, error_type, traceback) text is analysed once, however many tasks share it.
Cost: O(new failed tasks) per run, plus one indexed range read of the overlap window.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any

from ..telemetry.source import TelemetryStore
from ..telemetry.windows import Window, utc_text
from .analyze import analyze_error
from .clusterer import PendingMessage, SignatureClusterer
from .models import ErrorSignature
from .signature_store import FIRST_RUN_LOOKBACK, OVERLAP, Assignment, SignatureStore

Progress = Callable[[float, float, str], Awaitable[None]]
# Log-style signatures seen within this long seed the template miner on later nights.
SHAPE_MEMORY = timedelta(days=90)
BATCH = 20_000


@dataclass(frozen=True)
class RefreshReport:
    scanned: int
    new_tasks: int
    new_signatures: int


Key = tuple[str, str | None, str | None]
ANALYSIS_CACHE = 50_000  # distinct error texts remembered across batches of one refresh


async def refresh_signatures(
    telemetry: TelemetryStore,
    store: SignatureStore,
    source_root: str | None = None,
    progress: Progress | None = None,
    since: datetime | None = None,
) -> RefreshReport:
    """Cluster failed tasks not yet clustered: those since the last run, and any before `since` that
    no run has covered yet (so a window of any age has its groups)."""
    now = telemetry.now()
    token = await telemetry.source.change_token()
    if token is not None and store.last_refresh is not None:
        last_token, last_covered = store.last_refresh
        if token == last_token and (since is None or since >= last_covered):
            return RefreshReport(scanned=0, new_tasks=0, new_signatures=0)  # nothing changed since
    watermark = await asyncio.to_thread(store.watermark)
    covered = await asyncio.to_thread(store.covered_from)
    end = now + timedelta(seconds=1)
    spans: list[tuple[datetime, datetime, bool]] = []  # (start, end, moves the watermark)
    if watermark is None or covered is None:
        start = now - FIRST_RUN_LOOKBACK if since is None else min(since, now - FIRST_RUN_LOOKBACK)
        spans.append((start, end, True))
    else:
        spans.append((min(watermark - OVERLAP, end), end, True))
        if since is not None and since < covered:
            spans.append((since, covered + OVERLAP, False))
    totals = [0, 0, 0]
    for start, stop, moves in spans:
        scanned, added, new = await _cluster_span(
            telemetry, store, Window(start, stop, start.date(), stop.date()), source_root, progress
        )
        totals = [totals[0] + scanned, totals[1] + added, totals[2] + new]
        await asyncio.to_thread(store.mark_covered, start, now if moves else None)
    covered_now = await asyncio.to_thread(store.covered_from)
    if token is not None and covered_now is not None:
        store.last_refresh = (token, covered_now)
    return RefreshReport(scanned=totals[0], new_tasks=totals[1], new_signatures=totals[2])


async def _cluster_span(
    telemetry: TelemetryStore,
    store: SignatureStore,
    window: Window,
    source_root: str | None,
    progress: Progress | None,
) -> tuple[int, int, int]:
    """Cluster one span batch by batch: memory stays bounded by a batch, whatever the span holds."""
    cache: dict[Key, ErrorSignature] = {}
    scanned = added = new = 0
    async for batch in telemetry.source.failed_tasks(window, BATCH, skip=store.known):
        scanned += len(batch)
        fresh = batch
        if len(cache) > ANALYSIS_CACHE:
            cache.clear()
        keys = [(t.error or "", t.error_type, t.traceback) for t in fresh]
        for key in keys:
            if key not in cache:
                cache[key] = analyze_error(key[0], key[2], key[1], source_root)
        shapes = await asyncio.to_thread(store.log_shapes, telemetry.now() - SHAPE_MEMORY)
        message_keys = list(dict.fromkeys(k for k in keys if cache[k].kind == "message"))
        mined = mine_log_messages(message_keys, shapes, source_root)
        assignments = []
        for task, key in zip(fresh, keys, strict=True):
            sig, shape = mined.get(key, (cache[key], None))
            assignments.append(
                Assignment(
                    task_id=task.id,
                    signature=sig.signature,
                    title=sig.title,
                    error_type=sig.error_type,
                    template=sig.template,
                    created_at=utc_text(task.created_at),
                    agent=task.agent,
                    shape=shape,
                )
            )
        names = {a.signature for a in assignments}
        known = set((await asyncio.to_thread(store.signatures, names)).keys())
        added += await asyncio.to_thread(store.record, assignments)
        new += len(names - known)
        if progress:
            await progress(scanned, scanned + BATCH, f"clustering failures: {scanned} read, {added} new")
    return scanned, added, new


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
