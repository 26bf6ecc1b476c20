"""query_telemetry is bounded: time (also for one long SQLite step), value and result size, memory, and
how many raw queries run at once. Each test is an attack that once got through."""

from __future__ import annotations

import asyncio
import hashlib
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest
from mcp import Client
from mcp_calls import call, call_error
from self_improver.server.app import build_server
from self_improver.tools.support.problems import ToolInputError, UnavailableError
from self_improver.tools.telemetry import readonly_sql
from self_improver.tools.telemetry.readonly_sql import query_telemetry, run_readonly_query

COUNT_FOREVER = "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c) SELECT count(*) FROM c"
INSTR_40M = "SELECT instr(printf('%.*c',40000000,'a'), printf('%.*c',40000,'a')||'b')"
# One SQLite step of several seconds (instr is one function call) that neither the progress handler
# nor interrupt() can cut short: only the caller's own deadline bounds it.
INSTR_SLOW = "SELECT instr(printf('%.*c',999990,'a'), printf('%.*c',499990,'a')||'b')"
FIVE_PRINTFS = "SELECT " + ", ".join(["printf('%.*c',40000000,'a')"] * 5)


def _db(path: Path, wal: bool = False) -> Path:
    conn = sqlite3.connect(path)
    if wal:
        conn.execute("PRAGMA journal_mode = WAL")
    conn.execute("CREATE TABLE tasks (id INTEGER PRIMARY KEY, status TEXT, error TEXT, created_at TEXT)")
    conn.executemany(
        "INSERT INTO tasks(status, error, created_at) VALUES (?, ?, ?)",
        [("failed", "KeyError: 'x'", "2026-02-15 10:00:00"), ("done", None, "2026-02-15 11:00:00")],
    )
    conn.commit()
    conn.close()
    return path


def test_oversized_values_fail_fast_instead_of_being_built(tmp_path: Path) -> None:
    db = _db(tmp_path / "t.db")
    started = time.monotonic()
    result = run_readonly_query(db, INSTR_40M, None, 10, 5.0)  # ran 30 s against the 5 s limit
    assert result.rows == [[None]]  # printf past SQLITE_LIMIT_LENGTH gives NULL at once
    for sql in (
        "SELECT zeroblob(50000000)",
        "SELECT length(randomblob(50000000))",
        "SELECT hex(zeroblob(600000))",
    ):
        with pytest.raises(ToolInputError, match="larger than 1 MB"):
            run_readonly_query(db, sql, None, 10, 5.0)
    assert time.monotonic() - started < 3


def test_results_are_capped_in_bytes_as_well_as_rows(tmp_path: Path) -> None:
    db = _db(tmp_path / "t.db")
    sql = "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c LIMIT 5) SELECT x, printf('%.*c', 900000, 'a') FROM c"
    result = run_readonly_query(db, sql, None, 100, 5.0)
    assert result.row_count == 2 and result.truncated  # 1.8 MB fit, the third row would pass 2 MB
    assert result.truncated_reason is not None and "2 MB" in result.truncated_reason
    rows = run_readonly_query(db, "SELECT id FROM tasks", None, 1, 5.0)
    assert rows.truncated and rows.truncated_reason is not None and "limit=1" in rows.truncated_reason
    whole = run_readonly_query(db, "SELECT id FROM tasks", None, 5, 5.0)
    assert not whole.truncated and whole.truncated_reason is None and whole.row_count == 2


def test_wide_results_are_refused_but_wide_tables_still_read(tmp_path: Path) -> None:
    db = tmp_path / "wide.db"
    conn = sqlite3.connect(db)
    conn.execute("CREATE TABLE tasks (" + ", ".join(f"c{i}" for i in range(150)) + ")")
    conn.execute("INSERT INTO tasks(c0, c149) VALUES (1, 2)")
    conn.commit()
    conn.close()
    assert run_readonly_query(db, "SELECT * FROM tasks", None, 5, 5.0).rows[0][149] == 2
    with pytest.raises(ToolInputError, match="too many columns"):
        run_readonly_query(db, "SELECT " + ", ".join(["printf('%.*c', 999999, 'a')"] * 200), None, 5, 5.0)


_MEMORY_PROBE = """
import resource, sys
from pathlib import Path
from self_improver.tools.support.problems import ToolInputError
from self_improver.tools.telemetry.readonly_sql import run_readonly_query

db = Path(sys.argv[1])
run_readonly_query(db, "SELECT 1", None, 1, 5.0)
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
for sql in sys.argv[2:]:
    try:
        run_readonly_query(db, sql, None, 1000, 5.0)
    except ToolInputError:
        pass
after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print((after - before) * (1 if sys.platform == "darwin" else 1024))
"""


