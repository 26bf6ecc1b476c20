"""The SQLite engine's connection: one per source, opened read-only, reused across calls, and the table's
schema learned once.

A new connection and `PRAGMA table_info` cost ~5 ms a call, so both are kept; the schema is learned again
when `PRAGMA schema_version` changes, every RELEARN_SECONDS, or when the file is replaced (both checked
before every read, or trusted for SCHEMA_RECHECK_SECONDS by a short read, see `_run_short`). Reads run in a
worker thread under one lock; a read that is usually short can run inline on the loop (`sqlite_short`).
"""

from __future__ import annotations

import asyncio
import os
import sqlite3
import threading
import time
from collections.abc import Callable, Hashable
from pathlib import Path
from typing import Any, TypeVar

from ..support.problems import UnavailableError
from .engine import SCHEMA_RECHECK_SECONDS
from .mapping import OPTIONAL_FIELDS, REQUIRED_FIELDS, TelemetryMapping
from .source import SourceSchema
from .sqlite_inspect import indexed_first_columns, sample_times, table_columns, tables
from .sqlite_short import Overran, within_budget
from .sqlite_windows import Learned, quote
from .table_checks import check_required, learn_warnings, no_table

BUSY_TIMEOUT_MS = 5000
RELEARN_SECONDS = 300
T = TypeVar("T")


class SQLiteReader:
    def __init__(self, path: Path, mapping: TelemetryMapping):
        self.path = path
        self.mapping = mapping
        self.location = str(path)
        self._conn: sqlite3.Connection | None = None
        self._lock = threading.Lock()
        self._learned: Learned | None = None
        self._long_reads: set[Hashable] = set()  # shapes of short reads that overran their inline budget

    async def _run(self, work: Callable[[sqlite3.Connection, Learned], T]) -> T:
        return await asyncio.to_thread(self._locked, work)

    def _locked(self, work: Callable[[sqlite3.Connection, Learned], T]) -> T:
        return self._waiting(lambda conn: work(conn, self._current(conn)))

    def _waiting(self, work: Callable[[sqlite3.Connection], T]) -> T:
        """`work(conn)` under the lock (in the worker thread), waiting up to BUSY_TIMEOUT_MS for a writer's
        lock; the connection waits for none between reads, since inline reads must not (`sqlite_short`)."""
        with self._lock:
            try:
                conn = self._connection()
                conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
                try:
                    return work(conn)
                finally:
                    conn.execute("PRAGMA busy_timeout = 0")
            except sqlite3.OperationalError as exc:
                raise translate_sqlite_error(exc, self.path) from exc

    def _stamp(self) -> Any:
        try:
            info = os.stat(self.path)
        except OSError:
            return None
        return (info.st_dev, info.st_ino)

    def _connection(self) -> sqlite3.Connection:
        if self._conn is not None and self._learned is not None and self._stamp() != self._learned.stamp:
            self._close()  # the file was replaced: read the new one
        if self._conn is None:
            if not self.path.is_file():
                raise UnavailableError(
                    f"telemetry database not found at {self.path}: point SELF_IMPROVER_TELEMETRY_DB (or "
                    "--telemetry-db) at your SQLite file, or record tasks first (`self-improver ingest "
                    "FILE.jsonl`); `self-improver demo` shows a working example"
                )
            uri = f"{self.path.resolve().as_uri()}?mode=ro"
            try:
                conn = sqlite3.connect(uri, uri=True, timeout=0, check_same_thread=False)
                conn.execute("PRAGMA query_only = 1")
            except sqlite3.Error as exc:
                raise UnavailableError(f"cannot open telemetry database {self.path}: {exc}") from exc
            self._conn = conn
        return self._conn

    def _current(self, conn: sqlite3.Connection) -> Learned:
        version = conn.execute("PRAGMA schema_version").fetchone()[0]
        learned = self._learned
        if learned is None or learned.version != version or time.monotonic() - learned.at > RELEARN_SECONDS:
            learned = self._learned = self._learn(conn, version)
        learned.checked = time.monotonic()
        return learned

    def _learn(self, conn: sqlite3.Connection, version: int) -> Learned:
        table = self.mapping.table
        present = set(table_columns(conn, table))
        if not present:
            raise no_table(str(self.path), table, tables(conn)[:20])
        check_required(self.mapping, str(self.path), present)
        columns = {f: quote(self.mapping.column(f)) for f in REQUIRED_FIELDS + OPTIONAL_FIELDS}
        found = {f: q for f, q in columns.items() if self.mapping.column(f) in present}
        detection = sample_times(conn, self.mapping, found["created_at"])
        warnings = learn_warnings(
            self.mapping,
            present,
            found,
            detection,
            time_types="ISO 8601",
            one_format="store one format to make windows index-served",
        )
        indexed = indexed_first_columns(conn, table)
        schema = SourceSchema(
            fields=frozenset(found),
            time=detection,
            time_indexed=self.mapping.column("created_at") in indexed,
            warnings=tuple(warnings),
        )
        return Learned(schema, found, version, self._stamp(), indexed)

    async def _run_short(self, shape: Hashable, work: Callable[[sqlite3.Connection, Learned], T]) -> T:
        """`_run` for a read that is usually short (a page of tasks): inline on the loop while the
        connection is warm and free, in the worker thread once a read of this `shape` has overrun.

        A file and schema check younger than SCHEMA_RECHECK_SECONDS is trusted, as `schema()` trusts it
        (the two cost ~5 us, a page's statement ~60); a read that fails then goes to the worker thread,
        which checks again, so a table changed since is read as it now is."""
        learned = self._learned
        if (
            self._conn is None
            or learned is None
            or shape in self._long_reads
            or time.monotonic() - learned.at > RELEARN_SECONDS
            or not self._lock.acquire(blocking=False)
        ):
            return await self._run(work)
        trusted = time.monotonic() - learned.checked < SCHEMA_RECHECK_SECONDS
        reading = False  # past the schema check: an overrun is then the read's own, not a relearn's

        def read(conn: sqlite3.Connection) -> T:
            nonlocal reading
            current = learned if trusted else self._current(conn)
            reading = True
            return work(conn, current)

        try:
            conn = self._conn if trusted else self._connection()
            return within_budget(conn, lambda: read(conn))
        except Overran as stopped:
            if reading and not stopped.busy:
                self._long_reads.add(shape)
        except sqlite3.OperationalError as exc:
            if not trusted:
                raise translate_sqlite_error(exc, self.path) from exc
        finally:
            self._lock.release()
        return await self._run(work)

    def _close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None
            self._learned = None

    async def close(self) -> None:
        with self._lock:
            self._close()


def translate_sqlite_error(exc: sqlite3.OperationalError, path: Path) -> Exception:
    text = str(exc)
    if "locked" in text or "busy" in text:
        return UnavailableError(
            f"telemetry database {path} stayed locked by another process for {BUSY_TIMEOUT_MS // 1000} s; "
            "retry in a moment, or make the writer use WAL mode so readers are not blocked"
        )
    return UnavailableError(f"telemetry database {path} could not be read: {text}")
