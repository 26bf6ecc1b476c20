"""`self-improver ingest`: values as exporters send them, every good line kept, bad lines explained."""

from __future__ import annotations

import json
import sqlite3
import subprocess
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from mcp import Client
from mcp_calls import call
from self_improver.server.app import build_server
from self_improver.server.cli import main
from self_improver.tools.telemetry import schema
from self_improver.tools.telemetry.ingest import ingest_jsonl

REPO = Path(__file__).resolve().parents[2]
CLI = REPO / ".venv" / "bin" / "self-improver"
RATE_LIMIT = {
    "error": {
        "type": "RateLimitError",
        "message": "Rate limit reached for gpt-4o in organization org-AbC123xyz on tokens per min (TPM)",
        "code": "rate_limit_exceeded",
    }
}


def _write(path: Path, lines: list[Any]) -> Path:
    path.write_text("\n".join(line if isinstance(line, str) else json.dumps(line) for line in lines) + "\n")
    return path


def _rows(db: Path) -> list[dict[str, Any]]:
    conn = sqlite3.connect(db)
    conn.row_factory = sqlite3.Row
    rows = [dict(r) for r in conn.execute("SELECT * FROM tasks ORDER BY id")]
    conn.close()
    return rows


MIXED = [
    {"status": "failed", "error": RATE_LIMIT, "created_at": "2026-02-15T10:00:00Z"},  # 1 error object
    {"status": "done", "created_at": 1771149600123, "duration_ms": 1520.4},  # 2 epoch ms
    "{broken json",  # 3
    {"status": ["failed"], "created_at": "2026-02-15 10:00:00"},  # 4 list as status
    {"status": "done", "created_at": "1771149600", "started_at": 1771149590, "finished_at": "1771149600.5"},
    {"status": "done", "created_at": "2026-02-15T11:00:00+01:00", "agent": {"name": "mailer"}},  # 6
    {"status": "done", "created_at": "2026-02-15 10:00:00", "duration_ms": "fast"},  # 7
    {"status": "done", "created_at": "last tuesday"},  # 8
    {
        "status": "failed",
        "error": "boom",
        "traceback": ["Traceback:\n", "KeyError: 'x'\n"],
        "release": "v1.4.2",
    },
    {"status": "done", "id": "3f0c1a9e-uuid", "task_name": 42, "created_at": 1771149600.0},  # 10
    {"status": "failed", "error": "KeyError: 'x'", "error_type": "KeyError", "error_code": 7},  # 11
    {"status": "done", "created_at": {"at": "noon"}},  # 12
    [1, 2],  # 13
    "",  # 14 blank: ignored
    {"status": "done", "error": "bad \ud800 byte", "created_at": "2026-02-15T10:00:00.250-05:00"},  # 15
    {"status": True},  # 16
]


