"""Where task spans are written: self-improver's own SQLite store, never a user's database.

`refusal` says why a location cannot take spans (a PostgreSQL URL, a `[telemetry]` mapping of the user's
table, a SQLite file whose tables we did not create); commands call it at start-up. `insert_rows` writes
rows in one transaction and stores each span once: its key (start time + trace id + span id) goes into
`otlp_spans` (the primary key) with the id of its task, and a key found there means it is stored already.

`SpanWriter` is the receiver's single writer: request handlers `submit` their rows and await the
returned future, which resolves once the rows are committed (so a 200 means stored). One thread takes
every request waiting at that moment (up to `max_batch` rows) into one transaction. The queue is
bounded in rows: `submit` returns None when the rows would not fit, and the receiver answers 503 with
Retry-After instead of growing. A request larger than the whole queue is still taken when the queue
is empty, so no request can wait forever.
"""

from __future__ import annotations

import logging
import sqlite3
import threading
from collections import deque
from collections.abc import Sequence
from concurrent.futures import Future
from pathlib import Path

from ..support.problems import ToolInputError, UnavailableError
from ..telemetry.mapping import TelemetryMapping
from ..telemetry.own_store import write_refusal
from ..telemetry.schema import open_writable, table_exists
from .mapping import COLUMNS, Row

log = logging.getLogger("self_improver.otlp")

INSERT_TASK = f"INSERT INTO tasks ({', '.join(COLUMNS[1:])}) VALUES ({', '.join('?' for _ in COLUMNS[1:])})"
INSERT_KEY = "INSERT INTO otlp_spans (span_key, task_id) VALUES (?, ?)"
_LOOKUP_CHUNK = 500  # keys per `IN (...)` look-up, well under SQLite's parameter limit
DEFAULT_MAX_BATCH = 20_000
_NEW_FILE = "pass --telemetry-db with a new SQLite file for received spans"


class StoreUnavailable(UnavailableError):
    """The store did not take a batch (locked past the busy timeout, disk full, read-only)."""


def refusal(location: str, mapping: TelemetryMapping) -> str | None:
    """Why spans cannot be written at `location` under `mapping`, or None when it is (or will be) ours."""
    if not mapping.is_failed("failed"):
        return (
            f"[telemetry] failed_statuses = {mapping.failed_statuses} does not count 'failed', the status "
            "a failed span is stored with: add 'failed' or drop the setting"
        )
    return write_refusal(location, mapping, "received spans")