def test_peak_memory_stays_bounded_under_the_five_column_printf_attack(tmp_path: Path) -> None:
    db = _db(tmp_path / "t.db")
    attacks = [
        FIVE_PRINTFS,  # 500 MB of results and 1.6 GB peak before the limits
        "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c LIMIT 500) SELECT "
        + ", ".join(["printf('%.*c', 999999, 'a')"] * 5)
        + " FROM c",
        "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c LIMIT 500) SELECT "
        + ", ".join(["zeroblob(999999)"] * 5)
        + " FROM c",
    ]
    probe = subprocess.run(
        [sys.executable, "-c", _MEMORY_PROBE, str(db), *attacks],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert probe.returncode == 0, probe.stderr
    grown = int(probe.stdout.strip())
    assert grown < 100 * 2**20, f"peak memory grew by {grown / 2**20:.0f} MB"


def test_the_interrupt_stops_a_query_the_progress_handler_never_sees(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    db = _db(tmp_path / "t.db")
    monkeypatch.setattr(readonly_sql, "_PROGRESS_EVERY", 2**31 - 1)  # as if every step were one long one
    started = time.monotonic()
    with pytest.raises(ToolInputError, match="0.3 s limit"):
        run_readonly_query(db, COUNT_FOREVER, None, 10, 0.3)
    assert time.monotonic() - started < 1.5


async def test_the_caller_gets_its_answer_at_the_limit_even_during_one_long_step(tmp_path: Path) -> None:
    db = _db(tmp_path / "t.db")
    started = time.monotonic()
    with pytest.raises(ToolInputError, match="0.5 s limit"):
        await query_telemetry(db, INSTR_SLOW, timeout_s=0.5)
    assert time.monotonic() - started < 0.5 + readonly_sql.GRACE_SECONDS + 1.0


async def test_slow_queries_at_once_get_busy_instead_of_starving_everyone(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    db, other = _db(tmp_path / "t.db"), _db(tmp_path / "other.db")
    monkeypatch.setattr(readonly_sql, "QUEUE_WAIT_SECONDS", 0.3)
    started = time.monotonic()
    slow = [asyncio.create_task(query_telemetry(db, COUNT_FOREVER, timeout_s=1.5)) for _ in range(8)]
    await asyncio.sleep(0.05)
    quick = await query_telemetry(other, "SELECT count(*) FROM tasks")  # another source is not held up
    assert quick.rows == [[2]] and time.monotonic() - started < 1.0
    outcomes = await asyncio.gather(*slow, return_exceptions=True)
    busy = [o for o in outcomes if isinstance(o, UnavailableError)]
    timed_out = [o for o in outcomes if isinstance(o, ToolInputError)]
    assert len(timed_out) == readonly_sql.MAX_CONCURRENT_QUERIES and len(busy) == 8 - len(timed_out)
    assert all("busy" in str(b) and "retry" in str(b).lower() for b in busy)
    assert time.monotonic() - started < 1.5 + readonly_sql.GRACE_SECONDS + 1.0
    assert (await query_telemetry(db, "SELECT count(*) FROM tasks")).rows == [[2]]  # the slots are back


async def test_through_the_tool_limits_read_as_clear_messages(make_settings, tmp_path: Path) -> None:
    db = _db(tmp_path / "t.db")
    async with Client(build_server(make_settings(telemetry_db=db))) as client:
        too_big = await call_error(client, "query_telemetry", sql="SELECT zeroblob(50000000)")
        capped = await call(
            client,
            "query_telemetry",
            sql="WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c LIMIT 5) "
            "SELECT x, printf('%.*c', 900000, 'a') FROM c",
        )
        odd = await call(
            client,
            "query_telemetry",
            sql="SELECT randomblob(16), char(27) || '[2J' || char(27) || ']8;;https://evil.example' || char(7) || 'x'",
        )
    assert "larger than 1 MB" in too_big and "length(column)" in too_big
    assert capped["truncated"] and capped["row_count"] == 2 and "2 MB" in capped["truncated_reason"]
    assert odd["rows"] == [["<blob of 16 bytes: select hex(column) to read it>", "x"]]  # no crash, no escapes


def test_reading_a_wal_database_leaves_its_content_unchanged(tmp_path: Path) -> None:
    """SQLite needs the -shm (and an empty -wal) beside a WAL database even to read it `mode=ro`; they
    stay after the read (the next writer that closes removes them). The database itself is untouched."""
    db = _db(tmp_path / "user.db", wal=True)
    before = hashlib.sha256(db.read_bytes()).hexdigest()
    assert run_readonly_query(db, "SELECT count(*) FROM tasks", None, 1, 5.0).rows == [[2]]
    assert hashlib.sha256(db.read_bytes()).hexdigest() == before
    wal = db.with_name("user.db-wal")
    assert not wal.exists() or wal.stat().st_size == 0
