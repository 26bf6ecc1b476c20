"""The release questions of the task-source boundary, the same on SQLite and PostgreSQL, and the
recorder's `release`."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from self_improver.tools.telemetry.recorder import TaskRecorder
from self_improver.tools.telemetry.source import open_source
from self_improver.tools.telemetry.windows import Window

T0 = datetime(2026, 2, 1, 9, 0, tzinfo=UTC)
ROWS = [  # id, status, created_at, release
    (1, "done", T0, "v1"),
    (2, "failed", T0 + timedelta(hours=1), "v1"),
    (3, "done", T0 + timedelta(days=2), "v2"),
    (4, "failed", T0 + timedelta(days=3), "v2"),
    (5, "failed", T0 + timedelta(days=3, hours=1), None),
]
CREATE = (
    "CREATE TABLE tasks (id INTEGER PRIMARY KEY, status TEXT, error TEXT, created_at {time}, release TEXT)"
)


async def _answers(location: str) -> tuple[dict[Any, str], dict[str, datetime], dict[str, datetime]]:
    source = open_source(location)
    try:
        releases = await source.task_releases([1, 2, 4, 5, 99])
        everything = await source.release_first_seen(
            Window(T0 - timedelta(days=1), T0 + timedelta(days=9), T0.date(), T0.date())
        )
        later = await source.release_first_seen(
            Window(T0 + timedelta(days=1), T0 + timedelta(days=9), T0.date(), T0.date())
        )
    finally:
        await source.close()
    return releases, everything, later


def _check(answers: tuple[dict[Any, str], dict[str, datetime], dict[str, datetime]]) -> None:
    releases, everything, later = answers
    assert releases == {1: "v1", 2: "v1", 4: "v2"}  # 5 has none, 99 does not exist
    assert everything == {"v1": T0, "v2": T0 + timedelta(days=2)}
    assert later == {"v2": T0 + timedelta(days=2)}


async def test_sqlite_answers_the_release_questions(tmp_path: Path) -> None:
    import sqlite3

    db = tmp_path / "tasks.db"
    conn = sqlite3.connect(db)
    conn.execute(CREATE.format(time="TEXT"))
    conn.executemany(
        "INSERT INTO tasks VALUES (?, ?, 'x', ?, ?)",
        [(i, s, at.strftime("%Y-%m-%d %H:%M:%S"), r) for i, s, at, r in ROWS],
    )
    conn.commit()
    conn.close()
    _check(await _answers(str(db)))


async def test_postgres_answers_the_same(pg_server) -> None:  # type: ignore[no-untyped-def]
    import psycopg

    url = pg_server.create_database("releases")
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(CREATE.format(time="timestamptz"))
        with conn.cursor() as cur:
            cur.executemany("INSERT INTO tasks VALUES (%s, %s, 'x', %s, %s)", ROWS)
    _check(await _answers(url))


async def test_a_table_without_release_answers_nothing(tmp_path: Path) -> None:
    import sqlite3

    db = tmp_path / "plain.db"
    conn = sqlite3.connect(db)
    conn.execute("CREATE TABLE tasks (id INTEGER PRIMARY KEY, status TEXT, error TEXT, created_at TEXT)")
    conn.execute("INSERT INTO tasks VALUES (1, 'failed', 'x', '2026-02-01 09:00:00')")
    conn.commit()
    conn.close()
    source = open_source(str(db))
    try:
        assert await source.task_releases([1]) == {}
        assert (
            await source.release_first_seen(
                Window(T0 - timedelta(days=1), T0 + timedelta(days=1), T0.date(), T0.date())
            )
            == {}
        )
    finally:
        await source.close()


async def test_the_recorder_stores_the_release(tmp_path: Path) -> None:
    db = tmp_path / "telemetry.db"
    recorder = TaskRecorder(db, agent="mail-agent", release="v1.4.2")
    try:
        async with recorder.task("check_inbox"):
            pass
    finally:
        recorder.close()
    source = open_source(str(db))
    try:
        assert list((await source.task_releases([1])).values()) == ["v1.4.2"]
    finally:
        await source.close()
