"""Recording never changes what the agent does: a locked or unwritable database delays nothing by more
than a moment, the task body runs, its own exception comes through unchanged, and the records are
written later (on a later write or at close)."""

from __future__ import annotations

import logging
import sqlite3
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from self_improver.tools.telemetry import recorder as recorder_module
from self_improver.tools.telemetry import schema
from self_improver.tools.telemetry.recorder import TaskRecorder


def _rows(db: Path) -> list[dict]:
    conn = sqlite3.connect(db)
    conn.row_factory = sqlite3.Row
    try:
        return [dict(r) for r in conn.execute("SELECT * FROM tasks ORDER BY id")]
    finally:
        conn.close()


class _Lock:
    """Another process's connection holding the database with BEGIN EXCLUSIVE."""

    def __init__(self, db: Path):
        self.conn = sqlite3.connect(db, isolation_level=None, check_same_thread=False)
        self.conn.execute("BEGIN EXCLUSIVE")

    def release(self) -> None:
        self.conn.execute("ROLLBACK")
        self.conn.close()


@pytest.fixture
def recorded_db(tmp_path: Path) -> Iterator[Path]:
    """A store the recorder has created (WAL, schema in place), with one finished task."""
    db = tmp_path / "telemetry.db"
    schema.open_writable(str(db)).close()
    conn = sqlite3.connect(db)
    conn.execute("INSERT INTO tasks(status, task_name) VALUES ('done', 'earlier')")
    conn.commit()
    conn.close()
    yield db


async def test_a_locked_database_delays_the_task_a_moment_and_the_record_follows(recorded_db: Path) -> None:
    recorder = TaskRecorder(recorded_db, agent="mail-agent")  # default waits: busy timeout 5 s, wait 1 s
    lock = _Lock(recorded_db)
    ran_at = None
    started = time.monotonic()
    try:
        async with recorder.task("check_inbox") as task:
            ran_at = time.monotonic()
            task.metadata["messages"] = 2
    finally:
        lock.release()
    assert ran_at is not None and ran_at - started < recorder.wait_seconds + 0.5  # not 5 s, no error
    assert await recorder.flush() == 0
    recorder.close()
    earlier, checked = _rows(recorded_db)
    assert earlier["task_name"] == "earlier"
    assert (checked["task_name"], checked["status"], checked["agent"]) == (
        "check_inbox",
        "done",
        "mail-agent",
    )
    assert '"messages": 2' in checked["metadata"]


async def test_a_lock_past_the_busy_timeout_keeps_the_body_and_its_exception(
    recorded_db: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setattr(schema, "BUSY_TIMEOUT_MS", 200)  # the lock outlasts the recorder's patience
    recorder = TaskRecorder(recorded_db, agent="mail-agent")
    lock = _Lock(recorded_db)
    error = KeyError("thread_id")
    ran = []

    @recorder.track()
    async def send_digest(n: int) -> int:
        return n * 2

    try:
        with pytest.raises(KeyError) as raised:
            async with recorder.task("check_inbox") as task:
                ran.append(task.id)
                raise error
        assert await send_digest(21) == 42
    finally:
        lock.release()

    assert raised.value is error and ran == [0]  # the body ran; its own exception, not OperationalError
    assert recorder.pending == 2  # both tasks, each kept as one complete row
    warnings = [r for r in caplog.records if r.name == "self_improver.recorder"]
    assert warnings and "database is locked" in warnings[0].getMessage()
    assert "kept in memory" in warnings[0].getMessage()

    monkeypatch.setattr(recorder_module, "RETRY_AFTER_SECONDS", 0.0)
    recorder._retry_at = 0.0  # the back-off is over: the next write takes the queue along
    async with recorder.task("later"):
        pass
    recorder.close()
    rows = _rows(recorded_db)[1:]
    assert [(r["task_name"], r["status"]) for r in rows] == [
        ("check_inbox", "failed"),
        ("send_digest", "done"),
        ("later", "done"),
    ]
    assert rows[0]["error_type"] == "KeyError" and "thread_id" in rows[0]["traceback"]
    assert rows[0]["started_at"] and rows[0]["finished_at"] and rows[0]["agent"] == "mail-agent"


async def test_a_database_locked_before_the_recorder_opens_it_is_written_at_close(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(schema, "BUSY_TIMEOUT_MS", 200)
    db = tmp_path / "fresh.db"
    lock = _Lock(db)  # an empty file, exclusively locked: not even the schema can be created
    recorder = TaskRecorder(db)
    with pytest.raises(ValueError, match="negative"):
        async with recorder.task("parse"):
            raise ValueError("negative")
    lock.release()
    recorder.close()
    [row] = _rows(db)
    assert (row["task_name"], row["status"], row["error_type"]) == ("parse", "failed", "ValueError")


async def test_the_queue_is_bounded_and_says_what_it_dropped(
    recorded_db: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setattr(schema, "BUSY_TIMEOUT_MS", 100)
    caplog.set_level(logging.WARNING)
    recorder = TaskRecorder(recorded_db, max_pending=3, wait_seconds=0.5)
    lock = _Lock(recorded_db)
    try:
        for n in range(5):
            async with recorder.task(f"t{n}"):
                pass
    finally:
        lock.release()
    assert recorder.pending == 3 and recorder.dropped == 2
    assert any("dropped the oldest" in r.getMessage() for r in caplog.records)
    recorder.close()
    assert [r["task_name"] for r in _rows(recorded_db)[1:]] == ["t2", "t3", "t4"]
