"""PostgreSQL gives the same answers as SQLite: the same scenarios run against both engines.

Every scenario builds the same rows in a real SQLite file and in a real PostgreSQL server (the session's
throwaway cluster), then asks both servers the same tool calls and compares the structured results.
"""

from __future__ import annotations

import sqlite3
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from mcp import Client
from mcp_calls import call, call_error
from planted_tasks import EXPECTED_TOTALS, planted_tasks
from self_improver.examples.demo_telemetry import DEMO_ANCHOR
from self_improver.server.app import build_server
from self_improver.server.config import load_settings

NOW = datetime(2026, 2, 16, 0, 17, tzinfo=UTC)
Calls = list[tuple[str, dict[str, Any]]]
SEED_CALLS: Calls = [
    ("telemetry_summary", {"day": "yesterday"}),
    ("telemetry_summary", {"day": "today"}),
    ("telemetry_summary", {"day": "2026-02-15", "agent": "email-agent"}),
    ("failure_trend", {"days": 7}),
    ("failure_trend", {"days": 14, "until": "2026-02-10"}),
    ("top_errors", {"days": 7}),
    ("top_errors", {"days": 7, "until": "2026-02-16"}),
    ("find_tasks", {"status": "failed", "limit": 5}),
    ("find_tasks", {"agent": "calendar-agent", "since": "2026-02-14", "until": "2026-02-15", "limit": 3}),
    ("find_tasks", {"error_contains": "imap", "limit": 10}),
    ("slow_operations", {"days": 7, "baseline_days": 28}),
    ("telemetry_summary", {"day": "2025-01-01"}),
]


def _sqlite_rows(path: Path, table: str = "tasks") -> tuple[list[str], list[tuple[Any, ...]]]:
    conn = sqlite3.connect(path)
    cursor = conn.execute(f"SELECT * FROM {table} ORDER BY 1")
    names = [d[0] for d in cursor.description]
    rows = cursor.fetchall()
    conn.close()
    return names, rows


