"""Recording tasks from an agent system, and bulk import from JSON Lines."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest
from self_improver.server.cli import main
from self_improver.tools.telemetry.recorder import TaskRecorder
from self_improver.tools.telemetry.schema import SCHEMA_VERSION


def _rows(db: Path) -> list[dict]:
    conn = sqlite3.connect(db)
    conn.row_factory = sqlite3.Row
    return [dict(r) for r in conn.execute("SELECT * FROM tasks ORDER BY id")]


async def test_context_manager_records_done_and_failed_with_traceback(tmp_path: Path) -> None:
    db = tmp_path / "t.db"
    recorder = TaskRecorder(db, agent="email-agent")
    async with recorder.task("check_inbox", metadata={"mailbox": "ops"}) as task:
        task.metadata["messages"] = 3
    with pytest.raises(TimeoutError):
        async with recorder.task("check_inbox"):
            raise TimeoutError("IMAP timeout after 30s on imap.example.com")
    recorder.close()
    done, failed = _rows(db)
    assert done["status"] == "done" and done["agent"] == "email-agent" and done["duration_ms"] >= 0
    assert json.loads(done["metadata"]) == {"mailbox": "ops", "messages": 3}
    assert failed["status"] == "failed" and failed["error_type"] == "TimeoutError"
    assert failed["error"] == "TimeoutError: IMAP timeout after 30s on imap.example.com"
    assert "Traceback (most recent call last)" in failed["traceback"]
    assert failed["finished_at"] >= failed["started_at"]
    conn = sqlite3.connect(db)
    assert conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


async def test_running_status_is_visible_while_the_task_runs(tmp_path: Path) -> None:
    db = tmp_path / "t.db"
    recorder = TaskRecorder(db)
    async with recorder.task("long"):
        assert _rows(db)[0]["status"] == "running"
    assert _rows(db)[0]["status"] == "done"


async def test_decorator_records_each_call_and_keeps_the_result(tmp_path: Path) -> None:
    recorder = TaskRecorder(tmp_path / "t.db", agent="digest-agent")

    @recorder.track()
    async def send_digest(n: int) -> int:
        if n < 0:
            raise ValueError("negative")
        return n * 2

    assert await send_digest(21) == 42
    with pytest.raises(ValueError):
        await send_digest(-1)
    rows = _rows(tmp_path / "t.db")
    assert [(r["task_name"], r["status"]) for r in rows] == [
        ("send_digest", "done"),
        ("send_digest", "failed"),
    ]


async def test_recorder_writes_into_a_users_minimal_table_without_altering_it(tmp_path: Path) -> None:
    db = tmp_path / "theirs.db"
    sqlite3.connect(db).execute(
        "CREATE TABLE tasks (id INTEGER PRIMARY KEY, status TEXT, error TEXT, created_at TEXT)"
    ).connection.commit()
    recorder = TaskRecorder(db)
    with pytest.raises(KeyError):
        async with recorder.task("x"):
            raise KeyError("thread_id")
    recorder.close()
    conn = sqlite3.connect(db)
    assert [r[1] for r in conn.execute("PRAGMA table_info(tasks)")] == ["id", "status", "error", "created_at"]
    assert conn.execute("SELECT status, error FROM tasks").fetchall() == [("failed", "KeyError: 'thread_id'")]
    assert conn.execute("PRAGMA user_version").fetchone()[0] == 0


def test_ingest_keeps_good_lines_and_reports_bad_ones(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    source = tmp_path / "tasks.jsonl"
    lines = [
        json.dumps({"status": "done", "created_at": "2026-02-15T10:00:00Z", "agent": "a"}),
        "{not json",
        json.dumps(
            {"status": "failed", "error": "boom", "created_at": "2026-02-15 11:00:00", "region": "eu"}
        ),
        json.dumps({"error": "no status"}),
        "",
        json.dumps({"status": "done", "created_at": "yesterday-ish"}),
        json.dumps(["a list"]),
    ]
    source.write_text("\n".join(lines) + "\n")
    db = tmp_path / "store.db"
    assert main(["ingest", str(source), "--telemetry-db", str(db)]) == 0
    err = capsys.readouterr().err
    assert "imported 2 task(s)" in err and "4 bad line(s)" in err
    assert f"{source}:2: skipped: not valid JSON" in err
    assert f"{source}:4: skipped: missing `status`" in err
    assert f"{source}:6: skipped: `created_at`" in err
    assert f"{source}:7: skipped: expected a JSON object" in err
    rows = _rows(db)
    assert [r["created_at"] for r in rows] == ["2026-02-15 10:00:00", "2026-02-15 11:00:00"]
    assert json.loads(rows[1]["metadata"]) == {"region": "eu"}


def test_ingest_of_a_missing_file_fails_clearly(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    assert main(["ingest", str(tmp_path / "nope.jsonl"), "--telemetry-db", str(tmp_path / "s.db")]) == 2
    assert "cannot read" in capsys.readouterr().err
