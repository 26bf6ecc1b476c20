"""Day boundaries, timestamp formats and index use of the window predicate."""

from __future__ import annotations

import asyncio
import itertools
import sqlite3
import tempfile
from datetime import UTC, date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from self_improver.tools.support.problems import ToolInputError
from self_improver.tools.telemetry.mapping import TelemetryMapping
from self_improver.tools.telemetry.schema import ensure_schema
from self_improver.tools.telemetry.sqlite_source import SQLiteTaskSource
from self_improver.tools.telemetry.windows import day_window, resolve_day, trailing_window

NOW = datetime(2026, 2, 16, 0, 17, tzinfo=UTC)
_names = itertools.count()


def _count_in(window, values: list[str]) -> int:
    """Tasks the SQLite source counts in `window` on a real file holding `values` as created_at."""
    path = Path(tempfile.mkdtemp()) / f"w{next(_names)}.db"
    conn = sqlite3.connect(path)
    ensure_schema(conn)
    conn.executemany("INSERT INTO tasks(status, created_at) VALUES ('done', ?)", [(v,) for v in values])
    conn.commit()
    conn.close()
    source = SQLiteTaskSource(path, TelemetryMapping())

    async def count() -> int:
        try:
            return sum((await source.status_counts(window)).values())
        finally:
            await source.close()

    return asyncio.run(count())


def test_every_supported_created_at_format_lands_in_its_utc_day() -> None:
    inside = [
        "2026-02-15 00:00:00",
        "2026-02-15T12:30:00",
        "2026-02-15T23:59:59.998Z",
        "2026-02-15 10:00:00.5",
        "2026-02-16T01:00:00+02:00",
        "2026-02-14T20:00:00-05:00",
    ]
    outside = ["2026-02-14 23:59:59", "2026-02-16 00:00:00", "2026-02-15T23:30:00-01:00", "not a time"]
    window = day_window(date(2026, 2, 15), ZoneInfo("UTC"))
    assert _count_in(window, inside) == len(inside)
    assert _count_in(window, outside) == 0


def test_day_boundaries_follow_the_configured_timezone() -> None:
    berlin = ZoneInfo("Europe/Berlin")
    window = day_window(date(2026, 2, 15), berlin)
    assert window.start == datetime(2026, 2, 14, 23, 0, tzinfo=UTC)
    # 23:30 UTC on the 14th is already the 15th in Berlin; 23:30 UTC on the 15th is the 16th there.
    assert _count_in(window, ["2026-02-14 23:30:00", "2026-02-15 22:59:59"]) == 2
    assert _count_in(window, ["2026-02-15 23:30:00", "2026-02-14 22:59:59"]) == 0


def test_today_and_yesterday_depend_on_the_timezone() -> None:
    late_utc = datetime(2026, 2, 15, 23, 30, tzinfo=UTC)
    assert resolve_day("today", ZoneInfo("UTC"), late_utc) == date(2026, 2, 15)
    assert resolve_day("today", ZoneInfo("Asia/Tokyo"), late_utc) == date(2026, 2, 16)
    assert resolve_day("yesterday", ZoneInfo("UTC"), late_utc) == date(2026, 2, 14)


@pytest.mark.parametrize("bad", ["tomorrow", "2026-13-01", "15/02/2026", ""])
def test_unknown_day_strings_are_refused_with_the_accepted_forms(bad: str) -> None:
    with pytest.raises(ToolInputError, match="'today', 'yesterday' or a date"):
        resolve_day(bad, ZoneInfo("UTC"), NOW)


def test_trailing_window_matches_the_seed_query_span() -> None:
    window = trailing_window(7, None, ZoneInfo("UTC"), NOW)
    assert window.start == datetime(2026, 2, 9, tzinfo=UTC) and window.end == NOW
    assert len(window.days) == 8
    with pytest.raises(ToolInputError, match="days must be at least 1"):
        trailing_window(0, None, ZoneInfo("UTC"), NOW)


def test_window_predicate_uses_the_created_at_index(tmp_path: Path) -> None:
    path = tmp_path / "plan.db"
    conn = sqlite3.connect(path)
    ensure_schema(conn)
    conn.executemany(
        "INSERT INTO tasks(status, created_at) VALUES ('done', ?)",
        [(f"2026-02-{d:02d} 10:00:00",) for d in range(1, 28)],
    )
    conn.commit()
    source = SQLiteTaskSource(path, TelemetryMapping())
    window = day_window(date(2026, 2, 15), ZoneInfo("UTC"))
    learned = source._current(source._connection())
    params: dict = {}
    where = source._window_sql(learned, window, params)
    plan = conn.execute(
        f"EXPLAIN QUERY PLAN SELECT status, COUNT(*) FROM tasks WHERE {where} GROUP BY status", params
    ).fetchall()
    detail = " ".join(row[-1] for row in plan)
    assert detail.startswith("SEARCH tasks USING") and "created_at>" in detail, detail
    assert "julianday" not in where, "one-format columns need no per-row conversion"
    seed_plan = conn.execute(
        "EXPLAIN QUERY PLAN SELECT status, COUNT(*) FROM tasks WHERE date(created_at) = '2026-02-15' GROUP BY status"
    ).fetchall()
    assert "SCAN" in " ".join(row[-1] for row in seed_plan)
