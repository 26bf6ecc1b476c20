"""Pages of tasks run inline on the event loop only while they are short: a page that turns out to scan is
interrupted and finished in the worker thread, so the server keeps answering while it runs."""

from __future__ import annotations

import asyncio
import sqlite3
import time
from collections.abc import Awaitable
from datetime import UTC, datetime
from pathlib import Path
from typing import TypeVar

import pytest
from self_improver.tools.telemetry import queries
from self_improver.tools.telemetry.mapping import TelemetryMapping
from self_improver.tools.telemetry.schema import ensure_schema
from self_improver.tools.telemetry.source import TelemetryStore, open_source
from self_improver.tools.telemetry.sqlite_short import Overran, within_budget

NOW = datetime(2026, 2, 16, 0, 17, tzinfo=UTC)
ROWS = 500_000
T = TypeVar("T")


async def timed_with_longest_stall(call: Awaitable[T]) -> tuple[T, float, float]:
    """`call`'s answer, how long it took, and the longest the event loop went without running a task
    meanwhile (a heartbeat every millisecond): a read held on the loop stalls it for the read's length."""
    gaps: list[float] = []
    done = asyncio.Event()

    async def heartbeat() -> None:
        last = time.perf_counter()
        while not done.is_set():
            await asyncio.sleep(0.001)
            gaps.append(time.perf_counter() - last)
            last = time.perf_counter()

    beat = asyncio.create_task(heartbeat())
    await asyncio.sleep(0.01)
    started = time.perf_counter()
    answer = await call
    took = time.perf_counter() - started
    done.set()
    await beat
    return answer, took, max(gaps)


def test_a_read_past_its_budget_is_interrupted_and_a_short_one_answers(tmp_path: Path) -> None:
    conn = sqlite3.connect(tmp_path / "t.db", timeout=0)
    endless = "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n) SELECT max(i) FROM n"
    started = time.perf_counter()
    with pytest.raises(Overran):
        within_budget(conn, lambda: conn.execute(endless).fetchone(), seconds=0.01)
    assert time.perf_counter() - started < 1.0
    assert within_budget(conn, lambda: conn.execute("SELECT 40 + 2").fetchone()) == (42,)
    with pytest.raises(sqlite3.OperationalError, match="no such table"):  # a real error stays itself
        within_budget(conn, lambda: conn.execute("SELECT * FROM missing").fetchone())
    assert conn.execute("SELECT 1").fetchone() == (1,)  # the handler is gone: nothing interrupts now


@pytest.fixture(scope="module")
def scanning_store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A table where one agent's tasks are all in the oldest rows: its page walks the whole time index."""
    path = tmp_path_factory.mktemp("short") / "telemetry.db"
    conn = sqlite3.connect(path)
    ensure_schema(conn)
    conn.execute(
        "INSERT INTO tasks(status, created_at, agent, error) "
        "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ?) "
        "SELECT CASE WHEN i % 17 = 0 THEN 'failed' ELSE 'done' END, "
        "strftime('%Y-%m-%d %H:%M:%S', '2026-02-15 23:59:59', printf('-%d seconds', ? - i)), "
        "CASE WHEN i <= 60 THEN 'rare' ELSE 'common' END, "
        "CASE WHEN i % 17 = 0 THEN 'timeout ' || i END FROM n",
        (ROWS, ROWS),
    )
    conn.execute("DROP INDEX idx_tasks_agent_created_at")  # no agent index: the page must scan
    conn.commit()
    conn.close()
    return path


def test_a_scanning_page_answers_right_without_holding_the_loop(scanning_store: Path) -> None:
    indexes = sqlite3.connect(scanning_store).execute("PRAGMA index_list(tasks)").fetchall()
    assert not any("agent" in row[1] for row in indexes), indexes

    async def scenario() -> tuple[list[int], float, float, list[int]]:
        store = TelemetryStore(open_source(scanning_store, TelemetryMapping()), "UTC", NOW)
        try:
            await queries.find_tasks(store, status="failed", limit=5)  # warm: connection and schema
            page, took, stall = await timed_with_longest_stall(
                queries.find_tasks(store, agent="rare", limit=50)
            )
            again = await queries.find_tasks(store, agent="rare", limit=50)  # now straight to the thread
            return [t["id"] for t in page.tasks], took, stall, [t["id"] for t in again.tasks]
        finally:
            await store.source.close()

    ids, took, longest_gap, again = asyncio.run(scenario())
    expected = [
        r[0]
        for r in sqlite3.connect(scanning_store).execute(
            "SELECT id FROM tasks WHERE agent = 'rare' ORDER BY created_at DESC, id DESC LIMIT 50"
        )
    ]
    assert ids == expected == again
    assert took > 0.03, f"the scan took {took * 1000:.0f} ms: too short to tell inline from threaded"
    assert longest_gap < took / 2, (longest_gap, took)  # inline, the loop would stall for the whole scan


