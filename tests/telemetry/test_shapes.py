"""A user's agent data in the shapes real databases have: same answers, or a loud warning.

Each shape holds the same tasks (three days, known daily totals, three planted causes) in a real SQLite
file: our canonical table, created_at as epoch seconds and as epoch milliseconds, other status words
mapped with failed_statuses, and another table with other column names and ISO times at +02:00.
"""

from __future__ import annotations

import sqlite3
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from mcp import Client
from mcp_calls import call
from planted_tasks import EXPECTED_TOTALS, planted_tasks
from self_improver.server.app import build_server
from self_improver.server.config import load_settings

NOW = datetime(2026, 2, 16, 0, 17, tzinfo=UTC)


def _write(path: Path, create: str, insert: str, rows: list[tuple[Any, ...]]) -> Path:
    conn = sqlite3.connect(path)
    conn.execute(create)
    conn.executemany(insert, rows)
    conn.commit()
    conn.close()
    return path


def canonical(path: Path) -> tuple[Path, dict[str, Any]]:
    rows = [
        ("failed" if t.failed else "done", t.error, t.at.strftime("%Y-%m-%d %H:%M:%S"), t.agent)
        for t in planted_tasks()
    ]
    create = (
        "CREATE TABLE tasks (id INTEGER PRIMARY KEY, status TEXT, error TEXT, created_at TEXT, agent TEXT)"
    )
    return _write(
        path, create, "INSERT INTO tasks(status, error, created_at, agent) VALUES (?,?,?,?)", rows
    ), {}


def epoch(path: Path, scale: int) -> tuple[Path, dict[str, Any]]:
    rows = [
        ("failed" if t.failed else "done", t.error, int(t.at.timestamp()) * scale, t.agent)
        for t in planted_tasks()
    ]
    create = (
        "CREATE TABLE tasks (id INTEGER PRIMARY KEY, status TEXT, error TEXT, created_at INTEGER, agent TEXT)"
    )
    _write(path, create, "INSERT INTO tasks(status, error, created_at, agent) VALUES (?,?,?,?)", rows)
    sqlite3.connect(path).execute("CREATE INDEX by_time ON tasks(created_at)").connection.commit()
    return path, {}


