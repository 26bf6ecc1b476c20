"""The SQLite engine of the task-source boundary: a user's file, opened read-only, never altered.

One connection per source, reused across calls (a new connection and `PRAGMA table_info` cost ~5 ms a
call); the schema is learned once and re-learned when `PRAGMA schema_version` changes or the file is
replaced. Queries run in a worker thread under one lock. The file is opened `mode=ro` with
`PRAGMA query_only`, so no statement of ours can change it.
"""

from __future__ import annotations

import asyncio
import os
import sqlite3
import threading
import time
from collections.abc import Callable, Sequence
from datetime import UTC as _UTC
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar

from ..support.problems import UnavailableError
from .durations import duration_bin, duration_bin_sql
from .engine import SyncEngine
from .mapping import OPTIONAL_FIELDS, REQUIRED_FIELDS, TelemetryMapping
from .models import QueryResult
from .source import (
    ColumnReport,
    DurationHistogram,
    FailedTask,
    Inspection,
    SourceSchema,
    TaskFilter,
    TaskMessage,
    TaskRecord,
)
from .timestamps import Detection, decode_any, detect_encoding
from .windows import Window

BUSY_TIMEOUT_MS = 5000
SAMPLE = 1000  # values read from each end of the table to learn the time encoding
RELEARN_SECONDS = 300
SCHEMA_RECHECK_SECONDS = 2.0  # `schema()` trusts a check this recent (saves a thread hop per call)
T = TypeVar("T")


def quote(name: str) -> str:
    """An SQL identifier, quoted: mapped names are data, never SQL text."""
    return '"' + name.replace('"', '""') + '"'


def epoch_seconds_sql(column: str) -> str:
    """Any stored time (epoch s/ms number or digits, ISO text) as epoch seconds; NULL when unreadable."""
    n = f"CAST({column} AS REAL)"
    return (
        f"(CASE WHEN typeof({column}) IN ('integer', 'real') OR ({column} GLOB '[0-9]*' AND {column} NOT GLOB "
        f"'*[^0-9.]*') THEN {n} / (CASE WHEN {n} >= 1e11 THEN 1000.0 ELSE 1.0 END) "
        f"ELSE (julianday({column}) - 2440587.5) * 86400.0 END)"
    )


class _Learned:
    def __init__(
        self, schema: SourceSchema, columns: dict[str, str], version: int, stamp: Any, indexed: set[str]
    ):
        self.schema = schema
        self.indexed = indexed  # columns some index starts with
        self.columns = columns  # our field -> quoted column, for the fields that exist
        self.version = version
        self.stamp = stamp
        self.at = time.monotonic()
        self.checked = self.at  # the last time a query confirmed it


