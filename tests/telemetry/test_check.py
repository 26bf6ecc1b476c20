"""`self-improver telemetry check`: the doctor reads real tables, guesses mappings, and exits 0/1/2."""

from __future__ import annotations

import asyncio
import hashlib
import json
import re
import sqlite3
import subprocess
import sys
import tomllib
from datetime import UTC, datetime
from pathlib import Path

import pytest
from mcp import Client
from mcp_calls import call
from self_improver.server.app import build_server
from self_improver.server.cli import main
from self_improver.server.config import load_settings

EPOCH_BASE = int(datetime(2026, 2, 15, 0, 0, tzinfo=UTC).timestamp())


def _tasks_db(path: Path) -> Path:
    conn = sqlite3.connect(path)
    conn.executescript(
        """
        CREATE TABLE tasks (id INTEGER PRIMARY KEY, status TEXT, error TEXT, created_at TEXT, agent TEXT);
        CREATE INDEX idx_tasks_created_at ON tasks(created_at, status);
        """
    )
    rows = [("done", None, f"2026-02-15 0{h}:00:00", "email-agent") for h in range(8)]
    rows += [("failed", "IMAP timeout", "2026-02-15 09:00:00", "email-agent")]
    conn.executemany("INSERT INTO tasks(status, error, created_at, agent) VALUES (?, ?, ?, ?)", rows)
    conn.commit()
    conn.close()
    return path


def _celery_db(path: Path) -> Path:
    """Celery's database result backend (`result_extended = True` adds name, args, worker, ...)."""
    conn = sqlite3.connect(path)
    conn.executescript(
        """
        CREATE TABLE celery_taskmeta (
            id INTEGER PRIMARY KEY, task_id VARCHAR(155) UNIQUE, status VARCHAR(50), result BLOB,
            date_done DATETIME, traceback TEXT, name VARCHAR(155), args BLOB, kwargs BLOB,
            worker VARCHAR(155), retries INTEGER, queue VARCHAR(155)
        );
        CREATE TABLE celery_tasksetmeta (
            id INTEGER PRIMARY KEY, taskset_id VARCHAR(155) UNIQUE, result BLOB, date_done DATETIME
        );
        """
    )
    tb = (
        'Traceback (most recent call last):\n  File "app/tasks.py", line 9, in send\nValueError: no recipient'
    )
    for i in range(12):
        failed = i % 4 == 0  # 3 failures
        conn.execute(
            "INSERT INTO celery_taskmeta(task_id, status, result, date_done, traceback, name, worker) "
            "VALUES (?, ?, ?, ?, ?, ?, ?)",
            (
                f"5f1c-{i:04d}",
                "FAILURE" if failed else "SUCCESS",
                b"\x80\x04",
                f"2026-02-15 {i:02d}:30:00.123456",
                tb if failed else None,
                "app.tasks.send",
                "celery@worker-1",
            ),
        )
    conn.commit()
    conn.close()
    return path


def _agent_runs_db(path: Path) -> Path:
    conn = sqlite3.connect(path)
    conn.execute(
        "CREATE TABLE agent_runs (run_id TEXT PRIMARY KEY, state TEXT, error_message TEXT, started_at INTEGER)"
    )
    states = ["success"] * 10 + ["error"] * 3 + ["timeout"] * 2
    conn.executemany(
        "INSERT INTO agent_runs VALUES (?, ?, ?, ?)",
        [
            (f"run-{i}", s, None if s == "success" else f"{s} in step {i}", EPOCH_BASE + i * 600)
            for i, s in enumerate(states)
        ],
    )
    conn.commit()
    conn.close()
    return path


def _check(capsys: pytest.CaptureFixture, *args: str) -> tuple[int, dict]:
    code = main(["telemetry", "check", "--json", *args])
    return code, json.loads(capsys.readouterr().out)


def _text(capsys: pytest.CaptureFixture, *args: str) -> tuple[int, str]:
    code = main(["telemetry", "check", *args])
    return code, capsys.readouterr().out


