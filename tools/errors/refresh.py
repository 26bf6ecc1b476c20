"""Incremental clustering: assign a signature to every failed task the store has not seen yet.

Each distinct (error, error_type, traceback) text is analysed once, however many tasks share it.
Cost: O(new failed tasks) per run, plus one indexed range read of the overlap window.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import timedelta

from ..telemetry.store import TelemetryStore
from ..telemetry.windows import Window
from .analyze import analyze_error
from .models import ErrorSignature
from .signature_store import FIRST_RUN_LOOKBACK, OVERLAP, Assignment, SignatureStore, failed_tasks_query

Progress = Callable[[float, float, str], Awaitable[None]]


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
    cache: dict[tuple[str, str | None, str | None], ErrorSignature] = {}
    assignments: list[Assignment] = []
    for index, row in enumerate(fresh):
        key = (row["error"] or "", row["error_type"], row["traceback"])
        sig = cache.get(key)
        if sig is None:
            sig = cache[key] = analyze_error(key[0], key[2], key[1], source_root)
        assignments.append(
            Assignment(
                task_id=row["id"],
                signature=sig.signature,
                title=sig.title,
                error_type=sig.error_type,
                template=sig.template,
                created_at=row["created_utc"],
                agent=row["agent"],
            )
        )
        if progress and index % 2000 == 1999:
            await progress(index + 1, len(fresh), "clustering new failures")
    before = set((await asyncio.to_thread(store.signatures, {a.signature for a in assignments})).keys())
    added = await asyncio.to_thread(store.record, assignments, now)
    return RefreshReport(
        scanned=len(rows),
        new_tasks=added,
        new_signatures=len({a.signature for a in assignments} - before),
    )