class SQLiteTaskSource(SyncEngine):
    engine = "sqlite"

    def __init__(self, path: Path, mapping: TelemetryMapping):
        self.path = path
        self.mapping = mapping
        self.location = str(path)
        self._conn: sqlite3.Connection | None = None
        self._lock = threading.Lock()
        self._learned: _Learned | None = None

    # -- connection and schema -----------------------------------------------------------------------
    async def _run(self, work: Callable[[sqlite3.Connection, _Learned], T]) -> T:
        return await asyncio.to_thread(self._locked, work)

    def _locked(self, work: Callable[[sqlite3.Connection, _Learned], T]) -> T:
        with self._lock:
            try:
                conn = self._connection()
                return work(conn, self._current(conn))
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
                conn = sqlite3.connect(uri, uri=True, timeout=BUSY_TIMEOUT_MS / 1000, check_same_thread=False)
                conn.execute("PRAGMA query_only = 1")
            except sqlite3.Error as exc:
                raise UnavailableError(f"cannot open telemetry database {self.path}: {exc}") from exc
            self._conn = conn
        return self._conn

    def _current(self, conn: sqlite3.Connection) -> _Learned:
        version = conn.execute("PRAGMA schema_version").fetchone()[0]
        learned = self._learned
        if learned is None or learned.version != version or time.monotonic() - learned.at > RELEARN_SECONDS:
            learned = self._learned = self._learn(conn, version)
        learned.checked = time.monotonic()
        return learned

    def _table_columns(self, conn: sqlite3.Connection) -> list[str]:
        return [row[1] for row in conn.execute("SELECT * FROM pragma_table_info(?)", (self.mapping.table,))]

    def _learn(self, conn: sqlite3.Connection, version: int) -> _Learned:
        table = self.mapping.table
        present = set(self._table_columns(conn))
        if not present:
            tables = _tables(conn)
            raise UnavailableError(
                f"{self.path} has no table {table!r} (tables: {', '.join(tables[:20]) or 'none'}): set "
                '[telemetry] table = "<your table>" and map its columns under [telemetry.columns] '
                "(`self-improver telemetry check` suggests the block)"
            )
        columns = {f: quote(self.mapping.column(f)) for f in REQUIRED_FIELDS + OPTIONAL_FIELDS}
        missing = [f for f in REQUIRED_FIELDS if self.mapping.column(f) not in present]
        if missing:
            named = ", ".join(
                f"{f}" + (f" (mapped to {self.mapping.column(f)!r})" if f in self.mapping.columns else "")
                for f in missing
            )
            raise UnavailableError(
                f"the table {table!r} in {self.path} lacks required column(s) {named}: the minimum is "
                f"{table}({', '.join(REQUIRED_FIELDS)}); map yours under [telemetry.columns], e.g. "
                f'{missing[0]} = "<your column>" (its columns: {", ".join(sorted(present))})'
            )
        found = {f: q for f, q in columns.items() if self.mapping.column(f) in present}
        warnings = [
            f"[telemetry.columns] maps {f} to {self.mapping.column(f)!r}, which the table {table!r} does not "
            f"have (its columns: {', '.join(sorted(present))}): fix the name or drop the line"
            for f in OPTIONAL_FIELDS
            if f in self.mapping.columns and f not in found
        ]
        detection = self._sample_times(conn, found["created_at"])
        if detection.unreadable:
            warnings.append(
                f"{detection.unreadable} of {detection.sampled} sampled created_at values could not be read as "
                f"times (e.g. {detection.unreadable_example!r}): they fall in no window; store ISO 8601 or "
                "epoch seconds/milliseconds, or set [telemetry] timestamp_format"
            )
        if detection.encoding.kind in ("iso_mixed", "mixed"):
            warnings.append(
                f"created_at holds {detection.encoding.describe()}: answers are exact but every window reads "
                "each row through a conversion; store one format to make windows index-served"
            )
        indexed = _indexed_first_columns(conn, table)
        schema = SourceSchema(
            fields=frozenset(found),
            time=detection,
            time_indexed=self.mapping.column("created_at") in indexed,
            warnings=tuple(warnings),
        )
        return _Learned(schema, found, version, self._stamp(), indexed)

    def _sample_times(self, conn: sqlite3.Connection, column: str) -> Detection:
        """The encoding from the oldest and newest rows by rowid (each row once, however small the table)."""
        table = quote(self.mapping.table)
        sampled: dict[Any, Any] = {}
        try:
            for order in ("ASC", "DESC"):
                for rowid, value in conn.execute(
                    f"SELECT rowid, {column} FROM {table} WHERE {column} IS NOT NULL ORDER BY rowid {order} LIMIT {SAMPLE}"
                ):
                    sampled[rowid] = value
            values = list(sampled.values())
        except sqlite3.OperationalError:  # a view or WITHOUT ROWID table: take rows as they come
            values = [
                r[0]
                for r in conn.execute(
                    f"SELECT {column} FROM {table} WHERE {column} IS NOT NULL LIMIT {2 * SAMPLE}"
                )
            ]
        return detect_encoding(values, self.mapping.timestamp_format)

    async def schema(self) -> SourceSchema:
        """What the table offers; checked again at most every SCHEMA_RECHECK_SECONDS between queries."""
        learned = self._learned
        if learned is not None and time.monotonic() - learned.checked < SCHEMA_RECHECK_SECONDS:
            return learned.schema
        return await self._run(lambda conn, learned: learned.schema)

    # -- SQL pieces ------------------------------------------------------------------------------------
    def _table(self) -> str:
        return quote(self.mapping.table)

    @staticmethod
    def _window_sql(learned: _Learned, window: Window, params: dict[str, Any], prefix: str = "w") -> str:
        """`start <= created_at < end`, index-served wherever the encoding allows."""
        column = learned.columns["created_at"]
        encoding = learned.schema.time.encoding
        if encoding.exact_range:
            params[f"{prefix}_lo"], params[f"{prefix}_hi"] = (
                encoding.bound(window.start),
                encoding.bound(window.end),
            )
            return f"{column} >= :{prefix}_lo AND {column} < :{prefix}_hi"
        params[f"{prefix}_lo"] = window.start.timestamp()
        params[f"{prefix}_hi"] = window.end.timestamp()
        exact = f"{epoch_seconds_sql(column)} >= :{prefix}_lo AND {epoch_seconds_sql(column)} < :{prefix}_hi"
        if encoding.kind == "iso_mixed":  # all text: a wider text range still narrows the scan by index
            params[f"{prefix}_wlo"] = (window.start.replace(tzinfo=None) - _DAY).strftime("%Y-%m-%d")
            params[f"{prefix}_whi"] = (window.end.replace(tzinfo=None) + 2 * _DAY).strftime("%Y-%m-%d")
            return f"{column} >= :{prefix}_wlo AND {column} < :{prefix}_whi AND {exact}"
        return exact

    @staticmethod
    def _sort_key(learned: _Learned) -> str:
        column = learned.columns["created_at"]
        return column if learned.schema.time.encoding.exact_range else epoch_seconds_sql(column)

    @staticmethod
    def _before(learned: _Learned, moment: datetime, name: str, params: dict[str, Any]) -> str:
        """`created_at < moment` in the column's encoding (for day buckets and window halves)."""
        encoding = learned.schema.time.encoding
        if encoding.exact_range:
            params[name] = encoding.bound(moment)
            return f"{learned.columns['created_at']} < :{name}"
        params[name] = moment.timestamp()
        return f"{epoch_seconds_sql(learned.columns['created_at'])} < :{name}"

    def _agent_sql(self, learned: _Learned, agent: str | None, params: dict[str, Any]) -> str:
        if agent is None:
            return ""
        if "agent" not in learned.columns:
            raise_no_agent()
        params["agent"] = agent
        return f" AND {learned.columns['agent']} = :agent"

    def _or_null(self, learned: _Learned, name: str) -> str:
        return f"{learned.columns[name]} AS {name}" if name in learned.columns else f"NULL AS {name}"

    # -- the named questions -------------------------------------------------------------------------
    def _status_counts(
        self, conn: sqlite3.Connection, learned: _Learned, window: Window, agent: str | None
    ) -> dict[str, int]:
        params: dict[str, Any] = {}
        where = self._window_sql(learned, window, params) + self._agent_sql(learned, agent, params)
        status = learned.columns["status"]
        rows = conn.execute(
            f"SELECT {status}, COUNT(*) FROM {self._table()} WHERE {where} GROUP BY {status}", params
        ).fetchall()
        return {str(s): int(n) for s, n in rows}

    async def tasks(self, filters: TaskFilter, limit: int, after: tuple[Any, Any] | None) -> list[TaskRecord]:
        def work(conn: sqlite3.Connection, learned: _Learned) -> list[TaskRecord]:
            c = learned.columns
            params: dict[str, Any] = {"limit": limit}
            where = ["1 = 1"]
            encoding = learned.schema.time.encoding
            if filters.since is not None or filters.until is not None:
                lo = filters.since or datetime(1970, 1, 1, tzinfo=_UTC)
                hi = filters.until or datetime(9999, 1, 1, tzinfo=_UTC)
                where.append(self._window_sql(learned, Window(lo, hi, lo.date(), hi.date()), params))
            if filters.status is not None:
                where.append(f"{c['status']} = :status")
                params["status"] = filters.status
            if filters.error_contains:
                where.append(f"instr(lower({c['error']}), lower(:needle)) > 0")
                params["needle"] = filters.error_contains
            key = self._sort_key(learned)
            if after is not None:
                where.append(f"({key}, {c['id']}) < (:c_key, :c_id)")  # a row value: the index seeks to it
                params |= {"c_key": after[0], "c_id": after[1]}
            agent_sql = self._agent_sql(learned, filters.agent, params)
            optional = ", ".join(
                self._or_null(learned, n) for n in ("agent", "task_name", "duration_ms", "error_type")
            )
            rows = conn.execute(
                f"SELECT {c['id']}, {c['status']}, {c['created_at']}, {c['error']}, {optional}, {key} "
                f"FROM {self._table()} WHERE {' AND '.join(where)}{agent_sql} "
                f"ORDER BY {key} DESC, {c['id']} DESC LIMIT :limit",
                params,
            ).fetchall()
            return [
                TaskRecord(
                    id=r[0],
                    status=str(r[1]),
                    created_at=encoding.decode(r[2]) or decode_any(r[2]),
                    created_raw=r[2],
                    error=None if r[3] is None else str(r[3]),
                    agent=r[4],
                    task_name=r[5],
                    duration_ms=_number(r[6]),
                    error_type=r[7],
                    sort_key=r[8],
                )
                for r in rows
            ]

        return await self._run(work)

    def _statuses(self, conn: sqlite3.Connection, learned: _Learned, window: Window) -> list[str]:
        """The distinct stored statuses: a skip-scan of an index that starts with status (a few seeks),
        else the window's own status counts."""
        status = learned.columns["status"]
        if self.mapping.column("status") not in learned.indexed:
            return list(self._status_counts(conn, learned, window, None))
        table = self._table()
        rows = conn.execute(
            f"WITH RECURSIVE s(v) AS (SELECT MIN({status}) FROM {table} UNION ALL "
            f"SELECT (SELECT MIN({status}) FROM {table} WHERE {status} > s.v) FROM s WHERE s.v IS NOT NULL) "
            "SELECT v FROM s WHERE v IS NOT NULL LIMIT 1000"
        ).fetchall()
        return [str(r[0]) for r in rows]

    def _failed_page(
        self,
        conn: sqlite3.Connection,
        learned: _Learned,
        window: Window,
        statuses: list[str],
        batch: int,
        after: tuple[Any, Any] | None,
        skip: Callable[[list[Any]], set[Any]] | None = None,
    ) -> tuple[list[FailedTask], tuple[Any, Any] | None]:
        """One page of failed tasks; with `skip`, ids are read first (index only) and the texts of the
        tasks `skip` returns are never fetched (re-reading an overlap costs ids, not error texts)."""
        c = learned.columns
        params: dict[str, Any] = {f"s{i}": s for i, s in enumerate(statuses)} | {"batch": batch}
        marks = ", ".join(f":s{i}" for i in range(len(statuses)))
        key = self._sort_key(learned)
        where = f"{c['status']} IN ({marks}) AND {self._window_sql(learned, window, params)}"
        if after is not None:
            where += f" AND ({key}, {c['id']}) > (:a_key, :a_id)"
            params |= {"a_key": after[0], "a_id": after[1]}
        order = f"ORDER BY {key}, {c['id']} LIMIT :batch"
        details = (
            f"{c['id']}, {c['created_at']}, {c['error']}, {self._or_null(learned, 'error_type')}, "
            f"{self._or_null(learned, 'traceback')}, {self._or_null(learned, 'agent')}"
        )
        if skip is None:
            rows = conn.execute(
                f"SELECT {details}, {key} FROM {self._table()} WHERE {where} {order}", params
            ).fetchall()
            keys = [(r[6], r[0]) for r in rows]
        else:
            keys = [
                (r[1], r[0])
                for r in conn.execute(
                    f"SELECT {c['id']}, {key} FROM {self._table()} WHERE {where} {order}", params
                )
            ]
            known = skip([k[1] for k in keys])
            wanted = [k[1] for k in keys if k[1] not in known]
            rows = []
            for start in range(0, len(wanted), 500):
                chunk = wanted[start : start + 500]
                marks = ",".join("?" for _ in chunk)
                rows += conn.execute(
                    f"SELECT {details} FROM {self._table()} WHERE {c['id']} IN ({marks})", chunk
                ).fetchall()
        encoding = learned.schema.time.encoding
        found = []
        for r in rows:
            created = encoding.decode(r[1]) or decode_any(r[1])
            if created is None:
                continue
            found.append(FailedTask(r[0], created, _text(r[2]), _text(r[3]), _text(r[4]), _text(r[5])))
        nxt = keys[-1] if len(keys) == batch else None
        return found, nxt

    async def messages(self, ids: Sequence[Any], with_traceback: bool = False) -> dict[Any, TaskMessage]:
        if not ids:
            return {}

        def work(conn: sqlite3.Connection, learned: _Learned) -> dict[Any, TaskMessage]:
            c = learned.columns
            traceback = self._or_null(learned, "traceback") if with_traceback else "NULL AS traceback"
            metadata = self._or_null(learned, "metadata") if with_traceback else "NULL AS metadata"
            found: dict[Any, TaskMessage] = {}
            wanted = list(ids)
            for start in range(0, len(wanted), 500):
                chunk = wanted[start : start + 500]
                marks = ",".join("?" for _ in chunk)
                for r in conn.execute(
                    f"SELECT {c['id']}, {c['error']}, {traceback}, {metadata} FROM {self._table()} "
                    f"WHERE {c['id']} IN ({marks})",
                    chunk,
                ):
                    found[r[0]] = TaskMessage(r[0], _text(r[1]), _text(r[2]), _text(r[3]))
            return found

        return await self._run(work)

    async def duration_histogram(self, window: Window) -> DurationHistogram:
        def work(conn: sqlite3.Connection, learned: _Learned) -> DurationHistogram:
            c = learned.columns
            derived_ok = "started_at" in c and "finished_at" in c
            derived = (
                f"({epoch_seconds_sql(c['finished_at'])} - {epoch_seconds_sql(c['started_at'])}) * 1000.0"
                if derived_ok
                else None
            )
            if "duration_ms" in c and derived:
                expression = f"COALESCE({_numeric(c['duration_ms'])}, {derived})"
                source = "duration_ms, else started_at/finished_at"
            elif "duration_ms" in c:
                expression, source = _numeric(c["duration_ms"]), "duration_ms"
            elif derived:
                expression, source = derived, "started_at/finished_at"
            else:
                return DurationHistogram(source=None)
            params: dict[str, Any] = {}
            where = self._window_sql(learned, window, params)
            select = (
                f"SELECT {self._or_null(learned, 'task_name')}, {self._or_null(learned, 'agent')}, {{bin}} AS b, "
                f"COUNT(*) FROM (SELECT *, {expression} AS d FROM {self._table()} WHERE {where}) "
                "WHERE d >= 0 AND d < 1e15 GROUP BY 1, 2, 3"
            )
            try:
                rows = conn.execute(select.format(bin=duration_bin_sql("d")), params).fetchall()
            except sqlite3.OperationalError as exc:  # an SQLite built without math functions: bin here
                if "ln" not in str(exc):
                    raise
                exact = conn.execute(select.format(bin="CAST(ROUND(d) AS INTEGER)"), params).fetchall()
                rows = [(name, agent, duration_bin(ms), n) for name, agent, ms, n in exact]
            result = DurationHistogram(source=source)
            for name, agent, key, n in rows:
                result.add(name, agent, key, n)
            return result

        return await self._run(work)

    async def time_range(self) -> tuple[datetime | None, datetime | None]:
        def work(conn: sqlite3.Connection, learned: _Learned) -> tuple[datetime | None, datetime | None]:
            key = self._sort_key(learned)
            column = learned.columns["created_at"]
            row = conn.execute(
                f"SELECT MIN({key}), MAX({key}) FROM {self._table()} WHERE {column} IS NOT NULL"
            ).fetchone()
            if learned.schema.time.encoding.exact_range:
                decode = learned.schema.time.encoding.decode
                return decode(row[0]), decode(row[1])
            return tuple(decode_any(v, "epoch_s") if v is not None else None for v in row)  # type: ignore[return-value]

        return await self._run(work)

    async def change_token(self) -> Any:
        """Changes when another connection commits to the file (`PRAGMA data_version`) or it is replaced."""

        def work(conn: sqlite3.Connection, learned: _Learned) -> Any:
            return (
                id(conn),
                learned.stamp,
                learned.version,
                conn.execute("PRAGMA data_version").fetchone()[0],
            )

        return await self._run(work)

    # -- releases (issue #15): the bodies live in release_queries.py ------------------------------------
    async def task_releases(self, ids: Sequence[Any]) -> dict[Any, str]:
        from .release_queries import sqlite_task_releases

        return await sqlite_task_releases(self, ids)

    async def release_first_seen(self, window: Window) -> dict[str, datetime]:
        from .release_queries import sqlite_release_first_seen

        return await sqlite_release_first_seen(self, window)

    async def inspect(self) -> Inspection:
        return await asyncio.to_thread(self._inspect)

    def _inspect(self) -> Inspection:
        with self._lock:
            try:
                conn = self._connection()
                table = self.mapping.table
                present = self._table_columns(conn)
                reports = [
                    ColumnReport(f, self.mapping.column(f), self.mapping.column(f) in present)
                    for f in REQUIRED_FIELDS + OPTIONAL_FIELDS
                ]
                tables = _tables(conn)
                found = Inspection(self.location, table, bool(present), tables, reports, present)
                found.table_columns = {
                    name: [row[1] for row in conn.execute("SELECT * FROM pragma_table_info(?)", (name,))]
                    for name in tables[:500]
                }
                if not present:
                    return found
                q = quote
                found.rows = conn.execute(f"SELECT COUNT(*) FROM {q(table)}").fetchone()[0]
                status = self.mapping.column("status")
                if status in present:
                    found.statuses = {
                        str(s): int(n)
                        for s, n in conn.execute(
                            f"SELECT {q(status)}, COUNT(*) FROM {q(table)} GROUP BY 1 ORDER BY 2 DESC LIMIT 50"
                        )
                    }
                created = self.mapping.column("created_at")
                if created in present:
                    found.time = self._sample_times(conn, q(created))
                    kind = (
                        found.time.encoding.kind
                        if found.time.encoding.kind in ("epoch_s", "epoch_ms")
                        else None
                    )
                    first = last = None
                    unreadable = 0
                    for (value,) in conn.execute(
                        f"SELECT {q(created)} FROM {q(table)} WHERE {q(created)} IS NOT NULL"
                    ):
                        moment = decode_any(value, kind)
                        if moment is None:
                            unreadable += 1
                            found.unreadable_example = found.unreadable_example or str(value)[:80]
                            continue
                        first = moment if first is None or moment < first else first
                        last = moment if last is None or moment > last else last
                    found.unreadable_times, found.first, found.last = unreadable, first, last
                    found.time_indexes = [
                        name for name, cols in _indexes(conn, table).items() if cols and cols[0] == created
                    ]
                    if not found.time_indexes:
                        found.suggested_index = (
                            f"CREATE INDEX {q('idx_' + table + '_' + created)} ON {q(table)}({q(created)}"
                            + (f", {q(status)}" if status in present else "")
                            + ");"
                        )
                return found
            except sqlite3.OperationalError as exc:
                raise translate_sqlite_error(exc, self.path) from exc

    async def query(self, sql: str, params: Any, limit: int, time_limit: float) -> QueryResult:
        from .readonly_sql import query_telemetry

        return await query_telemetry(self.path, sql, params, limit, time_limit)

    def _close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None
            self._learned = None

    async def close(self) -> None:
        with self._lock:
            self._close()