def _field(report: dict, name: str) -> dict:
    return next(f for f in report["fields"] if f["field"] == name)


def test_canonical_table_reads_clean(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    db = _tasks_db(tmp_path / "agents.db")
    before = hashlib.sha256(db.read_bytes()).hexdigest()
    code, out = _text(capsys, "--telemetry-db", str(db))
    assert code == 0, out
    assert "table 'tasks': found, 9 row(s)" in out
    assert "ISO 8601 text (a space between date and time, UTC)" in out
    assert "indexed by: idx_tasks_created_at" in out
    assert "first 2026-02-15 00:00:00 UTC, last 2026-02-15 09:00:00 UTC" in out
    assert "verdict: OK" in out and "WARNING" not in out

    code, report = _check(capsys, "--telemetry-db", str(db))
    configured = report["configured"]
    assert (code, report["exit_code"]) == (0, 0)
    assert all(_field(configured, f)["found"] for f in ("id", "status", "error", "created_at", "agent"))
    assert not _field(configured, "traceback")["found"] and not _field(configured, "traceback")["required"]
    assert {s["status"]: (s["count"], s["failed"]) for s in configured["statuses"]} == {
        "done": (8, False),
        "failed": (1, True),
    }
    assert configured["time"]["encoding"] == "iso" and configured["time_indexes"] == ["idx_tasks_created_at"]
    assert report["suggested"] == {"table": "tasks", "failed_statuses": ["failed"], "columns": {}}
    assert hashlib.sha256(db.read_bytes()).hexdigest() == before, "check changed the user's database"


def test_celery_result_table_is_guessed_and_the_block_reads(
    tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    db = _celery_db(tmp_path / "celery.db")
    code, report = _check(capsys, "--telemetry-db", str(db))
    assert code == 2
    assert not report["configured"]["table_found"]
    assert report["tables"] == ["celery_taskmeta", "celery_tasksetmeta"]
    suggested = report["suggested"]
    assert suggested["table"] == "celery_taskmeta"
    assert suggested["failed_statuses"] == ["FAILURE"]
    columns = suggested["columns"]
    assert (columns["id"], columns["created_at"], columns["task_name"], columns["agent"]) == (
        "task_id",
        "date_done",
        "name",
        "worker",
    )
    assert columns["error"] in ("traceback", "result")
    assert "timestamp_format" not in suggested  # auto-detection reads date_done

    code, out = _text(capsys, "--telemetry-db", str(db))
    assert code == 2
    assert "table 'tasks': NOT FOUND" in out and "celery_taskmeta, celery_tasksetmeta" in out
    assert "Suggested [telemetry] block (guessed" in out

    config = tmp_path / "si.toml"
    config.write_text(report["suggested_toml"])
    assert tomllib.loads(config.read_text())["telemetry"]["columns"]["id"] == "task_id"
    code, again = _check(capsys, "--telemetry-db", str(db), "--config", str(config))
    configured = again["configured"]
    assert code == 1  # reads; the only warning is the missing index on date_done
    assert configured["table_found"] and not configured["problems"]
    assert len(configured["warnings"]) == 1 and "CREATE INDEX" in configured["warnings"][0]
    assert {s["status"]: (s["count"], s["failed"]) for s in configured["statuses"]} == {
        "SUCCESS": (9, False),
        "FAILURE": (3, True),
    }
    assert configured["suggested_index"].startswith('CREATE INDEX "idx_celery_taskmeta_date_done"')
    assert again["suggested"] == suggested

    # The same block drives the tools: the day's failures are the three FAILURE rows.
    settings = load_settings(config, telemetry_db=db, data_dir=tmp_path / "data", now="2026-02-16T00:10:00Z")

    async def summary() -> dict:
        async with Client(build_server(settings)) as client:
            return await call(client, "telemetry_summary", day="2026-02-15")

    day = asyncio.run(summary())
    assert (day["total"], day["failed"]) == (12, 3)


def test_agent_runs_with_epoch_seconds(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    db = _agent_runs_db(tmp_path / "runs.db")
    code, report = _check(capsys, "--telemetry-db", str(db))
    assert code == 2
    assert report["suggested"] == {
        "table": "agent_runs",
        "failed_statuses": ["error", "timeout"],
        "columns": {"id": "run_id", "status": "state", "error": "error_message", "created_at": "started_at"},
    }
    guessed = report["guessed"]
    assert guessed["time"]["description"] == "Unix epoch seconds stored as numbers"
    assert guessed["time"]["first"] == "2026-02-15T00:00:00+00:00"
    assert guessed["time"]["unreadable"] == 0

    code, out = _text(capsys, "--telemetry-db", str(db))
    assert 'failed_statuses = ["error", "timeout"]' in out
    assert 'created_at = "started_at"' in out


def test_unmapped_failures_and_unreadable_times_warn(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    db = tmp_path / "agents.db"
    conn = sqlite3.connect(db)
    conn.execute("CREATE TABLE tasks (id INTEGER PRIMARY KEY, status TEXT, error TEXT, created_at TEXT)")
    conn.execute("CREATE INDEX by_time ON tasks(created_at)")
    conn.executemany(
        "INSERT INTO tasks(status, error, created_at) VALUES (?, ?, ?)",
        [
            ("done", None, "2026-02-15T08:00:00+02:00"),
            ("failed", "x", "2026-02-15T09:00:00+02:00"),
            ("timed_out", "y", "2026-02-15T10:00:00+02:00"),
            ("done", None, "yesterday"),
        ],
    )
    conn.commit()
    conn.close()
    code, out = _text(capsys, "--telemetry-db", str(db))
    assert code == 1
    assert "!! 1 failure-looking status(es) are not in failed_statuses: 'timed_out'" in out
    assert "'timed_out'" in out and "LOOKS FAILED, NOT COUNTED" in out
    assert "unreadable values: 1 (e.g. 'yesterday')" in out
    assert "offset +02:00" in out
    assert "first 2026-02-15 06:00:00 UTC" in out
    assert 'failed_statuses = ["failed", "timed_out"]' in out  # the suggested block
    code, report = _check(capsys, "--telemetry-db", str(db))
    assert report["configured"]["unmapped_failure_statuses"] == {"timed_out": 1}
    assert len(report["configured"]["warnings"]) == 2


def test_env_mapping_is_honoured_by_check_and_config_show(
    tmp_path: Path, capsys: pytest.CaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    db = _agent_runs_db(tmp_path / "runs.db")
    monkeypatch.setenv("SELF_IMPROVER_TELEMETRY_DB", str(db))
    monkeypatch.setenv("SELF_IMPROVER_TELEMETRY__TABLE", "agent_runs")
    monkeypatch.setenv("SELF_IMPROVER_TELEMETRY__FAILED_STATUSES", '["error","timeout"]')
    monkeypatch.setenv("SELF_IMPROVER_TELEMETRY__COLUMNS__ID", "run_id")
    monkeypatch.setenv("SELF_IMPROVER_TELEMETRY__COLUMNS__STATUS", "state")
    monkeypatch.setenv("SELF_IMPROVER_TELEMETRY__COLUMNS__ERROR", "error_message")
    monkeypatch.setenv("SELF_IMPROVER_TELEMETRY__COLUMNS__CREATED_AT", "started_at")

    code, report = _check(capsys)
    configured = report["configured"]
    assert code == 1 and configured["table"] == "agent_runs" and not configured["problems"]
    assert configured["unmapped_failure_statuses"] == {}
    assert {s["status"] for s in configured["statuses"] if s["failed"]} == {"error", "timeout"}
    assert ["CREATE INDEX" in w for w in configured["warnings"]] == [True]
    assert report["suggested_from"] == "configured"
    assert report["suggested"]["failed_statuses"] == ["error", "timeout"]

    conn = sqlite3.connect(db)  # the user runs the suggested index; then nothing is wrong
    conn.execute(configured["suggested_index"])
    conn.commit()
    conn.close()
    code, report = _check(capsys)
    assert code == 0 and report["configured"]["time_indexes"] == ["idx_agent_runs_started_at"]

    assert main(["config", "show"]) == 0
    shown = json.loads(capsys.readouterr().out)["telemetry"]
    assert shown["table"] == "agent_runs" and shown["failed_statuses"] == ["error", "timeout"]
    assert shown["columns"] == {
        "id": "run_id",
        "status": "state",
        "error": "error_message",
        "created_at": "started_at",
    }


def test_configured_table_missing_required_columns(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    db = tmp_path / "agents.db"
    conn = sqlite3.connect(db)
    conn.execute("CREATE TABLE tasks (id INTEGER, state TEXT)")
    conn.execute("CREATE TABLE users (id INTEGER, email TEXT)")
    conn.commit()
    conn.close()
    code, out = _text(capsys, "--telemetry-db", str(db))
    assert code == 2
    assert "created_at   -> created_at           MISSING (required)" in out
    assert "No table here looks like task runs" in out
    assert "lacks required field(s) status" in out


def test_configured_table_with_other_column_names_is_guessed_in_place(
    tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    db = tmp_path / "agents.db"
    conn = sqlite3.connect(db)
    conn.execute("CREATE TABLE tasks (uuid TEXT, outcome TEXT, exception TEXT, created TEXT, name TEXT)")
    conn.execute("INSERT INTO tasks VALUES ('a', 'CRASHED', 'boom', '2026-02-15T10:00:00Z', 'sync')")
    conn.commit()
    conn.close()
    code, report = _check(capsys, "--telemetry-db", str(db))
    assert code == 2 and report["suggested_from"] == "guessed"
    assert report["suggested"]["table"] == "tasks"
    assert report["suggested"]["columns"] == {
        "id": "uuid",
        "status": "outcome",
        "error": "exception",
        "created_at": "created",
        "task_name": "name",
    }
    assert report["suggested"]["failed_statuses"] == ["CRASHED"]


def test_missing_database_says_so_on_stderr(tmp_path: Path) -> None:
    cli = [sys.executable, "-m", "self_improver.server.cli", "telemetry", "check"]
    done = subprocess.run(
        [*cli, "--telemetry-db", str(tmp_path / "nope.db")], capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 2
    assert done.stdout == ""
    assert "telemetry database not found" in done.stderr


def test_check_runs_as_a_command(tmp_path: Path) -> None:
    db = _tasks_db(tmp_path / "agents.db")
    cli = [sys.executable, "-m", "self_improver.server.cli", "telemetry", "check", "--telemetry-db", str(db)]
    done = subprocess.run(cli, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert "verdict: OK" in done.stdout


def test_readme_blocks_are_what_check_suggests(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    readme = (Path(__file__).parents[2] / "README.md").read_text()
    section = readme[readme.index("## Use it with your system") :]
    assert section.split("```sh\n", 1)[1].startswith(
        "self-improver telemetry check --telemetry-db /path/to/agents.db"
    )
    blocks = [tomllib.loads(b)["telemetry"] for b in re.findall(r"```toml\n(.*?)```", section, re.S)[:2]]
    for block, db in zip(
        blocks, (_celery_db(tmp_path / "c.db"), _agent_runs_db(tmp_path / "r.db")), strict=True
    ):
        code, report = _check(capsys, "--telemetry-db", str(db))
        assert code == 2
        assert report["suggested"] == block
        config = tmp_path / "readme.toml"
        config.write_text(report["suggested_toml"])
        code, again = _check(capsys, "--telemetry-db", str(db), "--config", str(config))
        assert code == 1 and not again["problems"]