def open_store(path: Path) -> sqlite3.Connection:
    """Our store at `path`, created or migrated; raises ToolInputError when it cannot be written."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        conn = open_writable(str(path))
    except (sqlite3.Error, RuntimeError, OSError) as exc:
        raise ToolInputError(f"cannot write to the store {path}: {exc}; {_NEW_FILE}") from exc
    if not table_exists(conn, "otlp_spans"):
        conn.close()
        raise ToolInputError(f"{path} is not a self-improver store (it has no otlp_spans table); {_NEW_FILE}")
    return conn


def insert_rows(conn: sqlite3.Connection, rows: Sequence[Row]) -> int:
    """Write rows in one transaction; returns how many were new (the others were stored before)."""
    with conn:
        conn.execute("BEGIN IMMEDIATE")
        return insert_new(conn.cursor(), rows)


def insert_new(cursor: sqlite3.Cursor, rows: Sequence[Row]) -> int:
    """Inside an open write transaction: store the rows whose span is not stored yet; returns their number.

    The tasks go in with one `executemany`. Holding the write lock, SQLite gives each new row the largest
    id plus one, so their ids are the next consecutive numbers; that is checked, and when it does not hold
    (a table whose largest id is the largest integer gets random ids) the rows are written one by one.
    """
    keys = list(dict.fromkeys(row[0] for row in rows))
    known: set[str] = set()
    for start in range(0, len(keys), _LOOKUP_CHUNK):
        chunk = keys[start : start + _LOOKUP_CHUNK]
        marks = ", ".join("?" for _ in chunk)
        query = f"SELECT span_key FROM otlp_spans WHERE span_key IN ({marks})"
        known.update(key for (key,) in cursor.execute(query, chunk))
    fresh = []
    for row in rows:
        if row[0] not in known:
            known.add(row[0])
            fresh.append(row)
    if not fresh:
        return 0
    cursor.execute("SAVEPOINT otlp_batch")
    (before,) = cursor.execute("SELECT coalesce(max(id), 0) FROM tasks").fetchone()
    cursor.executemany(INSERT_TASK, [row[1:] for row in fresh])
    (after,) = cursor.execute("SELECT max(id) FROM tasks").fetchone()
    if after - before == len(fresh):
        cursor.executemany(INSERT_KEY, [(row[0], before + 1 + n) for n, row in enumerate(fresh)])
    else:
        cursor.execute("ROLLBACK TO otlp_batch")
        for row in fresh:
            cursor.execute(INSERT_TASK, row[1:])
            cursor.execute(INSERT_KEY, (row[0], cursor.lastrowid))
    cursor.execute("RELEASE otlp_batch")
    return len(fresh)


class SpanWriter:
    """The single writer thread of the receiver, fed through a queue bounded in rows."""

    def __init__(self, path: Path, capacity: int, max_batch: int = DEFAULT_MAX_BATCH):
        if capacity < 1:
            raise ValueError("the queue must hold at least one span")
        self.path = path
        self.capacity = capacity
        self.max_batch = max_batch
        self.inserted = 0  # rows stored since start
        self.duplicates = 0  # rows that were stored before (retries)
        self._cond = threading.Condition()
        self._items: deque[tuple[Sequence[Row], Future[int]]] = deque()
        self._pending = 0  # rows queued or in the transaction being written
        self._stopping = False
        self._thread: threading.Thread | None = None
        self._conn: sqlite3.Connection | None = None

    @property
    def pending(self) -> int:
        return self._pending

    @property
    def running(self) -> bool:
        return self._thread is not None

    def start(self) -> None:
        """Open the store (ToolInputError when it cannot be written) and start the thread."""
        if self._thread is not None:
            return
        self._conn = open_store(self.path)
        self._thread = threading.Thread(target=self._run, name="otlp-writer", daemon=True)
        self._thread.start()

    def submit(self, rows: Sequence[Row]) -> Future[int] | None:
        """Queue rows; the future gives how many were new once committed. None: the queue is full."""
        future: Future[int] = Future()
        with self._cond:
            if self._stopping or self._thread is None:
                raise StoreUnavailable("the span writer is not running")
            if self._pending and self._pending + len(rows) > self.capacity:
                return None
            self._pending += len(rows)
            self._items.append((rows, future))
            self._cond.notify()
        return future

    def close(self, timeout: float = 30.0) -> None:
        """Write what is queued, then stop the thread and close the store."""
        with self._cond:
            self._stopping = True
            self._cond.notify()
        if self._thread is not None:
            self._thread.join(timeout)
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    def _run(self) -> None:
        while True:
            with self._cond:
                while not self._items and not self._stopping:
                    self._cond.wait()
                if not self._items:
                    return
                batch: list[tuple[Sequence[Row], Future[int]]] = []
                size = 0
                while self._items and (not batch or size + len(self._items[0][0]) <= self.max_batch):
                    rows, future = self._items.popleft()
                    batch.append((rows, future))
                    size += len(rows)
            outcome = self._write(batch)
            with self._cond:
                self._pending -= size  # before anyone hears back, so an answered client finds room
            self._answer(batch, outcome)

    def _write(self, batch: list[tuple[Sequence[Row], Future[int]]]) -> list[int] | StoreUnavailable:
        """New rows per request, all in one transaction; or why the store did not take them."""
        conn = self._conn
        assert conn is not None
        try:
            with conn:
                conn.execute("BEGIN IMMEDIATE")
                cursor = conn.cursor()
                return [insert_new(cursor, rows) for rows, _ in batch]
        except Exception as exc:  # the handlers wait on these futures: every one must be answered
            if isinstance(exc, sqlite3.Error):
                log.error(
                    "could not write %d span(s) to %s: %s", sum(len(r) for r, _ in batch), self.path, exc
                )
            else:
                log.exception("the span writer failed")
            return StoreUnavailable(f"the store {self.path} did not take the spans ({exc})")

    def _answer(
        self, batch: list[tuple[Sequence[Row], Future[int]]], outcome: list[int] | StoreUnavailable
    ) -> None:
        for index, (rows, future) in enumerate(batch):
            if not isinstance(outcome, StoreUnavailable):
                self.inserted += outcome[index]
                self.duplicates += len(rows) - outcome[index]
            # A handler that stopped waiting (its client went away) cancelled its future; its rows
            # arrived whole, so they were written all the same.
            if not future.set_running_or_notify_cancel():
                continue
            if isinstance(outcome, StoreUnavailable):
                future.set_exception(outcome)
            else:
                future.set_result(outcome[index])