def test_a_short_page_gives_the_same_answer_inline_as_in_the_worker_thread(scanning_store: Path) -> None:
    async def pages() -> tuple[object, object]:
        store = TelemetryStore(open_source(scanning_store, TelemetryMapping()), "UTC", NOW)
        try:
            cold = await queries.find_tasks(store, status="failed", limit=20)  # first call: worker thread
            warm = await queries.find_tasks(store, status="failed", limit=20)  # warm: inline
            return cold, warm
        finally:
            await store.source.close()

    cold, warm = asyncio.run(pages())
    assert cold == warm
    assert len(cold.tasks) == 20 and all(t["status"] == "failed" for t in cold.tasks)


def test_a_page_masks_secrets_and_cuts_long_errors_on_either_path(tmp_path: Path) -> None:
    path = tmp_path / "t.db"
    conn = sqlite3.connect(path)
    ensure_schema(conn)
    key = "sk-proj-" + "Ab3dE5gH7jK9mN1pQ3sT5vW7yZ"
    errors = [f"auth failed with {key} on upstream", "x" * 2000 + f" token {key}", None]
    conn.executemany(
        "INSERT INTO tasks(status, created_at, error) VALUES ('failed', ?, ?)",
        [(f"2026-02-15 10:00:0{i}", e) for i, e in enumerate(errors)],
    )
    conn.commit()
    conn.close()

    async def pages() -> list[object]:
        store = TelemetryStore(open_source(path, TelemetryMapping()), "UTC", NOW)
        try:
            return [await queries.find_tasks(store) for _ in range(2)]  # worker thread, then inline
        finally:
            await store.source.close()

    for page in asyncio.run(pages()):
        shown = [t["error"] for t in page.tasks]
        assert shown[0] is None
        assert shown[1] == "x" * (queries.MAX_TEXT - 1) + "…"  # cut, and says so
        assert shown[2] is not None and key not in shown[2] and shown[2].startswith("auth failed with ")


def test_a_page_that_meets_a_writers_lock_waits_in_the_worker_thread_not_on_the_loop(tmp_path: Path) -> None:
    """A rollback-journal file locked by a writer: SQLite's busy wait would stall the loop if it ran inline."""
    path = tmp_path / "t.db"
    conn = sqlite3.connect(path)
    ensure_schema(conn)
    conn.execute("PRAGMA journal_mode = DELETE")
    conn.executemany(
        "INSERT INTO tasks(status, created_at) VALUES ('failed', ?)",
        [(f"2026-02-15 10:00:{i:02d}",) for i in range(9)],
    )
    conn.commit()
    conn.close()
    writer = sqlite3.connect(path, isolation_level=None, check_same_thread=False)

    async def scenario() -> tuple[int, float, float]:
        store = TelemetryStore(open_source(path, TelemetryMapping()), "UTC", NOW)
        try:
            await queries.find_tasks(store, status="failed")  # warm
            writer.execute("BEGIN EXCLUSIVE")  # readers now get SQLITE_BUSY until it commits
            loop = asyncio.get_running_loop()
            loop.call_later(0.3, lambda: writer.execute("COMMIT"))
            page, took, stall = await timed_with_longest_stall(queries.find_tasks(store, status="failed"))
            return len(page.tasks), took, stall
        finally:
            await store.source.close()

    count, took, longest_gap = asyncio.run(scenario())
    writer.close()
    assert count == 9
    assert took > 0.2  # it did wait for the writer
    assert longest_gap < 0.15, (longest_gap, took)  # ...in the worker thread: the loop kept running


def test_a_table_changed_just_after_a_page_is_read_as_it_now_is(tmp_path: Path) -> None:
    """A short read trusts a schema check made seconds ago; a column dropped meanwhile makes its statement
    fail, and the page is read again in the worker thread, which learns the table anew."""
    path = tmp_path / "t.db"
    conn = sqlite3.connect(path)
    ensure_schema(conn)
    conn.executemany(
        "INSERT INTO tasks(status, created_at, agent) VALUES ('failed', ?, 'a')",
        [(f"2026-02-15 10:00:0{i}",) for i in range(3)],
    )
    conn.commit()

    async def pages() -> tuple[object, object]:
        store = TelemetryStore(open_source(path, TelemetryMapping()), "UTC", NOW)
        try:
            before = await queries.find_tasks(store, status="failed")
            await queries.find_tasks(store, status="failed")  # inline, trusting the check just made
            conn.execute("DROP INDEX idx_tasks_agent_created_at")
            conn.execute("ALTER TABLE tasks DROP COLUMN agent")
            conn.commit()
            return before, await queries.find_tasks(store, status="failed")
        finally:
            await store.source.close()

    before, after = asyncio.run(pages())
    conn.close()
    assert [t["agent"] for t in before.tasks] == ["a"] * 3 and before.unavailable_fields == []
    assert [t["agent"] for t in after.tasks] == [None] * 3 and "agent" in after.unavailable_fields