def _copy_to_postgres(
    pg: Any, db: str, create: str, names: list[str], rows: list[tuple[Any, ...]], table: str
) -> str:
    import psycopg

    url = pg.create_database(db)
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(create)
        with conn.cursor() as cur, cur.copy(f"COPY {table} ({', '.join(names)}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)
        conn.execute(f"CREATE INDEX ON {table} ({names[3] if 'created_at' not in names else 'created_at'})")
        conn.execute(f"ANALYZE {table}")
    return url


def _settings(tmp_path: Path, name: str, location: str, **extra: Any) -> Any:
    return load_settings(None, data_dir=tmp_path / name, telemetry_db=location, **extra)


async def _answers(settings: Any, calls: Calls) -> list[dict[str, Any]]:
    answers = []
    async with Client(build_server(settings)) as client:
        for tool, arguments in calls:
            result = await call(client, tool, **arguments)
            result.pop("elapsed_ms", None)
            if tool == "find_tasks":
                result.pop("next_cursor", None)  # opaque: carries each engine's own sort key
            answers.append(result)
    return answers


async def _same_answers(
    tmp_path: Path, sqlite_db: Path, pg_url: str, calls: Calls, **extra: Any
) -> list[dict[str, Any]]:
    ours = await _answers(_settings(tmp_path, "sqlite", str(sqlite_db), **extra), calls)
    theirs = await _answers(_settings(tmp_path, "postgres", pg_url, **extra), calls)
    for (tool, arguments), a, b in zip(calls, ours, theirs, strict=True):
        assert a == b, f"{tool}({arguments}) differs between SQLite and PostgreSQL"
    return ours


def _seed_on_postgres(pg_server: Any, demo_db: Path, name: str) -> str:
    names, rows = _sqlite_rows(demo_db)
    timestamps = {"created_at", "started_at", "finished_at"}
    converted = [
        tuple(
            datetime.fromisoformat(v).replace(tzinfo=UTC) if n in timestamps and v is not None else v
            for n, v in zip(names, row, strict=True)
        )
        for row in rows
    ]
    create = (
        "CREATE TABLE tasks (id bigint PRIMARY KEY, status text NOT NULL, error text, created_at timestamptz NOT NULL, "
        "agent text, task_name text, started_at timestamptz, finished_at timestamptz, duration_ms integer, "
        "error_type text, traceback text, metadata text, release text)"
    )
    return _copy_to_postgres(pg_server, name, create, names, converted, "tasks")


async def test_the_seed_night_is_the_same_on_postgres(pg_server: Any, demo_db: Path, tmp_path: Path) -> None:
    url = _seed_on_postgres(pg_server, demo_db, "seed")
    answers = await _same_answers(tmp_path, demo_db, url, SEED_CALLS, now=DEMO_ANCHOR)
    yesterday, seven_days = answers[0], answers[6]
    assert (yesterday["total"], yesterday["failed"]) == (169, 13)
    assert [g["count"] for g in seven_days["groups"][:3]] == [9, 4, 2]
    assert "2026-" in answers[11]["warnings"][0]  # an empty window says where the data is


def _mapped_runs(kind: str) -> tuple[str, Callable[[datetime], Any]]:
    """(column type, value of an instant) for each time encoding of the mapped table."""
    return {
        "timestamptz": ("timestamptz", lambda at: at),
        "epoch_seconds": ("bigint", lambda at: int(at.timestamp())),
        "epoch_milliseconds": ("bigint", lambda at: int(at.timestamp()) * 1000),
        "iso_text_offset": ("text", lambda at: (at + timedelta(hours=2)).strftime("%Y-%m-%dT%H:%M:%S+02:00")),
    }[kind]


MAPPING = {
    "table": "agent_runs",
    "failed_statuses": ["error", "timeout"],
    "columns": {
        "id": "run_id",
        "status": "state",
        "error": "error_message",
        "created_at": "started_at",
        "agent": "agent_name",
    },
}
MAPPED_CALLS: Calls = [
    ("failure_trend", {"days": 3, "until": "2026-02-16"}),
    ("telemetry_summary", {"day": "2026-02-14"}),
    ("telemetry_summary", {"day": "2026-02-14", "agent": "agent-1"}),
    ("top_errors", {"days": 3, "until": "2026-02-16"}),
    ("find_tasks", {"limit": 5}),
    ("find_tasks", {"status": "error", "since": "2026-02-14", "until": "2026-02-15", "limit": 4}),
]


@pytest.mark.parametrize("kind", ["timestamptz", "epoch_seconds", "epoch_milliseconds", "iso_text_offset"])
async def test_a_mapped_table_gives_the_same_answers(pg_server: Any, tmp_path: Path, kind: str) -> None:
    column_type, value = _mapped_runs(kind)
    rows = [
        (
            str(uuid.UUID(int=n + 1)),
            ("error" if (n // 6) % 2 else "timeout") if t.failed else "success",
            t.error,
            value(t.at),
            t.agent,
        )
        for n, t in enumerate(planted_tasks())
    ]
    sqlite_db = tmp_path / "runs.db"
    conn = sqlite3.connect(sqlite_db)
    sqlite_type = {"timestamptz": "TEXT", "bigint": "INTEGER", "text": "TEXT"}[column_type]
    conn.execute(
        f"CREATE TABLE agent_runs (run_id TEXT PRIMARY KEY, state TEXT, error_message TEXT, started_at {sqlite_type}, "
        "agent_name TEXT)"
    )
    sqlite_rows = [(*r[:3], r[3].isoformat() if isinstance(r[3], datetime) else r[3], r[4]) for r in rows]
    conn.executemany("INSERT INTO agent_runs VALUES (?,?,?,?,?)", sqlite_rows)
    conn.commit()
    conn.close()
    create = (
        f"CREATE TABLE agent_runs (run_id uuid PRIMARY KEY, state text, error_message text, started_at {column_type}, "
        "agent_name text)"
    )
    names = ["run_id", "state", "error_message", "started_at", "agent_name"]
    url = _copy_to_postgres(pg_server, f"runs_{kind}", create, names, rows, "agent_runs")
    answers = await _same_answers(tmp_path, sqlite_db, url, MAPPED_CALLS, now=NOW, telemetry=MAPPING)
    assert {d["day"]: (d["total"], d["failed"]) for d in answers[0]["days"]} == EXPECTED_TOTALS
    assert len(answers[3]["groups"]) == 3 and answers[3]["warnings"] == []


async def test_time_zones_and_unmapped_statuses_warn_alike(pg_server: Any, tmp_path: Path) -> None:
    rows = [
        (n + 1, ("error" if (n // 6) % 2 else "timeout") if t.failed else "success", t.error, t.at, t.agent)
        for n, t in enumerate(planted_tasks())
    ]
    sqlite_db = tmp_path / "tz.db"
    conn = sqlite3.connect(sqlite_db)
    conn.execute(
        "CREATE TABLE tasks (id INTEGER PRIMARY KEY, status TEXT, error TEXT, created_at TEXT, agent TEXT)"
    )
    conn.executemany(
        "INSERT INTO tasks VALUES (?,?,?,?,?)",
        [(*r[:3], r[3].strftime("%Y-%m-%d %H:%M:%S"), r[4]) for r in rows],
    )
    conn.commit()
    conn.close()
    create = "CREATE TABLE tasks (id bigint PRIMARY KEY, status text, error text, created_at timestamp, agent text)"
    names = ["id", "status", "error", "created_at", "agent"]
    url = _copy_to_postgres(
        pg_server, "tz", create, names, [(*r[:3], r[3].replace(tzinfo=None), r[4]) for r in rows], "tasks"
    )
    calls: Calls = [
        ("failure_trend", {"days": 3, "until": "2026-02-16"}),
        ("telemetry_summary", {"day": "2026-02-14"}),
        ("top_errors", {"days": 3, "until": "2026-02-16"}),
    ]
    answers = await _same_answers(tmp_path, sqlite_db, url, calls, now=NOW, timezone="America/New_York")
    assert "failed_statuses" in answers[1]["warnings"][0] and answers[1]["failed"] == 0


async def test_a_missing_table_or_column_is_explained_on_postgres(pg_server: Any, tmp_path: Path) -> None:
    url = pg_server.create_database("empty")
    pg_server.execute("CREATE TABLE runs (run_id bigint, state text)", db="empty")
    async with Client(build_server(_settings(tmp_path, "pg", url))) as client:
        no_table = await call_error(client, "telemetry_summary")
    bad = {"table": "runs", "columns": {"id": "run_id", "status": "state"}}
    async with Client(build_server(_settings(tmp_path, "pg2", url, telemetry=bad))) as client:
        no_columns = await call_error(client, "failure_trend")
    assert "no table 'tasks'" in no_table and "public.runs" in no_table
    assert "error, created_at" in no_columns and "run_id" in no_columns


def test_config_show_masks_the_password_of_a_postgres_url(tmp_path: Path) -> None:
    settings = _settings(tmp_path, "x", "postgresql://reader:hunter2@db.internal:5432/agents")
    shown = settings.masked()
    assert (
        "hunter2" not in str(shown)
        and shown["telemetry_db"] == "postgresql://reader:****@db.internal:5432/agents"
    )


def test_telemetry_check_reads_postgres_and_names_the_missing_index(
    pg_server: Any, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from self_improver.server.cli import main

    url = pg_server.create_database("doctor")
    pg_server.execute(
        "CREATE TABLE agent_runs (run_id uuid PRIMARY KEY, state text, error_message text, started_at timestamptz)",
        db="doctor",
    )
    pg_server.execute(
        "INSERT INTO agent_runs SELECT gen_random_uuid(), CASE WHEN g % 5 = 0 THEN 'error' ELSE 'success' END, NULL, "
        "timestamptz '2026-02-15 00:00:00+00' + g * interval '1 minute' FROM generate_series(1, 100) g",
        db="doctor",
    )
    code = main(["telemetry", "check", "--telemetry-db", url, "--data-dir", str(tmp_path)])
    out = capsys.readouterr().out
    assert code == 2, out  # the configured table (tasks) is missing; the guess follows
    assert 'table = "agent_runs"' in out and 'failed_statuses = ["error"]' in out
    assert "CREATE INDEX" in out and "started_at" in out and "timestamptz" in out


async def test_pages_walk_every_task_once_on_both_engines(pg_server: Any, tmp_path: Path) -> None:
    """Keyset pages (find_tasks' cursor, the clustering's failed-task batches) with uuid ids and ties."""
    from self_improver.tools.telemetry.mapping import TelemetryMapping
    from self_improver.tools.telemetry.source import open_source
    from self_improver.tools.telemetry.windows import Window

    column_type, value = _mapped_runs("timestamptz")
    tied = [t for t in planted_tasks()][:60]
    rows = [
        (
            str(uuid.UUID(int=n + 1)),
            "error" if t.failed else "success",
            t.error,
            value(tied[n - n % 3].at),
            t.agent,
        )
        for n, t in enumerate(tied)
    ]
    sqlite_db = tmp_path / "pages.db"
    conn = sqlite3.connect(sqlite_db)
    conn.execute(
        "CREATE TABLE agent_runs (run_id TEXT PRIMARY KEY, state TEXT, error_message TEXT, started_at TEXT, agent_name TEXT)"
    )
    conn.executemany(
        "INSERT INTO agent_runs VALUES (?,?,?,?,?)", [(*r[:3], r[3].isoformat(), r[4]) for r in rows]
    )
    conn.commit()
    conn.close()
    create = f"CREATE TABLE agent_runs (run_id uuid PRIMARY KEY, state text, error_message text, started_at {column_type}, agent_name text)"
    url = _copy_to_postgres(
        pg_server,
        "pages",
        create,
        ["run_id", "state", "error_message", "started_at", "agent_name"],
        rows,
        "agent_runs",
    )
    mapping = TelemetryMapping.model_validate(MAPPING)
    window = Window(
        datetime(2026, 2, 1, tzinfo=UTC), datetime(2026, 3, 1, tzinfo=UTC), NOW.date(), NOW.date()
    )
    batches = {}
    for name, location in (("sqlite", str(sqlite_db)), ("postgres", url)):
        source = open_source(location, mapping)
        try:
            batches[name] = [[t.id for t in b] async for b in source.failed_tasks(window, batch=4)]
        finally:
            await source.close()
    assert batches["sqlite"] == batches["postgres"] and len(batches["sqlite"]) > 2
    assert sum(len(b) for b in batches["postgres"]) == sum(1 for r in rows if r[1] == "error")
    for location, name in ((str(sqlite_db), "s"), (url, "p")):
        seen: list[str] = []
        async with Client(
            build_server(_settings(tmp_path, name, location, now=NOW, telemetry=MAPPING))
        ) as client:
            cursor = None
            while True:
                page = await call(client, "find_tasks", limit=7, **({"cursor": cursor} if cursor else {}))
                seen += [t["id"] for t in page["tasks"]]
                if not page["has_more"]:
                    break
                cursor = page["next_cursor"]
        assert sorted(seen) == sorted(r[0] for r in rows) and len(seen) == len(set(seen))


async def test_the_nightly_run_is_the_same_on_postgres(pg_server: Any, demo_db: Path, tmp_path: Path) -> None:
    from self_improver.server.nightly import run_nightly_async

    url = _seed_on_postgres(pg_server, demo_db, "seed_nightly")
    results = {}
    for name, location in (("sqlite", str(demo_db)), ("postgres", url)):
        results[name] = await run_nightly_async(
            _settings(tmp_path, f"night-{name}", location, now=DEMO_ANCHOR)
        )
    sqlite, postgres = results["sqlite"], results["postgres"]
    assert sqlite.outcome == postgres.outcome == "ok", (sqlite.steps, postgres.steps)
    assert sqlite.counts == postgres.counts and sqlite.warnings == postgres.warnings == []

    def body(result: Any) -> list[str]:  # the report without its run line and step timings
        assert result.report_path is not None
        lines = result.report_path.read_text().splitlines()
        return [
            line
            for line in lines
            if not line.startswith("Run #") and " s)" not in line and "| ok |" not in line
        ]

    assert body(sqlite) == body(postgres)
    assert len(body(postgres)) > 30 and any("IMAP timeout" in line for line in body(postgres))
