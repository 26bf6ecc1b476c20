"""Our telemetry schema for new stores, and forward migrations keyed by `PRAGMA user_version`.

Only stores we create are migrated. A user's existing database is opened read-only by the tools and
never altered: its task source learns which columns exist and the tools say what is unavailable.
"""

from __future__ import annotations

import sqlite3

__all__ = ["OPTIONAL_COLUMNS", "REQUIRED_COLUMNS", "open_writable", "task_columns"]

from .mapping import OPTIONAL_FIELDS as OPTIONAL_COLUMNS
from .mapping import REQUIRED_FIELDS as REQUIRED_COLUMNS

BUSY_TIMEOUT_MS = 5000

_V1 = """
CREATE TABLE IF NOT EXISTS tasks (
    id          INTEGER PRIMARY KEY,
    status      TEXT NOT NULL,
    error       TEXT,
    created_at  TEXT NOT NULL DEFAULT CURRENT_TIMESTAMP,
    agent       TEXT,
    task_name   TEXT,
    started_at  TEXT,
    finished_at TEXT,
    duration_ms INTEGER,
    error_type  TEXT,
    traceback   TEXT,
    metadata    TEXT
);
CREATE INDEX IF NOT EXISTS idx_tasks_created_at ON tasks(created_at, status);
CREATE INDEX IF NOT EXISTS idx_tasks_status_created_at ON tasks(status, created_at);
CREATE INDEX IF NOT EXISTS idx_tasks_agent_created_at ON tasks(agent, created_at);
"""

# The version or commit a task ran on (release-aware verdicts use it).
_V2 = "ALTER TABLE tasks ADD COLUMN release TEXT;"

# Spans received over OTLP -> the task stored for each, so a span an exporter sends again (exporters retry)
# is stored once. span_key: the span's start time (Unix nanoseconds, 20 digits), trace id, span id (hex);
# the start time first, so new keys land at the end of the index. A table of its own keeps `tasks` as it
# is; the trigger forgets the key of a deleted task (its id may be given to a new task).
_V3 = """
CREATE TABLE IF NOT EXISTS otlp_spans (
    span_key TEXT PRIMARY KEY,
    task_id  INTEGER NOT NULL
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS idx_otlp_spans_task_id ON otlp_spans(task_id);
CREATE TRIGGER IF NOT EXISTS tasks_forget_otlp_span AFTER DELETE ON tasks
BEGIN
    DELETE FROM otlp_spans WHERE task_id = OLD.id;
END;
"""

# Index i holds the script that takes a store from user_version i to i+1. Append, never edit.
MIGRATIONS: tuple[str, ...] = (_V1, _V2, _V3)
SCHEMA_VERSION = len(MIGRATIONS)


def configure_connection(conn: sqlite3.Connection) -> None:
    """WAL so readers never block the agent that writes, and a busy timeout instead of instant failure."""
    conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
    conn.execute("PRAGMA journal_mode = WAL")
    conn.execute("PRAGMA synchronous = NORMAL")


def ensure_schema(conn: sqlite3.Connection) -> int:
    """Create or migrate *our* store to the latest schema; returns the version now in place.

    A database with a `tasks` table that we did not create (user_version 0 but a table present) is
    left alone, so pointing the recorder at a user's database cannot rewrite their table.
    """
    version = conn.execute("PRAGMA user_version").fetchone()[0]
    if version == 0 and table_exists(conn, "tasks"):
        return 0
    if version > SCHEMA_VERSION:
        raise RuntimeError(
            f"telemetry store has schema version {version}, newer than this self-improver "
            f"(knows up to {SCHEMA_VERSION}): upgrade self-improver"
        )
    for target in range(version, SCHEMA_VERSION):
        with conn:
            conn.executescript(MIGRATIONS[target])
            conn.execute(f"PRAGMA user_version = {target + 1}")
    return SCHEMA_VERSION


def table_exists(conn: sqlite3.Connection, name: str) -> bool:
    row = conn.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?", (name,)).fetchone()
    return row is not None


def task_columns(conn: sqlite3.Connection) -> list[str]:
    return [row[1] for row in conn.execute("PRAGMA table_info(tasks)")]


def open_writable(path: str) -> sqlite3.Connection:
    """A connection for recording and ingesting: configured, schema ensured.

    Usable from a worker thread; callers serialise their own writes.
    """
    conn = sqlite3.connect(path, timeout=BUSY_TIMEOUT_MS / 1000, check_same_thread=False)
    configure_connection(conn)
    ensure_schema(conn)
    return conn
