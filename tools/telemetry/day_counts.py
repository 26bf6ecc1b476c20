"""Task counts by status of finished local days, kept in the data dir for a few hours.

Every error and trend answer needs the window's task counts (rates per 1000 tasks), and at production
volume counting a week is most of an answer's cost (2.3M index entries at 330k tasks a day). A finished
day's counts change only when rows arrive late, so each day's counts are stored once computed and reused
for `TTL`: the last `RECENT_DAYS` days and the window's partial edges are always counted live, and a
backfill of older days shows within `TTL` (our own `ingest` clears the cache at once). Entries are keyed
by the source's identity (location and mapping), the timezone and the agent filter.
"""

from __future__ import annotations

import asyncio
import json
import sqlite3
import threading
import time
from collections import Counter
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

from ..support.local_db import open_local_db
from .windows import Window, local_midnight

if TYPE_CHECKING:
    from .source import TelemetryStore

RECENT_DAYS = 2
TTL_SECONDS = 6 * 3600
SCHEMA = """
CREATE TABLE IF NOT EXISTS day_counts (
    source   TEXT NOT NULL,
    day      TEXT NOT NULL,
    counts   TEXT NOT NULL,   -- JSON {status: tasks}
    stored   REAL NOT NULL,   -- unix time it was counted
    PRIMARY KEY (source, day)
);
"""


class DayCountCache:
    """Synchronous store; callers run it in a worker thread."""

    def __init__(self, path: Path):
        self.path = path
        self._lock = threading.Lock()
        self._ready = False

    def _connect(self) -> sqlite3.Connection:
        conn = open_local_db(self.path)
        if not self._ready:
            conn.executescript(SCHEMA)
            self._ready = True
        return conn

    def load(self, source: str, days: list[date]) -> dict[date, dict[str, int]]:
        if not days:
            return {}
        fresh_after = time.time() - TTL_SECONDS
        with self._connect() as conn:
            rows = conn.execute(
                "SELECT day, counts FROM day_counts WHERE source = ? AND day >= ? AND day <= ? AND stored > ?",
                (source, min(days).isoformat(), max(days).isoformat(), fresh_after),
            ).fetchall()
        wanted = {d.isoformat() for d in days}
        return {date.fromisoformat(r["day"]): json.loads(r["counts"]) for r in rows if r["day"] in wanted}

    def store(self, source: str, counted: dict[date, dict[str, int]]) -> None:
        now = time.time()
        with self._lock, self._connect() as conn:
            conn.executemany(
                "INSERT OR REPLACE INTO day_counts(source, day, counts, stored) VALUES (?,?,?,?)",
                [(source, d.isoformat(), json.dumps(c), now) for d, c in counted.items()],
            )

    def clear(self) -> None:
        """Forget every count (after an import changed past days)."""
        if self.path.exists():
            with self._lock, self._connect() as conn:
                conn.execute("DELETE FROM day_counts")


async def daily_status_counts(
    store: TelemetryStore, window: Window, day_starts: list[datetime], agent: str | None = None
) -> list[tuple[int, str, int]]:
    """The source's `daily_status_counts`, with finished days read from the cache when it has them."""
    cache = store.day_counts
    bounds = [window.start, *day_starts, window.end]
    if cache is None:
        return await store.source.daily_status_counts(window, day_starts, agent)
    tz = store.tz
    settled_before = store.now().astimezone(tz).date() - timedelta(days=RECENT_DAYS)
    key = f"{store.identity()}:{store.timezone}:{agent or ''}"
    whole: dict[int, date] = {}
    for bucket, (lo, hi) in enumerate(zip(bounds, bounds[1:], strict=False)):
        day = lo.astimezone(tz).date()
        if (
            lo == local_midnight(day, tz)
            and hi == local_midnight(day + timedelta(days=1), tz)
            and day < settled_before
        ):
            whole[bucket] = day
    cached = await asyncio.to_thread(cache.load, key, list(whole.values()))
    live = [i for i in range(len(bounds) - 1) if i not in whole or whole[i] not in cached]
    found: list[tuple[int, str, int]] = []
    if live:
        counted = await _count_buckets(store, [(bounds[i], bounds[i + 1]) for i in live], agent)
        newly = {}
        for i, counts in zip(live, counted, strict=True):
            found += [(i, s, n) for s, n in counts.items()]
            if i in whole:
                newly[whole[i]] = counts
        if newly:
            await asyncio.to_thread(cache.store, key, newly)
    for i, day in whole.items():
        if day in cached:
            found += [(i, s, n) for s, n in cached[day].items()]
    return found


async def _count_buckets(
    store: TelemetryStore, ranges: list[tuple[datetime, datetime]], agent: str | None
) -> list[dict[str, int]]:
    """Counts of each [lo, hi) range; adjacent ranges are asked of the source in one call."""
    results: list[dict[str, int]] = [{} for _ in ranges]
    run: list[int] = []

    async def flush() -> None:
        if not run:
            return
        lo, hi = ranges[run[0]][0], ranges[run[-1]][1]
        starts = [ranges[i][0] for i in run[1:]]
        rows = await store.source.daily_status_counts(Window(lo, hi, lo.date(), hi.date()), starts, agent)
        for bucket, status, n in rows:
            results[run[bucket]][status] = results[run[bucket]].get(status, 0) + n
        run.clear()

    for i, (lo, _) in enumerate(ranges):
        if run and ranges[run[-1]][1] != lo:
            await flush()
        run.append(i)
    await flush()
    return results


async def window_status_counts(
    store: TelemetryStore, window: Window, agent: str | None = None
) -> dict[str, int]:
    """Tasks of the window by status: whole finished local days from the cache, the rest counted live."""
    if store.day_counts is None:
        return await store.source.status_counts(window, agent)
    tz = store.tz
    first = window.start.astimezone(tz).date()
    starts = []
    day = first + timedelta(days=1)
    while local_midnight(day, tz) < window.end:
        starts.append(local_midnight(day, tz))
        day += timedelta(days=1)
    total: Counter[str] = Counter()
    for _, status, n in await daily_status_counts(store, window, starts, agent):
        total[status] += n
    return dict(total)