def test_mixed_file_keeps_every_good_line_and_reports_each_bad_one(tmp_path: Path) -> None:
    source = _write(tmp_path / "tasks.jsonl", MIXED)
    report = ingest_jsonl(source, tmp_path / "store.db")
    assert report.imported == 8
    reasons = dict(report.bad_lines)
    assert sorted(reasons) == [3, 4, 7, 8, 12, 13, 16]
    assert reasons[3].startswith("not valid JSON")
    assert "`status` must be a string" in reasons[4] and "a list" in reasons[4]
    assert "`duration_ms` must be a number of milliseconds" in reasons[7] and "'fast'" in reasons[7]
    assert "`created_at`" in reasons[8] and "ISO 8601" in reasons[8] and "epoch" in reasons[8]
    assert "`created_at` must be a time, got an object" in reasons[12]
    assert reasons[13] == "expected a JSON object per line, got a list"
    assert "`status` must be a string" in reasons[16]

    rows = _rows(tmp_path / "store.db")
    by_status = [(r["status"], r["created_at"]) for r in rows]
    assert by_status[:4] == [
        ("failed", "2026-02-15 10:00:00"),
        ("done", "2026-02-15 10:00:00"),
        ("done", "2026-02-15 10:00:00"),
        ("done", "2026-02-15 10:00:00"),
    ]
    error_object, epoch_ms, epoch_text, offset, with_traceback, foreign_id, typed, surrogate = rows
    assert json.loads(error_object["error"]) == RATE_LIMIT
    assert " " not in error_object["error"].split('"message"')[0], "stored as compact JSON"
    assert error_object["error_type"] == "RateLimitError"
    assert epoch_ms["duration_ms"] == 1520
    assert (epoch_text["started_at"], epoch_text["finished_at"]) == (
        "2026-02-15 09:59:50",
        "2026-02-15 10:00:00",
    )
    assert json.loads(offset["agent"]) == {"name": "mailer"}
    assert with_traceback["traceback"] == "Traceback:\nKeyError: 'x'\n"
    assert with_traceback["release"] == "v1.4.2"
    assert foreign_id["task_name"] == "42" and json.loads(foreign_id["metadata"]) == {"id": "3f0c1a9e-uuid"}
    assert typed["error_type"] == "KeyError" and json.loads(typed["metadata"]) == {"error_code": 7}
    assert surrogate["error"] == "bad \ufffd byte" and surrogate["created_at"] == "2026-02-15 15:00:00"


