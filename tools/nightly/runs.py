"""`runs.db`: one row per nightly run, so every night leaves a trace, even one that died.

A run inserts its row as `running` once it holds the lock and finishes it with its outcome. A row still
`running` when the next run holds the lock belongs to a process that died (it no longer holds the
lock): that run marks it `crashed` and reports it. A run refused by the lock is recorded as
`locked-out`. `warnings` keeps the telemetry warnings of a run (a JSON list of text; a run with any is
`degraded` unless a step failed); a runs.db written before that column existed gets it on open.
`notify` says what became of the webhook notification (sent, failed and why, what a dry run would send);
it never changes the outcome. `dry_run` marks a run that wrote nothing outside the data dir.
"""

from __future__ import annotations

import json
import os
import socket
import sqlite3
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..support.clock import iso_z, utc_now
from ..support.local_db import columns, committing

RUNS_DB = "runs.db"
OUTCOMES = ("running", "ok", "degraded", "partial", "failed", "crashed", "locked-out")

SCHEMA = """
CREATE TABLE IF NOT EXISTS runs (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    started_at   TEXT NOT NULL,
    finished_at  TEXT,
    outcome      TEXT NOT NULL,
    night_of     TEXT,
    pid          INTEGER,
    host         TEXT,
    counts       TEXT NOT NULL DEFAULT '{}',
    steps        TEXT NOT NULL DEFAULT '[]',
    agent        TEXT,
    report_path  TEXT,
    error        TEXT,
    warnings     TEXT NOT NULL DEFAULT '[]',
    notify       TEXT,
    dry_run      INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS idx_runs_outcome ON runs(outcome);
"""


def utc_now_text() -> str:
    return iso_z(utc_now())


@dataclass
class RunRecord:
    id: int
    started_at: str
    finished_at: str | None
    outcome: str
    night_of: str | None
    pid: int | None
    host: str | None
    counts: dict[str, Any] = field(default_factory=dict)
    steps: list[dict[str, Any]] = field(default_factory=list)
    agent: dict[str, Any] | None = None
    report_path: str | None = None
    error: str | None = None
    warnings: list[str] = field(default_factory=list)
    notify: str | None = None
    dry_run: bool = False


_ADDED_COLUMNS = {
    "warnings": "TEXT NOT NULL DEFAULT '[]'",
    "notify": "TEXT",
    "dry_run": "INTEGER NOT NULL DEFAULT 0",
}


def _add_warnings_column(conn: sqlite3.Connection) -> None:
    """A runs.db from before the `warnings` (`notify`, `dry_run`) columns gets them (another process may
    add them first)."""
    columns = {row[1] for row in conn.execute("PRAGMA table_info(runs)")}
    for name, kind in _ADDED_COLUMNS.items():
        if name in columns:
            continue
        try:
            conn.execute(f"ALTER TABLE runs ADD COLUMN {name} {kind}")
        except sqlite3.OperationalError as exc:
            if "duplicate column" not in str(exc):
                raise


_SAME_NAMED = "id started_at finished_at outcome night_of pid host report_path error notify".split()


def _record(row: sqlite3.Row) -> RunRecord:
    return RunRecord(
        **columns(row, _SAME_NAMED),
        counts=json.loads(row["counts"] or "{}"),
        steps=json.loads(row["steps"] or "[]"),
        agent=json.loads(row["agent"]) if row["agent"] else None,
        warnings=json.loads(row["warnings"] or "[]"),
        dry_run=bool(row["dry_run"]),
    )


class RunRecords:
    """Synchronous and short-lived connections: two processes may write (one run, one locked out)."""

    def __init__(self, path: Path):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self._connect() as conn:
            conn.executescript(SCHEMA)
            _add_warnings_column(conn)

    @classmethod
    def in_dir(cls, data_dir: Path) -> RunRecords:
        return cls(Path(data_dir) / RUNS_DB)

    def _connect(self) -> AbstractContextManager[sqlite3.Connection]:
        return committing(self.path)

    def start(self, night_of: str, outcome: str = "running", error: str | None = None) -> int:
        """Insert this process's row; `outcome` other than running is for runs that end at once."""
        finished = None if outcome == "running" else utc_now_text()
        with self._connect() as conn:
            cursor = conn.execute(
                "INSERT INTO runs(started_at, finished_at, outcome, night_of, pid, host, error) "
                "VALUES (?,?,?,?,?,?,?)",
                (utc_now_text(), finished, outcome, night_of, os.getpid(), socket.gethostname(), error),
            )
            return int(cursor.lastrowid or 0)

    def finish(
        self,
        run_id: int,
        outcome: str,
        counts: dict[str, Any],
        steps: list[dict[str, Any]],
        agent: dict[str, Any] | None,
        report_path: str | None,
        error: str | None,
        warnings: list[str] | None = None,
    ) -> None:
        if outcome not in OUTCOMES:
            raise ValueError(f"unknown outcome {outcome!r}")
        with self._connect() as conn:
            conn.execute(
                "UPDATE runs SET finished_at = ?, outcome = ?, counts = ?, steps = ?, agent = ?, "
                "report_path = ?, error = ?, warnings = ? WHERE id = ?",
                (
                    utc_now_text(),
                    outcome,
                    json.dumps(counts, sort_keys=True),
                    json.dumps(steps),
                    json.dumps(agent) if agent is not None else None,
                    report_path,
                    error,
                    json.dumps(warnings or []),
                    run_id,
                ),
            )

    def note_run(self, run_id: int, notify: str | None, dry_run: bool) -> None:
        """What became of the notification, and whether the run was a dry run."""
        with self._connect() as conn:
            conn.execute(
                "UPDATE runs SET notify = ?, dry_run = ? WHERE id = ?", (notify, int(dry_run), run_id)
            )

    def mark_crashed(self, found_by: int) -> list[RunRecord]:
        """Mark every other `running` row crashed; call only while holding the lock (so none is alive)."""
        with self._connect() as conn:
            rows = conn.execute(
                "SELECT * FROM runs WHERE outcome = 'running' AND id != ? ORDER BY id", (found_by,)
            ).fetchall()
            note = f"found still running by run #{found_by}"
            for row in rows:
                conn.execute(
                    "UPDATE runs SET outcome = 'crashed', error = ? WHERE id = ?",
                    (
                        f"the process (pid {row['pid']} on {row['host']}) ended without finishing its "
                        f"record; {note}",
                        row["id"],
                    ),
                )
        return [_record(r) for r in rows]

    def get(self, run_id: int) -> RunRecord | None:
        with self._connect() as conn:
            row = conn.execute("SELECT * FROM runs WHERE id = ?", (run_id,)).fetchone()
        return _record(row) if row else None

    def recent(self, limit: int = 10) -> list[RunRecord]:
        with self._connect() as conn:
            rows = conn.execute("SELECT * FROM runs ORDER BY id DESC LIMIT ?", (limit,)).fetchall()
        return [_record(r) for r in rows]
