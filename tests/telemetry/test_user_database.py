"""A user's own database: minimal columns work, nothing is ever altered, problems are explained."""

from __future__ import annotations

import hashlib
import sqlite3
import threading
from datetime import UTC, datetime
from pathlib import Path

from mcp import Client
from mcp_calls import call, call_error
from self_improver.server.app import build_server

NOW = datetime(2026, 2, 16, 0, 17, tzinfo=UTC)


def _minimal_db(path: Path) -> Path:
    conn = sqlite3.connect(path)
    conn.execute("CREATE TABLE tasks (id INTEGER PRIMARY KEY, status TEXT, error TEXT, created_at TEXT)")
    rows = [
        ("done", None, "2026-02-15 08:00:00"),
        ("failed", "IMAP timeout after 30s on host a", "2026-02-15T09:00:00Z"),
        ("failed", "IMAP timeout after 31s on host b", "2026-02-15T10:00:00.250+00:00"),
        ("failed", "KeyError: 'thread_id'", "2026-02-15 11:00:00"),
        ("done", None, "2026-02-16 00:05:00"),
    ]
    conn.executemany("INSERT INTO tasks(status, error, created_at) VALUES (?, ?, ?)", rows)
    conn.commit()
    conn.close()
    return path


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


async def test_minimal_table_works_and_says_what_is_unavailable(make_settings, tmp_path: Path) -> None:
    db = _minimal_db(tmp_path / "theirs.db")
    before = _digest(db)
    async with Client(build_server(make_settings(telemetry_db=db, now=NOW))) as client:
        summary = await call(client, "telemetry_summary", day="yesterday")
        top = await call(client, "top_errors", days=7)
        page = await call(client, "find_tasks", status="failed")
        assert "no `agent` column" in await call_error(client, "telemetry_summary", agent="email-agent")
        await call(client, "query_telemetry", sql="SELECT COUNT(*) FROM tasks")
    assert (summary["total"], summary["failed"]) == (4, 3)
    assert "agent" in summary["unavailable_fields"]
    assert [g["count"] for g in top["groups"]] == [2, 1]
    assert set(top["unavailable_fields"]) == {"agent", "error_type", "traceback"}
    assert len(page["tasks"]) == 3 and "task_name" in page["unavailable_fields"]
    assert _digest(db) == before, "reading a user's database changed the file"
    assert not Path(str(db) + "-wal").exists()


async def test_locked_database_returns_a_retry_hint(make_settings, tmp_path: Path) -> None:
    db = _minimal_db(tmp_path / "locked.db")
    holder = sqlite3.connect(db, check_same_thread=False)
    holder.execute("BEGIN EXCLUSIVE")
    try:
        async with Client(build_server(make_settings(telemetry_db=db, now=NOW))) as client:
            text = await call_error(client, "telemetry_summary")
    finally:
        holder.rollback()
        holder.close()
    assert "locked" in text and "retry" in text
    assert threading.active_count() < 50


async def test_database_without_required_columns_names_them(make_settings, tmp_path: Path) -> None:
    db = tmp_path / "partial.db"
    sqlite3.connect(db).execute("CREATE TABLE tasks (id INTEGER, state TEXT)").connection.commit()
    async with Client(build_server(make_settings(telemetry_db=db))) as client:
        text = await call_error(client, "failure_trend")
    assert "status, error, created_at" in text