# -- helpers -------------------------------------------------------------------------------------------
_DAY = timedelta(days=1)


def _numeric(column: str) -> str:
    """A duration column as a number: NULL for text that is not one (SQLite would read it as 0)."""
    return f"(CASE WHEN typeof({column}) IN ('integer', 'real') THEN {column} WHEN {column} GLOB '[0-9]*' AND {column} NOT GLOB '*[^0-9.]*' THEN CAST({column} AS REAL) END)"


def _text(value: Any) -> str | None:
    return None if value is None else str(value)


def _number(value: Any) -> float | None:
    try:
        return None if value is None else float(value)
    except (TypeError, ValueError):
        return None


def _tables(conn: sqlite3.Connection) -> list[str]:
    return [
        r[0]
        for r in conn.execute("SELECT name FROM sqlite_master WHERE type IN ('table', 'view') ORDER BY name")
    ]


def _indexes(conn: sqlite3.Connection, table: str) -> dict[str, list[str]]:
    found = {}
    for row in conn.execute("SELECT name FROM pragma_index_list(?)", (table,)):
        found[row[0]] = [
            r[0] for r in conn.execute("SELECT name FROM pragma_index_info(?) ORDER BY seqno", (row[0],))
        ]
    return found


def _indexed_first_columns(conn: sqlite3.Connection, table: str) -> set[str]:
    return {cols[0] for cols in _indexes(conn, table).values() if cols}


def raise_no_agent() -> None:
    from ..support.problems import ToolInputError

    raise ToolInputError(
        "this telemetry table has no `agent` column, so results cannot be filtered by agent: call again "
        'without agent, or map yours with [telemetry.columns] agent = "<your column>"'
    )


def translate_sqlite_error(exc: sqlite3.OperationalError, path: Path) -> Exception:
    text = str(exc)
    if "locked" in text or "busy" in text:
        return UnavailableError(
            f"telemetry database {path} stayed locked by another process for {BUSY_TIMEOUT_MS // 1000} s; "
            "retry in a moment, or make the writer use WAL mode so readers are not blocked"
        )
    return UnavailableError(f"telemetry database {path} could not be read: {text}")
