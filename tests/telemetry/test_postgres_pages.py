"""Pages of tasks on PostgreSQL, sent from the event loop's own connection (no worker thread): the same
pages as the pool gives, exact across sub-second times, read-only, and a lost, busy or interrupted loop
connection falls back to the pool without losing an answer."""

from __future__ import annotations

import asyncio
from typing import Any

import psycopg
import pytest
from self_improver.tools.telemetry import queries
from self_improver.tools.telemetry.mapping import TelemetryMapping
from self_improver.tools.telemetry.postgres_loop import LoopConnections
from self_improver.tools.telemetry.postgres_source import PostgresTaskSource
from self_improver.tools.telemetry.source import TelemetryStore


@pytest.fixture
def paged_db(pg_server: Any) -> str:
    """120 tasks over a minute: whole seconds, fractions of a second, and many tasks in one second (the
    cursor must not skip or repeat any), newest first by time then id."""
    url = pg_server.create_database("paged")
    for sql in (
        "CREATE TABLE tasks (id bigint PRIMARY KEY, status text, error text, created_at timestamptz, "
        "agent integer)",
        "INSERT INTO tasks SELECT g, CASE WHEN g % 3 = 0 THEN 'failed' ELSE 'done' END, 'error ' || g, "
        "timestamptz '2026-02-15 10:00:00+00' + (g / 7) * interval '1 second' "
        "+ CASE WHEN g % 2 = 0 THEN (g % 5) * interval '100 milliseconds' ELSE interval '0' END, g % 4 "
        "FROM generate_series(1, 120) g",
    ):
        pg_server.execute(sql, db="paged")
    return url


def _newest(pg_server: Any, n: int) -> list[int]:
    return [
        r[0]
        for r in pg_server.execute(
            f"SELECT id FROM tasks ORDER BY created_at DESC, id DESC LIMIT {n}", db="paged"
        )
    ]


def _store(url: str) -> TelemetryStore:
    return TelemetryStore(PostgresTaskSource(url, TelemetryMapping.model_validate({})), "UTC")


async def _all_pages(store: TelemetryStore, limit: int, **filters: Any) -> list[dict[str, Any]]:
    tasks, cursor = [], None
    while True:
        page = await queries.find_tasks(store, limit=limit, cursor=cursor, **filters)
        tasks += page.tasks
        if not page.has_more:
            return tasks
        cursor = page.next_cursor


def test_paging_on_the_loop_gives_every_task_once_in_order(pg_server: Any, paged_db: str) -> None:
    expected = pg_server.execute(
        "SELECT id, to_char(created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS') FROM tasks "
        "ORDER BY created_at DESC, id DESC",
        db="paged",
    )

    async def scenario() -> tuple[list[dict[str, Any]], list[dict[str, Any]], bool]:
        store = _store(paged_db)
        try:
            pages = await _all_pages(store, 7)
            failed = await _all_pages(store, 4, status="failed")
            return pages, failed, asyncio.get_running_loop() in store.source._loop_connections._by_loop
        finally:
            await store.source.close()

    pages, failed, on_loop = asyncio.run(scenario())
    assert on_loop  # the pages after the first went from the loop's connection
    assert [(t["id"], t["created_at"]) for t in pages] == [(i, at) for i, at in expected]
    assert [t["id"] for t in failed] == [i for i, _ in expected if i % 3 == 0]
    assert all(type(t["agent"]) is str for t in pages)  # an integer column, shown as the page's text


def test_the_loop_connection_is_read_only(paged_db: str) -> None:
    async def scenario() -> None:
        store = _store(paged_db)
        try:
            await queries.find_tasks(store, limit=2)
            await queries.find_tasks(store, limit=2)
            conn, _ = store.source._loop_connections._by_loop[asyncio.get_running_loop()]
            with pytest.raises(psycopg.errors.ReadOnlySqlTransaction):
                await conn.execute("DELETE FROM tasks")
        finally:
            await store.source.close()

    asyncio.run(scenario())


def test_a_lost_loop_connection_falls_back_to_the_pool_and_reconnects(pg_server: Any, paged_db: str) -> None:
    async def scenario() -> tuple[list[int], list[int], list[int]]:
        store = _store(paged_db)
        try:
            first = await queries.find_tasks(store, limit=5)
            await queries.find_tasks(store, limit=5)
            conn, _ = store.source._loop_connections._by_loop[asyncio.get_running_loop()]
            pg_server.execute(f"SELECT pg_terminate_backend({conn.info.backend_pid})", db="paged")
            after_loss = await queries.find_tasks(
                store, limit=5
            )  # the loop's statement fails: the pool answers
            again = await queries.find_tasks(store, limit=5)  # a new loop connection
            return (
                [t["id"] for t in first.tasks],
                [t["id"] for t in after_loss.tasks],
                [t["id"] for t in again.tasks],
            )
        finally:
            await store.source.close()

    first, after_loss, again = asyncio.run(scenario())
    assert first == after_loss == again == _newest(pg_server, 5)


def test_pages_asked_at_once_are_all_answered(pg_server: Any, paged_db: str) -> None:
    async def scenario() -> list[list[int]]:
        store = _store(paged_db)
        try:
            await queries.find_tasks(store, limit=3)
            pages = await asyncio.gather(*(queries.find_tasks(store, limit=3) for _ in range(6)))
            return [[t["id"] for t in page.tasks] for page in pages]
        finally:
            await store.source.close()

    assert asyncio.run(scenario()) == [_newest(pg_server, 3)] * 6


def test_an_interrupted_statement_closes_its_connection_and_the_next_one_answers(paged_db: str) -> None:
    connections = LoopConnections(paged_db, "-c default_transaction_read_only=on")

    async def scenario() -> list[Any] | None:
        slow = asyncio.create_task(connections.fetch(lambda conn: ("SELECT pg_sleep(5)", {})))
        await asyncio.sleep(0.3)
        slow.cancel()
        with pytest.raises(asyncio.CancelledError):
            await slow
        assert asyncio.get_running_loop() not in connections._by_loop  # never reused half-read
        return await connections.fetch(lambda conn: ("SELECT count(*) FROM tasks", {}))

    try:
        assert asyncio.run(scenario()) == [(120,)]
    finally:
        connections.close()