def test_cli_reports_bad_lines_by_number_and_never_a_traceback(tmp_path: Path) -> None:
    source = _write(tmp_path / "tasks.jsonl", MIXED)
    done = subprocess.run(
        [str(CLI), "ingest", str(source), "--data-dir", str(tmp_path / "data")],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert "Traceback" not in done.stderr
    assert "imported 8 task(s)" in done.stderr and "7 bad line(s)" in done.stderr
    assert f"{source}:4: skipped: `status` must be a string" in done.stderr
    assert f"{source}:7: skipped: `duration_ms`" in done.stderr
    assert len(_rows(tmp_path / "data" / "telemetry.db")) == 8


def test_a_row_the_database_rejects_costs_no_other_row_of_its_batch(tmp_path: Path) -> None:
    db = tmp_path / "theirs.db"
    conn = sqlite3.connect(db)
    conn.execute(
        "CREATE TABLE tasks (id INTEGER PRIMARY KEY, status TEXT NOT NULL, error TEXT, created_at TEXT)"
    )
    # A trigger that undoes the whole transaction, not only its own statement.
    conn.execute(
        "CREATE TRIGGER no_poison BEFORE INSERT ON tasks WHEN NEW.status = 'poison' "
        "BEGIN SELECT RAISE(ROLLBACK, 'poison is not a status'); END"
    )
    conn.execute("INSERT INTO tasks(id, status, created_at) VALUES (7, 'done', '2026-02-14 00:00:00')")
    conn.commit()
    conn.close()
    lines = [
        {"status": "done", "created_at": "2026-02-15 10:00:00"},
        {"status": "poison", "created_at": "2026-02-15 10:01:00"},
        {"id": 7, "status": "failed", "error": "duplicate id", "created_at": "2026-02-15 10:02:00"},
        {"status": "failed", "error": {"message": "kept"}, "created_at": "2026-02-15 10:03:00"},
    ]
    report = ingest_jsonl(_write(tmp_path / "t.jsonl", lines), db)
    assert report.imported == 2
    reasons = dict(report.bad_lines)
    assert sorted(reasons) == [2, 3]
    assert "poison is not a status" in reasons[2] and "UNIQUE" in reasons[3]
    assert [r["created_at"] for r in _rows(db)] == [
        "2026-02-14 00:00:00",
        "2026-02-15 10:00:00",
        "2026-02-15 10:03:00",
    ]


def test_a_database_that_stops_taking_writes_gets_every_line_not_written_reported(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    db = tmp_path / "store.db"
    ingest_jsonl(_write(tmp_path / "first.jsonl", [{"status": "done"}]), db)
    monkeypatch.setattr(schema, "BUSY_TIMEOUT_MS", 50)
    holder = sqlite3.connect(db)
    holder.execute("BEGIN IMMEDIATE")  # another writer holds the write lock for the whole import
    try:
        source = _write(tmp_path / "t.jsonl", [{"status": "done"}, "{bad", {"status": "failed"}])
        report = ingest_jsonl(source, db)
    finally:
        holder.rollback()
        holder.close()
    assert report.imported == 0 and report.stopped is not None
    reasons = dict(report.bad_lines)
    assert sorted(reasons) == [1, 2, 3]
    assert "stopped accepting writes at line 1 (database is locked)" in reasons[1]
    assert reasons[3] == reasons[1] and reasons[2].startswith("not valid JSON")
    assert len(_rows(db)) == 1


@pytest.mark.parametrize("store", ["directory", "not_sqlite"])
def test_an_unusable_store_is_a_clear_error(
    tmp_path: Path, store: str, capsys: pytest.CaptureFixture
) -> None:
    target = tmp_path / "store.db"
    if store == "directory":
        target.mkdir()
    else:
        target.write_text("this is not a database, just text " * 100)
    source = _write(tmp_path / "t.jsonl", [{"status": "done"}])
    assert main(["ingest", str(source), "--telemetry-db", str(target)]) == 2
    err = capsys.readouterr().err
    assert "cannot write to the store" in err and "Traceback" not in err


def test_bom_crlf_and_invalid_utf8_are_read(tmp_path: Path) -> None:
    source = tmp_path / "t.jsonl"
    source.write_bytes(
        b'\xef\xbb\xbf{"status": "done", "created_at": "2026-02-15 10:00:00"}\r\n'
        b'{"status": "failed", "error": "caf\xe9", "created_at": "2026-02-15 10:00:01"}\r\n'
    )
    report = ingest_jsonl(source, tmp_path / "store.db")
    assert (report.imported, report.bad_lines) == (2, [])
    assert _rows(tmp_path / "store.db")[1]["error"] == "caf\ufffd"


async def test_ingested_error_objects_group_in_top_errors(make_settings, tmp_path: Path) -> None:
    lines = []
    for n in range(12):
        body = {
            "error": {
                "type": "RateLimitError",
                "message": f"Rate limit reached for gpt-4o in organization org-Team{n}x on tokens per min (TPM): "
                f"Limit 30000, Used {29000 + n * 7}, Requested {100 + n}.",
                "code": "rate_limit_exceeded",
            }
        }
        lines.append({"status": "failed", "error": body, "created_at": 1771149600000 + n * 60_000})
    db = tmp_path / "store.db"
    assert ingest_jsonl(_write(tmp_path / "t.jsonl", lines), db).imported == 12
    now = datetime(2026, 2, 16, 0, 17, tzinfo=UTC)
    async with Client(build_server(make_settings(telemetry_db=db, now=now))) as client:
        top = await call(client, "top_errors", days=7)
    (group,) = top["groups"]
    assert group["count"] == 12 and group["error_type"] == "RateLimitError"
    assert group["title"].startswith("RateLimitError: Rate limit reached for gpt-4o in organization <id>")


def test_ingest_never_writes_into_a_users_own_database(tmp_path, capsys) -> None:
    import hashlib
    import sqlite3

    from self_improver.server.cli import main

    theirs = tmp_path / "agents.db"
    with sqlite3.connect(theirs) as conn:
        conn.execute("CREATE TABLE tasks (id INTEGER PRIMARY KEY, status TEXT, error TEXT, created_at TEXT)")
    before = hashlib.sha256(theirs.read_bytes()).hexdigest()
    lines = tmp_path / "tasks.jsonl"
    lines.write_text('{"status": "failed", "error": "boom", "created_at": "2026-02-15T10:00:00Z"}\n')
    code = main(["ingest", str(lines), "--telemetry-db", str(theirs), "--data-dir", str(tmp_path / "data")])
    assert code == 2 and "did not create" in capsys.readouterr().err
    assert hashlib.sha256(theirs.read_bytes()).hexdigest() == before
