"""Per-day duration histograms of finished days, kept in the data dir so a night reads only what is new.

`slow_operations` compares 7 days with the 28 before them; at production volume that is ~12M rows to
aggregate. A finished local day's histogram (operation, whole ms -> tasks) does not change, so it is
computed once from the task source and stored in `durations.db`; each night re-reads only the last
`RECENT_DAYS` days (tasks recorded as running may still finish there) and today so far. Entries are keyed
by the source, its mapping and the timezone, so another database or mapping never reads stale figures.
"""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import Awaitable, Callable
from datetime import date, datetime, timedelta, tzinfo
from pathlib import Path
from typing import Any

from ..support.local_db import open_local_db
from ..telemetry.durations import bin_value
from ..telemetry.source import DurationHistogram, TelemetryStore
from ..telemetry.windows import Window, local_midnight

RECENT_DAYS = 2  # finished days re-read every night: late updates (running -> done) land there
SCHEMA = """
CREATE TABLE IF NOT EXISTS day_duration_bins (
    source     TEXT NOT NULL,
    day        TEXT NOT NULL,
    task_name  TEXT,
    agent      TEXT,
    bins       TEXT NOT NULL   -- JSON {bin key: tasks}, see telemetry/durations.py
);
CREATE INDEX IF NOT EXISTS idx_day_duration_bins ON day_duration_bins(source, day);
CREATE TABLE IF NOT EXISTS cached_days (
    source       TEXT NOT NULL,
    day          TEXT NOT NULL,
    origin       TEXT,          -- which columns the durations came from; NULL when there are none
    PRIMARY KEY (source, day)
);
"""
Operations = dict[tuple[Any, Any], dict[int, int]]
Progress = Callable[[float, float, str], Awaitable[None]]


class DurationCache:
    """Synchronous store; callers run it in a worker thread."""

    def __init__(self, path: Path):
        self.path = path
        self._lock = threading.Lock()
        with open_local_db(path) as conn:
            conn.executescript(SCHEMA)

    def load(self, source: str, day: date) -> DurationHistogram | None:
        with open_local_db(self.path) as conn:
            found = conn.execute(
                "SELECT origin FROM cached_days WHERE source = ? AND day = ?", (source, day.isoformat())
            ).fetchone()
            if found is None:
                return None
            result = DurationHistogram(source=found["origin"])
            for name, agent, bins in conn.execute(
                "SELECT task_name, agent, bins FROM day_duration_bins WHERE source = ? AND day = ?",
                (source, day.isoformat()),
            ):
                result.operations[(name, agent)] = {int(k): n for k, n in json.loads(bins).items()}
            return result

    def store(self, source: str, day: date, histogram: DurationHistogram) -> None:
        rows = [
            (source, day.isoformat(), name, agent, json.dumps(values, separators=(",", ":")))
            for (name, agent), values in histogram.operations.items()
        ]
        with self._lock, open_local_db(self.path) as conn:
            conn.execute(
                "DELETE FROM day_duration_bins WHERE source = ? AND day = ?", (source, day.isoformat())
            )
            conn.executemany("INSERT INTO day_duration_bins VALUES (?,?,?,?,?)", rows)
            conn.execute(
                "INSERT OR REPLACE INTO cached_days(source, day, origin) VALUES (?,?,?)",
                (source, day.isoformat(), histogram.source),
            )


def source_key(store: TelemetryStore) -> str:
    """The cache's name for a source: its identity (location, mapping) and the timezone of its days."""
    return f"{store.identity()}:{store.timezone}"


def merge(into: Operations, more: Operations) -> None:
    """Add `more`'s bin counts to `into` (both keyed by operation, then bin)."""
    for key, values in more.items():
        target = into.setdefault(key, {})
        for bin_key, n in values.items():
            target[bin_key] = target.get(bin_key, 0) + n


def as_values(operations: Operations) -> dict[tuple[Any, Any], dict[float, int]]:
    """Bin keys replaced by the durations they stand for, for quantiles and rank tests."""
    return {op: {bin_value(k): n for k, n in bins.items()} for op, bins in operations.items()}


async def durations_by_day(
    store: TelemetryStore,
    first_day: date,
    end: datetime,
    cache: DurationCache | None,
    progress: Progress | None = None,
) -> dict[date, DurationHistogram]:
    """A histogram per local day from `first_day` up to `end` (the last day partial), cached where final."""
    tz: tzinfo = store.tz
    key = source_key(store) if cache else ""
    settled_before = end.astimezone(tz).date() - timedelta(days=RECENT_DAYS)
    days: dict[date, DurationHistogram] = {}
    day = first_day
    total = (end.astimezone(tz).date() - first_day).days + 1
    while local_midnight(day, tz) < end:
        start, stop = local_midnight(day, tz), min(local_midnight(day + timedelta(days=1), tz), end)
        final = cache is not None and day < settled_before
        found = await asyncio.to_thread(cache.load, key, day) if final and cache else None
        if found is None:
            found = await store.source.duration_histogram(Window(start, stop, day, day))
            if final and cache:
                await asyncio.to_thread(cache.store, key, day, found)
        days[day] = found
        if progress:
            await progress(len(days), total, f"durations of {day.isoformat()}")
        day += timedelta(days=1)
    return days
