"""How we open our own small SQLite files in the data dir (signatures, pull requests, runs, audits).

WAL, so a reader (a tool call, a report) never blocks the nightly writer and the other way round; a busy
timeout instead of an instant "database is locked"; rows addressable by column name; usable from the
worker thread a store's caller runs it in. Never used for a user's telemetry database.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

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


def create_tables(path: Path, schema: str) -> None:
    """Run `schema` (CREATE ... IF NOT EXISTS statements) once, when a store is made."""
    conn = open_local_db(path, autocommit=True)
    try:
        conn.executescript(schema)
    finally:
        conn.close()


@contextmanager
def committing(path: Path, schema: str | None = None) -> Iterator[sqlite3.Connection]:
    """A short-lived connection that commits on success and rolls back on failure; `schema` (CREATE ...
    IF NOT EXISTS) is run first, for a store that creates its tables on first use."""
    conn = open_local_db(path)
    try:
        if schema is not None:
            conn.executescript(schema)
        with conn:
            yield conn
    finally:
        conn.close()


@contextmanager
def immediate(path: Path) -> Iterator[sqlite3.Connection]:
    """One write transaction that takes the database's write lock before reading anything, so what it
    reads cannot change before it writes (checks and the write they allow, across processes)."""
    conn = open_local_db(path, autocommit=True)
    try:
        conn.execute("BEGIN IMMEDIATE")
        yield conn
        conn.execute("COMMIT")
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    finally:
        conn.close()


def read_rows(path: Path, sql: str, params: Sequence[object] = ()) -> list[sqlite3.Row]:
    """The rows of one query, on a connection of its own."""
    conn = open_local_db(path, autocommit=True)
    try:
        return conn.execute(sql, params).fetchall()
    finally:
        conn.close()


def columns(row: sqlite3.Row, names: Iterable[str]) -> dict[str, Any]:
    """The named columns of `row`, for a model whose fields are named like the columns."""
    return {name: row[name] for name in names}