def other_statuses(path: Path) -> tuple[Path, dict[str, Any]]:
    rows = [
        (
            ("Error" if (n // 6) % 2 else "timeout") if t.failed else "success",
            t.error,
            t.at.isoformat(),
            t.agent,
        )
        for n, t in enumerate(planted_tasks())
    ]
    create = (
        "CREATE TABLE tasks (id INTEGER PRIMARY KEY, status TEXT, error TEXT, created_at TEXT, agent TEXT)"
    )
    _write(path, create, "INSERT INTO tasks(status, error, created_at, agent) VALUES (?,?,?,?)", rows)
    return path, {"failed_statuses": ["error", "timeout"]}


def agent_runs(path: Path) -> tuple[Path, dict[str, Any]]:
    plus_two = timedelta(hours=2)
    rows = [
        (
            f"run-{n:05d}",
            "crashed" if t.failed else "ok",
            t.error,
            (t.at + plus_two).strftime("%Y-%m-%dT%H:%M:%S+02:00"),
            t.agent,
        )
        for n, t in enumerate(planted_tasks())
    ]
    create = (
        "CREATE TABLE agent_runs (run_id TEXT PRIMARY KEY, state TEXT, error_message TEXT, started_at TEXT, "
        "agent_name TEXT)"
    )
    _write(path, create, "INSERT INTO agent_runs VALUES (?,?,?,?,?)", rows)
    mapping = {
        "table": "agent_runs",
        "failed_statuses": ["crashed"],
        "columns": {
            "id": "run_id",
            "status": "state",
            "error": "error_message",
            "created_at": "started_at",
            "agent": "agent_name",
        },
    }
    return path, mapping


SHAPES = {
    "canonical": canonical,
    "epoch_seconds": lambda p: epoch(p, 1),
    "epoch_milliseconds": lambda p: epoch(p, 1000),
    "other_status_words": other_statuses,
    "agent_runs_with_offsets": agent_runs,
}


def _server(tmp_path: Path, db: Path, mapping: dict[str, Any]) -> Any:
    settings = load_settings(None, data_dir=tmp_path / "data", telemetry_db=db, now=NOW, telemetry=mapping)
    return build_server(settings)


@pytest.mark.parametrize("shape", list(SHAPES))
async def test_every_shape_gives_the_same_daily_totals_and_one_group_per_cause(
    tmp_path: Path, shape: str
) -> None:
    db, mapping = SHAPES[shape](tmp_path / f"{shape}.db")
    async with Client(_server(tmp_path, db, mapping)) as client:
        trend = await call(client, "failure_trend", days=3, until="2026-02-16")
        summary = await call(client, "telemetry_summary", day="2026-02-14")
        top = await call(client, "top_errors", days=3, until="2026-02-16")
        page = await call(client, "find_tasks", limit=5)
        by_agent = await call(client, "telemetry_summary", day="2026-02-14", agent="agent-1")
    assert {d["day"]: (d["total"], d["failed"]) for d in trend["days"]} == EXPECTED_TOTALS
    assert (summary["total"], summary["failed"]) == EXPECTED_TOTALS["2026-02-14"]
    assert by_agent["total"] == EXPECTED_TOTALS["2026-02-14"][0] // 2
    failed = sum(f for _, f in EXPECTED_TOTALS.values())
    assert top["failed_tasks"] == failed and sum(g["count"] for g in top["groups"]) == failed
    assert len(top["groups"]) == 3, [g["title"] for g in top["groups"]]
    planted = Counter((i // 6) % 3 for d in range(3) for i in range(40 + 10 * d) if i % 6 == 1)
    assert sorted(g["count"] for g in top["groups"]) == sorted(planted.values())
    newest = [t["created_at"] for t in page["tasks"]]
    assert newest == sorted(newest, reverse=True) and newest[0] == "2026-02-15 23:59:59"
    assert trend["warnings"] == [] and top["warnings"] == [] and summary["warnings"] == []


async def test_unmapped_failure_statuses_warn_and_name_the_setting(tmp_path: Path) -> None:
    db, _ = other_statuses(tmp_path / "statuses.db")
    async with Client(_server(tmp_path, db, {})) as client:
        summary = await call(client, "telemetry_summary", day="2026-02-14")
        top = await call(client, "top_errors", days=3, until="2026-02-16")
        trend = await call(client, "failure_trend", days=3, until="2026-02-16")
    assert summary["failed"] == 0 and summary["total"] == EXPECTED_TOTALS["2026-02-14"][0]
    for answer in (summary, top, trend):
        assert len(answer["warnings"]) == 1, answer["warnings"]
        text = answer["warnings"][0]
        assert "failed_statuses" in text and "'Error'" in text and "'timeout'" in text
        assert 'failed_statuses = ["Error", "failed", "timeout"]' in text


async def test_unreadable_times_and_missing_mapped_columns_are_named(tmp_path: Path) -> None:
    db, _ = canonical(tmp_path / "odd.db")
    conn = sqlite3.connect(db)
    conn.executemany(
        "INSERT INTO tasks(status, created_at) VALUES ('done', ?)",
        [("yesterday 5pm",), ("",), ("15/02/2026",)],
    )
    conn.commit()
    conn.close()
    async with Client(_server(tmp_path, db, {"columns": {"release": "app_version"}})) as client:
        summary = await call(client, "telemetry_summary", day="2026-02-14")
    assert summary["total"] == EXPECTED_TOTALS["2026-02-14"][0]
    text = " | ".join(summary["warnings"])
    assert "3 of" in text and "could not be read as times" in text and "'yesterday 5pm'" in text
    assert "'app_version'" in text and "release" in text


async def test_an_empty_window_says_where_the_data_is(tmp_path: Path) -> None:
    db, _ = epoch(tmp_path / "epoch.db", 1)
    async with Client(_server(tmp_path, db, {})) as client:
        summary = await call(client, "telemetry_summary", day="2025-06-01")
    assert summary["total"] == 0
    assert "2026-02-13 00:00:00 to 2026-02-15 23:59:59" in summary["warnings"][0]


async def test_a_missing_table_or_column_names_the_mapping(tmp_path: Path) -> None:
    from mcp_calls import call_error

    db, mapping = agent_runs(tmp_path / "runs.db")
    async with Client(_server(tmp_path, db, {})) as client:
        no_table = await call_error(client, "telemetry_summary")
    bad = {**mapping, "columns": {**mapping["columns"], "status": "status"}}
    async with Client(_server(tmp_path, db, bad)) as client:
        no_column = await call_error(client, "failure_trend")
    assert "no table 'tasks'" in no_table and "agent_runs" in no_table and "[telemetry]" in no_table
    assert "status (mapped to 'status')" in no_column and "state" in no_column


def test_the_mapping_comes_from_the_config_file_and_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = tmp_path / "self-improver.toml"
    config.write_text(
        '[telemetry]\ntable = "agent_runs"\nfailed_statuses = ["crashed"]\n'
        '[telemetry.columns]\nid = "run_id"\nstatus = "state"\n'
    )
    from_file = load_settings(config)
    assert from_file.telemetry.table == "agent_runs" and from_file.telemetry.column("status") == "state"
    monkeypatch.setenv("SELF_IMPROVER_TELEMETRY__TABLE", "runs")
    monkeypatch.setenv("SELF_IMPROVER_TELEMETRY__FAILED_STATUSES", '["error", "timeout"]')
    monkeypatch.setenv("SELF_IMPROVER_TELEMETRY__COLUMNS__CREATED_AT", "started_at")
    from_env = load_settings(None)
    assert from_env.telemetry.table == "runs" and from_env.telemetry.failed_statuses == ["error", "timeout"]
    assert from_env.telemetry.column("created_at") == "started_at"
    with pytest.raises(ValueError, match="timestamp_format"):
        load_settings(None, telemetry={"timestamp_format": "unix"})


async def test_fixing_failed_statuses_clusters_the_failures_the_misread_nights_missed(tmp_path: Path) -> None:
    """A night under the wrong mapping clusters nothing; once fixed, every failure of the window is grouped."""
    db, fixed = other_statuses(tmp_path / "statuses.db")
    async with Client(_server(tmp_path, db, {})) as client:
        misread = await call(client, "top_errors", days=3, until="2026-02-16")
    async with Client(_server(tmp_path, db, fixed)) as client:
        top = await call(client, "top_errors", days=3, until="2026-02-16")
    failed = sum(f for _, f in EXPECTED_TOTALS.values())
    assert misread["groups"] == [] and misread["warnings"]
    assert top["failed_tasks"] == failed and sum(g["count"] for g in top["groups"]) == failed
    assert top["warnings"] == []


async def test_values_of_other_types_come_back_in_the_page_types(tmp_path: Path) -> None:
    """Pages are built without validating each row again, so the engine converts: an integer agent id, a
    numeric task name and HTTP code, a REAL or text duration, an untyped status column holding numbers."""
    create = (
        "CREATE TABLE tasks (id TEXT PRIMARY KEY, status, error TEXT, created_at TEXT, agent INTEGER, "
        "task_name INTEGER, duration_ms REAL, error_type INTEGER)"
    )
    rows = [
        ("a1", "failed", "boom", "2026-02-15 10:00:00", 7, 42, 1234.7, 503),
        ("a2", 0, None, "2026-02-15 09:00:00", None, None, "950", None),
        ("a3", "done", None, "2026-02-15 08:00:00", 8, "nightly", "n/a", "E1"),
    ]
    db = _write(tmp_path / "typed.db", create, "INSERT INTO tasks VALUES (?,?,?,?,?,?,?,?)", rows)
    async with Client(_server(tmp_path, db, {})) as client:  # the client checks each page's output schema
        page = await call(client, "find_tasks", limit=2, detail="full")
        rest = await call(client, "find_tasks", limit=2, cursor=page["next_cursor"], detail="full")
    shown = [
        {k: t[k] for k in ("id", "status", "agent", "task_name", "duration_ms", "error_type")}
        for t in page["tasks"] + rest["tasks"]
    ]
    assert shown == [
        {
            "id": "a1",
            "status": "failed",
            "agent": "7",
            "task_name": "42",
            "duration_ms": 1234,
            "error_type": "503",
        },
        {"id": "a2", "status": "0", "agent": None, "task_name": None, "duration_ms": 950, "error_type": None},
        {
            "id": "a3",
            "status": "done",
            "agent": "8",
            "task_name": "nightly",
            "duration_ms": None,
            "error_type": "E1",
        },
    ]
    assert page["has_more"] and not rest["has_more"]
