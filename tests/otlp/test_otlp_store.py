"""Spans are written only into our own store, each once (the otlp_spans table, a migration), by a bounded writer."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from self_improver.tools.otlp.mapping import COLUMNS
from self_improver.tools.otlp.store import SpanWriter, StoreUnavailable, insert_rows, open_store, refusal
from self_improver.tools.telemetry.mapping import TelemetryMapping
from self_improver.tools.telemetry.schema import MIGRATIONS, SCHEMA_VERSION, open_writable

OURS = TelemetryMapping()


def _row(key: str, status: str = "done", task_name: str = "t") -> tuple[object, ...]:
    values = {"span_key": key, "status": status, "created_at": "2026-02-15 10:00:00", "task_name": task_name}
    return tuple(values.get(name) for name in COLUMNS)


def _sqlite(path: Path, *statements: str) -> Path:
    with sqlite3.connect(path) as conn:
        for statement in statements:
            conn.execute(statement)
    return path


def test_our_store_a_new_file_and_an_empty_file_take_spans(tmp_path: Path) -> None:
    assert refusal(str(tmp_path / "new" / "telemetry.db"), OURS) is None
    assert refusal(str(_sqlite(tmp_path / "empty.db")), OURS) is None
    open_writable(str(tmp_path / "ours.db")).close()
    assert refusal(str(tmp_path / "ours.db"), OURS) is None


@pytest.mark.parametrize(
    ("location", "mapping", "expected"),
    [
        ("postgresql://agent:secret@db/agents", {}, "PostgreSQL (postgresql://agent:****@db/agents)"),
        ("{tmp}/x.db", {"table": "agent_runs"}, "mapping reads your own table 'agent_runs'"),
        ("{tmp}/x.db", {"columns": {"status": "state"}}, "mapping reads your own table 'tasks'"),
        ("{tmp}/x.db", {"failed_statuses": ["FAILURE"]}, "does not count 'failed'"),
    ],
)
def test_a_users_database_or_mapping_is_refused_with_the_reason(
    tmp_path: Path, location: str, mapping: dict[str, object], expected: str
) -> None:
    reason = refusal(location.format(tmp=tmp_path), TelemetryMapping.model_validate(mapping))
    assert reason is not None and expected in reason
    assert "secret" not in reason


def test_a_sqlite_file_we_did_not_create_is_refused(tmp_path: Path) -> None:
    theirs = _sqlite(tmp_path / "agents.db", "CREATE TABLE tasks (id INTEGER PRIMARY KEY, status TEXT)")
    assert "tasks table that self-improver did not create" in (refusal(str(theirs), OURS) or "")
    other = _sqlite(tmp_path / "app.db", "CREATE TABLE users (id INTEGER)")
    assert "not a self-improver store (it holds users)" in (refusal(str(other), OURS) or "")
    newer = _sqlite(tmp_path / "newer.db", f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    assert "upgrade self-improver" in (refusal(str(newer), OURS) or "")
    (tmp_path / "junk.db").write_bytes(b"not sqlite at all, just some bytes" * 10)
    assert "not a SQLite database" in (refusal(str(tmp_path / "junk.db"), OURS) or "")


STORED = (
    "SELECT t.id, s.span_key, t.status FROM tasks t LEFT JOIN otlp_spans s ON s.task_id = t.id ORDER BY t.id"
)


def test_a_store_of_the_previous_schema_learns_span_keys_and_keeps_its_rows_and_columns(
    tmp_path: Path,
) -> None:
    path = tmp_path / "old.db"
    with sqlite3.connect(path) as conn:
        for version, script in enumerate(MIGRATIONS[:2], start=1):
            conn.executescript(script)
            conn.execute(f"PRAGMA user_version = {version}")
        conn.execute("INSERT INTO tasks (status, created_at) VALUES ('done', '2026-02-14 09:00:00')")
        columns = [row[1] for row in conn.execute("PRAGMA table_info(tasks)")]
    conn = open_store(path)
    try:
        assert conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
        assert [row[1] for row in conn.execute("PRAGMA table_info(tasks)")] == columns  # tasks is unchanged
        assert insert_rows(conn, [_row("a" * 48), _row("b" * 48)]) == 2
        assert (
            insert_rows(conn, [_row("a" * 48, "failed"), _row("c" * 48), _row("c" * 48)]) == 1
        )  # "a": a retry
        stored = conn.execute(STORED).fetchall()
    finally:
        conn.close()
    assert stored == [(1, None, "done"), (2, "a" * 48, "done"), (3, "b" * 48, "done"), (4, "c" * 48, "done")]


def test_a_deleted_task_forgets_its_span_so_a_reused_id_is_never_confused(tmp_path: Path) -> None:
    conn = open_store(tmp_path / "store.db")
    try:
        insert_rows(conn, [_row("a" * 48), _row("b" * 48)])
        with conn:
            conn.execute("DELETE FROM tasks WHERE id = 2")  # "b", the newest: SQLite gives id 2 out again
        assert insert_rows(conn, [_row("d" * 48)]) == 1
        assert insert_rows(conn, [_row("b" * 48)]) == 1  # sent again after its task was deleted: stored again
        stored = conn.execute(STORED).fetchall()
    finally:
        conn.close()
    assert stored == [(1, "a" * 48, "done"), (2, "d" * 48, "done"), (3, "b" * 48, "done")]


def test_each_key_names_its_own_task_even_when_sqlite_hands_out_random_ids(tmp_path: Path) -> None:
    """With the largest integer id taken (an imported row may carry any id), new ids are random."""
    conn = open_store(tmp_path / "store.db")
    try:
        with conn:
            conn.execute(
                "INSERT INTO tasks (id, status, created_at) VALUES (?, 'done', '2026-02-14 09:00:00')",
                (2**63 - 1,),
            )
        rows = [_row(f"{n:048x}", task_name=f"task {n}") for n in range(1, 6)]
        assert insert_rows(conn, rows) == 5
        named = conn.execute(
            "SELECT s.span_key, t.task_name FROM otlp_spans s JOIN tasks t ON t.id = s.task_id"
        ).fetchall()
    finally:
        conn.close()
    assert sorted(named) == [(f"{n:048x}", f"task {n}") for n in range(1, 6)]


def test_the_writer_commits_before_answering_and_bounds_its_queue(tmp_path: Path) -> None:
    writer = SpanWriter(tmp_path / "store.db", capacity=3)
    writer.start()
    try:
        assert writer.submit([_row("1" * 48), _row("2" * 48)]).result(10) == 2  # type: ignore[union-attr]
        assert writer.submit([_row("1" * 48)]).result(10) == 0  # type: ignore[union-attr]
        lock = sqlite3.connect(tmp_path / "store.db", isolation_level=None)
        lock.execute("BEGIN EXCLUSIVE")
        try:
            held = writer.submit([_row(str(n) * 48) for n in range(3, 6)])
            assert held is not None and writer.pending == 3
            assert writer.submit([_row("9" * 48)]) is None  # full: the receiver answers 503
        finally:
            lock.execute("COMMIT")
            lock.close()
        assert held.result(10) == 3
        big = writer.submit([_row(f"{n:048x}") for n in range(10, 20)])  # larger than the queue, queue empty
        assert big is not None and big.result(10) == 10
    finally:
        writer.close()
    assert (writer.inserted, writer.duplicates) == (15, 1)
    with pytest.raises(StoreUnavailable):
        writer.submit([_row("f" * 48)])


def test_a_store_that_stays_locked_fails_the_batch_as_unavailable(tmp_path: Path) -> None:
    writer = SpanWriter(tmp_path / "store.db", capacity=10)
    writer.start()
    assert writer._conn is not None
    writer._conn.execute("PRAGMA busy_timeout = 50")
    lock = sqlite3.connect(tmp_path / "store.db", isolation_level=None)
    lock.execute("BEGIN EXCLUSIVE")
    try:
        future = writer.submit([_row("a" * 48)])
        assert future is not None
        with pytest.raises(StoreUnavailable, match="did not take the spans"):
            future.result(10)
    finally:
        lock.execute("COMMIT")
        lock.close()
        writer.close()
