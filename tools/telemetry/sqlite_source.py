"""The SQLite engine of the task-source boundary: a user's file, opened read-only, never altered.

The connection, the learned schema and where a read runs (worker thread, or inline for short reads) live
in `sqlite_connection`. The file is opened `mode=ro` with `PRAGMA query_only`, so no statement of ours
can change it. The SQL pieces live in `sqlite_windows`, the catalog and the full look of `telemetry
check` in `sqlite_inspect`.
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from .durations import duration_bin, duration_bin_sql
from .engine import (
    FailedPageAsk,
    Key,
    SyncEngine,
    failed_tasks_from,
    histogram_from,
    task_page,
    text_or_none,
)
from .models import QueryResult
from .source import (
    DurationHistogram,
    FailedTask,
    Inspection,
    TaskFilter,
    TaskMessage,
    TaskRows,
)
from .sqlite_connection import SQLiteReader
from .sqlite_inspect import inspect_table
from .sqlite_windows import (
    Learned,
    agent_sql,
    duration_sql,
    or_null,
    quote,
    sort_key,
    window_sql,
)
from .timestamps import decode_any
from .windows import Window

CHUNK = 500  # ids per `IN (...)` list
TEXT_FIELDS = ("status", "error", "agent", "task_name", "error_type")  # a page selects these as text


class SQLiteTaskSource(SQLiteReader, SyncEngine):
    engine = "sqlite"

    # -- SQL pieces (see sqlite_windows) -----------------------------------------------------------------
    def _table(self) -> str:
        return quote(self.mapping.table)

    _window_sql = staticmethod(window_sql)
    _sort_key = staticmethod(sort_key)

    # -- the named questions -------------------------------------------------------------------------
    def _status_counts(
        self, conn: sqlite3.Connection, learned: Learned, window: Window, agent: str | None
    ) -> dict[str, int]:
        params: dict[str, Any] = {}
        where = window_sql(learned, window, params) + agent_sql(learned, agent, params)
        status = learned.columns["status"]
        rows = conn.execute(
            f"SELECT {status}, COUNT(*) FROM {self._table()} WHERE {where} GROUP BY {status}", params
        ).fetchall()
        return {str(s): int(n) for s, n in rows}

    async def tasks(self, filters: TaskFilter, limit: int, after: Key | None) -> TaskRows:
        def work(conn: sqlite3.Connection, learned: Learned) -> TaskRows:
            c = learned.columns
            params: dict[str, Any] = {"limit": limit + 1}
            where = ["1 = 1"]
            if filters.since is not None or filters.until is not None:
                where.append(window_sql(learned, filters.span(), params))
            if filters.status is not None:
                where.append(f"{c['status']} = :status")
                params["status"] = filters.status
            if filters.error_contains:
                where.append(f"instr(lower({c['error']}), lower(:needle)) > 0")
                params["needle"] = filters.error_contains
            key = sort_key(learned)
            if after is not None:
                where.append(f"({key}, {c['id']}) < (:c_key, :c_id)")  # a row value: the index seeks to it
                params |= {"c_key": after[0], "c_id": after[1]}
            agent = agent_sql(learned, filters.agent, params)
            text = {
                n: f"CAST({c[n]} AS TEXT)" if n in c else "NULL" for n in TEXT_FIELDS
            }  # as the page shows
            rows = conn.execute(
                f"SELECT {c['id']}, {text['status']}, {c['created_at']}, {text['error']}, {text['agent']}, "
                f"{text['task_name']}, {c.get('duration_ms', 'NULL')}, {text['error_type']}"
                f"{'' if key == c['created_at'] else ', ' + key} "
                f"FROM {self._table()} WHERE {' AND '.join(where)}{agent} "
                f"ORDER BY {key} DESC, {c['id']} DESC LIMIT :limit",
                params,
            ).fetchall()
            return task_page(rows, limit, learned.schema.time.encoding)

        if filters.error_contains:
            return await self._run(work)  # a text search reads every row it passes: never inline
        shape = (filters.status is None, filters.agent is None, filters.since is None, filters.until is None)
        return await self._run_short(shape, work)

    def _statuses(self, conn: sqlite3.Connection, learned: Learned, window: Window) -> list[str]:
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

    def _failed_batch(
        self, conn: sqlite3.Connection, learned: Learned, ask: FailedPageAsk
    ) -> tuple[list[FailedTask], Key | None]:
        """Ids are read first (index only), then the texts of the tasks `skip` does not return: re-reading
        an overlap costs ids, not error texts, and with several failed statuses the page is sorted, which
        index-only rows keep cheap (full rows would be read for every remaining task of the window)."""
        c = learned.columns
        params: dict[str, Any] = {f"s{i}": s for i, s in enumerate(ask.statuses)} | {"batch": ask.batch}
        marks = ", ".join(f":s{i}" for i in range(len(ask.statuses)))
        key = sort_key(learned)
        where = f"{c['status']} IN ({marks}) AND {window_sql(learned, ask.window, params)}"
        if ask.after is not None:
            where += f" AND ({key}, {c['id']}) > (:a_key, :a_id)"
            params |= {"a_key": ask.after[0], "a_id": ask.after[1]}
        order = f"ORDER BY {key}, {c['id']} LIMIT :batch"
        details = (
            f"{c['id']}, {c['created_at']}, {c['error']}, {or_null(learned, 'error_type')}, "
            f"{or_null(learned, 'traceback')}, {or_null(learned, 'agent')}, {or_null(learned, 'release')}"
        )
        keys = conn.execute(f"SELECT {c['id']}, {key} FROM {self._table()} WHERE {where} {order}", params)
        listed = keys.fetchall()
        ids = [k[0] for k in listed]
        known = ask.skip(ids) if ask.skip is not None else None
        rows = self._by_id(conn, [i for i in ids if i not in known] if known else ids, details)
        last = (listed[-1][1], listed[-1][0]) if len(listed) == ask.batch else None
        return failed_tasks_from(rows, learned.schema.time.encoding), last

    def _by_id(self, conn: sqlite3.Connection, ids: list[Any], columns: str) -> list[Any]:
        """`columns` of the rows with the given ids, CHUNK ids a statement."""
        id_column = quote(self.mapping.column("id"))
        rows: list[Any] = []
        for start in range(0, len(ids), CHUNK):
            chunk = ids[start : start + CHUNK]
            marks = ",".join("?" for _ in chunk)
            rows += conn.execute(
                f"SELECT {columns} FROM {self._table()} WHERE {id_column} IN ({marks})", chunk
            ).fetchall()
        return rows

    async def messages(self, ids: Sequence[Any], with_traceback: bool = False) -> dict[Any, TaskMessage]:
        if not ids:
            return {}

        def work(conn: sqlite3.Connection, learned: Learned) -> dict[Any, TaskMessage]:
            c = learned.columns
            traceback = or_null(learned, "traceback") if with_traceback else "NULL AS traceback"
            metadata = or_null(learned, "metadata") if with_traceback else "NULL AS metadata"
            rows = self._by_id(conn, list(ids), f"{c['id']}, {c['error']}, {traceback}, {metadata}")
            return {
                r[0]: TaskMessage(r[0], text_or_none(r[1]), text_or_none(r[2]), text_or_none(r[3]))
                for r in rows
            }

        return await self._run(work)

    async def duration_histogram(self, window: Window) -> DurationHistogram:
        def work(conn: sqlite3.Connection, learned: Learned) -> DurationHistogram:
            chosen = duration_sql(learned)
            if chosen is None:
                return DurationHistogram(source=None)
            expression, source = chosen
            params: dict[str, Any] = {}
            select = (
                f"SELECT {or_null(learned, 'task_name')}, {or_null(learned, 'agent')}, {{bin}} AS b, "
                f"COUNT(*) FROM (SELECT *, {expression} AS d FROM {self._table()} "
                f"WHERE {window_sql(learned, window, params)}) WHERE d >= 0 AND d < 1e15 GROUP BY 1, 2, 3"
            )
            try:
                rows = conn.execute(select.format(bin=duration_bin_sql("d")), params).fetchall()
            except sqlite3.OperationalError as exc:  # an SQLite built without math functions: bin here
                if "ln" not in str(exc):
                    raise
                exact = conn.execute(select.format(bin="CAST(ROUND(d) AS INTEGER)"), params).fetchall()
                rows = [(name, agent, duration_bin(ms), n) for name, agent, ms, n in exact]
            return histogram_from(rows, source)

        return await self._run(work)

    async def time_range(self) -> tuple[datetime | None, datetime | None]:
        def work(conn: sqlite3.Connection, learned: Learned) -> tuple[datetime | None, datetime | None]:
            key = sort_key(learned)
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

        def work(conn: sqlite3.Connection, learned: Learned) -> Any:
            return (
                id(conn),
                learned.stamp,
                learned.version,
                conn.execute("PRAGMA data_version").fetchone()[0],
            )

        return await self._run(work)

    # -- releases (issue #15): the bodies live in release_queries.py ------------------------------------
    def _task_releases(self, conn: Any, learned: Any, ids: list[Any]) -> dict[Any, str]:
        from .release_queries import sqlite_task_releases

        return sqlite_task_releases(self, conn, learned, ids)

    def _release_first_seen(self, conn: Any, learned: Any, window: Window) -> dict[str, datetime]:
        from .release_queries import sqlite_release_first_seen

        return sqlite_release_first_seen(self, conn, learned, window)

    async def inspect(self) -> Inspection:
        return await asyncio.to_thread(self._inspect)

    def _inspect(self) -> Inspection:
        return self._waiting(lambda conn: inspect_table(conn, self.mapping, self.location))

    async def query(self, sql: str, params: Any, limit: int, time_limit: float) -> QueryResult:
        from .readonly_sql import query_telemetry

        return await query_telemetry(self.path, sql, params, limit, time_limit)
