"""How we open our own small SQLite files in the data dir (signatures, pull requests, runs, audits).

WAL, so a reader (a tool call, a report) never blocks the nightly writer and the other way round; a busy
timeout instead of an instant "database is locked"; rows addressable by column name; usable from the
worker thread a store's caller runs it in. Never used for a user's telemetry database.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

BUSY_TIMEOUT_S = 10


def open_local_db(path: Path, *, autocommit: bool = False) -> sqlite3.Connection:
    """A configured connection; `autocommit` leaves transactions to the caller (BEGIN IMMEDIATE ...)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    conn = sqlite3.connect(path, timeout=BUSY_TIMEOUT_S, check_same_thread=False)
    if autocommit:
        conn.isolation_level = None
    conn.row_factory = sqlite3.Row
    conn.execute("PRAGMA journal_mode = WAL")
    return conn
