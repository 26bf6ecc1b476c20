"""The PostgreSQL engine of the task-source boundary: read-only by construction, same answers as SQLite.

Every connection starts with `default_transaction_read_only = on`, a `statement_timeout` and
`TimeZone = UTC`, and every query runs in a READ ONLY transaction. Mapped names are composed with
`psycopg.sql.Identifier`, never pasted. Windows compare the raw time column with bounds in its own
type: timestamptz/timestamp bind datetimes, epoch numbers bind numbers, ISO text binds text, so any
index on the column serves them.

A synchronous psycopg pool, driven from worker threads like the SQLite engine: the same source serves
the MCP server's event loop, the nightly command and benchmarks, which each run their own loops. Pages of
tasks, sub-millisecond statements, go from each loop's own asyncio connection instead (`postgres_loop`).
The pool lives in `postgres_pool`, learning the table in `postgres_schema`, the SQL pieces in
`postgres_windows`, pages in `postgres_pages` and the full look of `telemetry check` in `postgres_inspect`.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from .durations import BIN_OFFSET, EXACT_BELOW_MS, LOG_STEP
from .engine import FailedPageAsk, Key, SyncEngine, decode_time, failed_tasks_from, histogram_from
from .locations import masked_url
from .mapping import TelemetryMapping
from .models import QueryResult
from .postgres_pages import canonical_times, page_params, page_records, page_sql
from .postgres_pool import STATEMENT_TIMEOUT_MS, PostgresConnections
from .postgres_schema import learn
from .postgres_windows import (
    Learned,
    agent_sql,
    duration,
    or_null,
    plain_id,
    seconds,
    sort_key,
    table_id,
    typed,
    window_sql,
)
from .source import DurationHistogram, FailedTask, Inspection, TaskFilter, TaskMessage, TaskRows
from .timestamps import decode_any
from .windows import Window

RELEARN_SECONDS = 300
CHUNK = 1000  # ids per `= ANY(...)` array


class PostgresTaskSource(PostgresConnections, SyncEngine):
    engine = "postgresql"

    def __init__(self, url: str, mapping: TelemetryMapping, statement_timeout_ms: int = STATEMENT_TIMEOUT_MS):
        self.mapping = mapping
        self.location = masked_url(url)
        self._learned: Learned | None = None
        self._open_connections(url, statement_timeout_ms, configure_loop=canonical_times)

    def _current(self, conn: Any) -> Learned:
        learned = self._learned
        if learned is None or time.monotonic() - learned.at > RELEARN_SECONDS:
            learned = self._learned = learn(conn, self.mapping, self.location)
        learned.checked = time.monotonic()
        return learned

    # -- SQL pieces (see postgres_windows) -----------------------------------------------------------------
    def _table_id(self) -> Any:
        return table_id(self.mapping.table)

    _seconds = staticmethod(seconds)
    _sort_key = staticmethod(sort_key)
    _window = staticmethod(window_sql)
    _agent = staticmethod(agent_sql)
    _or_null = staticmethod(or_null)
    _typed = staticmethod(typed)

    # -- the named questions -----------------------------------------------------------------------------
    def _status_counts(
        self, conn: Any, learned: Learned, window: Window, agent: str | None
    ) -> dict[str, int]:
        from psycopg import sql

        params: dict[str, Any] = {}
        where = sql.SQL("{}{}").format(window_sql(learned, window, params), agent_sql(learned, agent, params))
        rows = conn.execute(
            sql.SQL("SELECT {s}::text, count(*) FROM {t} WHERE {w} GROUP BY 1").format(
                s=learned.columns["status"], t=self._table_id(), w=where
            ),
            params,
        ).fetchall()
        return {str(s): int(n) for s, n in rows}

    async def tasks(self, filters: TaskFilter, limit: int, after: Key | None) -> TaskRows:
        def statement(conn: Any, learned: Learned) -> tuple[str, dict[str, Any]]:
            return page_sql(conn, learned, self._table_id(), filters, after), page_params(
                learned, filters, limit, after
            )

        def work(conn: Any, learned: Learned) -> TaskRows:
            return page_records(learned, conn.execute(*statement(conn, learned)).fetchall(), limit)

        learned = self._learned
        if learned is not None and time.monotonic() - learned.at <= RELEARN_SECONDS:  # else the pool learns
            rows = await self._fetch_on_loop(lambda conn: statement(conn, learned))
            if rows is not None:
                learned.checked = time.monotonic()  # the statement found every learned column
                return page_records(learned, rows, limit)
        return await self._run_one(work)

    def _statuses(self, conn: Any, learned: Learned, window: Window) -> list[str]:
        """Distinct statuses by a skip-scan of an index that starts with status, else the window's counts."""
        from psycopg import sql

        if "status" not in learned.indexed:
            return list(self._status_counts(conn, learned, window, None))
        rows = conn.execute(
            sql.SQL(
                "WITH RECURSIVE s(v) AS (SELECT min({c}) FROM {t} UNION ALL SELECT (SELECT min({c}) FROM {t} "
                "WHERE {c} > s.v) FROM s WHERE s.v IS NOT NULL) SELECT v::text FROM s WHERE v IS NOT NULL LIMIT 1000"
            ).format(c=learned.columns["status"], t=self._table_id())
        ).fetchall()
        return [r[0] for r in rows]

    def _failed_batch(
        self, conn: Any, learned: Learned, ask: FailedPageAsk
    ) -> tuple[list[FailedTask], Key | None]:
        from psycopg import sql

        c = learned.columns
        params: dict[str, Any] = {"statuses": ask.statuses, "batch": ask.batch}
        key = sort_key(learned)
        where = sql.SQL("{s} = ANY(CAST(%(statuses)s AS {kind}[])) AND {w}").format(
            s=c["status"], kind=sql.SQL(learned.types["status"]), w=window_sql(learned, ask.window, params)
        )
        if (
            ask.after is not None
        ):  # a row comparison, so the index seeks to the next page instead of filtering
            where = sql.SQL("{w} AND ({k}, {i}) > ({ak}, {ai})").format(
                w=where,
                k=key,
                i=c["id"],
                ak=typed(learned, "created_at", "a_key"),
                ai=typed(learned, "id", "a_id"),
            )
            params |= {"a_key": ask.after[0], "a_id": ask.after[1]}
        details = sql.SQL("{i}, {c}, {e}::text, {et}, {tb}, {a}, {r}").format(
            i=c["id"],
            c=c["created_at"],
            e=c["error"],
            et=or_null(learned, "error_type"),
            tb=or_null(learned, "traceback"),
            a=or_null(learned, "agent"),
            r=or_null(learned, "release"),
        )
        order = sql.SQL("ORDER BY {k}, {i} LIMIT %(batch)s").format(k=key, i=c["id"])
        table = self._table_id()
        if ask.skip is None:  # nothing to leave out: the page and its texts in one statement
            rows = conn.execute(
                sql.SQL("SELECT {d}, {k} FROM {t} WHERE {w} {o}").format(
                    d=details, k=key, t=table, w=where, o=order
                ),
                params,
            ).fetchall()
            last = (rows[-1][7], rows[-1][0]) if len(rows) == ask.batch else None
            return failed_tasks_from(rows, learned.schema.time.encoding, plain_id), last
        keys = conn.execute(
            sql.SQL("SELECT {i}, {k} FROM {t} WHERE {w} {o}").format(
                i=c["id"], k=key, t=table, w=where, o=order
            ),
            params,
        ).fetchall()
        ids = [plain_id(r[0]) for r in keys]
        known = ask.skip(ids)
        rows = self._rows_by_id(conn, learned, [i for i in ids if i not in known], details)
        found = failed_tasks_from(rows, learned.schema.time.encoding, plain_id)
        return found, (keys[-1][1], keys[-1][0]) if len(keys) == ask.batch else None

    def _rows_by_id(self, conn: Any, learned: Learned, ids: list[Any], columns: Any) -> list[Any]:
        from psycopg import sql

        rows: list[Any] = []
        for start in range(0, len(ids), CHUNK):
            chunk = ids[start : start + CHUNK]
            rows += conn.execute(
                sql.SQL("SELECT {cols} FROM {t} WHERE {i} = ANY(CAST(%(ids)s AS {kind}[]))").format(
                    cols=columns,
                    t=self._table_id(),
                    i=learned.columns["id"],
                    kind=sql.SQL(learned.types["id"]),
                ),
                {"ids": [str(i) for i in chunk]},
            ).fetchall()
        return rows

    async def messages(self, ids: Sequence[Any], with_traceback: bool = False) -> dict[Any, TaskMessage]:
        if not ids:
            return {}
        from psycopg import sql

        def work(conn: Any, learned: Learned) -> dict[Any, TaskMessage]:
            c = learned.columns
            traceback = or_null(learned, "traceback") if with_traceback else sql.SQL("NULL")
            metadata = or_null(learned, "metadata") if with_traceback else sql.SQL("NULL")
            columns = sql.SQL("{i}, {e}::text, {tb}, {m}").format(
                i=c["id"], e=c["error"], tb=traceback, m=metadata
            )
            rows = self._rows_by_id(conn, learned, list(ids), columns)
            return {plain_id(r[0]): TaskMessage(plain_id(r[0]), r[1], r[2], r[3]) for r in rows}

        return await self._run(work)

    async def duration_histogram(self, window: Window) -> DurationHistogram:
        from psycopg import sql

        def work(conn: Any, learned: Learned) -> DurationHistogram:
            chosen = duration(learned)
            if chosen is None:
                return DurationHistogram(source=None)
            expression, origin = chosen
            params: dict[str, Any] = {}
            binned = sql.SQL(
                "CASE WHEN d < {exact} THEN round(d::numeric)::int ELSE {offset} + floor(ln(d) / {step})::int END"
            ).format(
                exact=sql.Literal(EXACT_BELOW_MS), offset=sql.Literal(BIN_OFFSET), step=sql.Literal(LOG_STEP)
            )
            rows = conn.execute(
                sql.SQL(
                    "SELECT n, a, {b} AS b, count(*) FROM (SELECT {n} AS n, {a} AS a, {e} AS d FROM {t} WHERE {w}) x "
                    "WHERE d >= 0 AND d < 1e15 GROUP BY 1, 2, 3"
                ).format(
                    b=binned,
                    n=or_null(learned, "task_name"),
                    a=or_null(learned, "agent"),
                    e=expression,
                    t=self._table_id(),
                    w=window_sql(learned, window, params),
                ),
                params,
            ).fetchall()
            return histogram_from(rows, origin)

        return await self._run(work)

    async def time_range(self) -> tuple[datetime | None, datetime | None]:
        from psycopg import sql

        def work(conn: Any, learned: Learned) -> tuple[datetime | None, datetime | None]:
            row = conn.execute(
                sql.SQL("SELECT min({k}), max({k}) FROM {t}").format(k=sort_key(learned), t=self._table_id())
            ).fetchone()
            encoding = learned.schema.time.encoding
            if encoding.exact_range:
                return decode_time(encoding, row[0]), decode_time(encoding, row[1])
            return decode_any(row[0], "epoch_s"), decode_any(row[1], "epoch_s")

        return await self._run(work)

    async def change_token(self) -> Any:
        return None  # activity anywhere in the cluster moves PostgreSQL's counters: always look

    # -- releases (issue #15): the bodies live in release_queries.py ------------------------------------
    def _task_releases(self, conn: Any, learned: Any, ids: list[Any]) -> dict[Any, str]:
        from .release_queries import postgres_task_releases

        return postgres_task_releases(self, conn, learned, ids)

    def _release_first_seen(self, conn: Any, learned: Any, window: Window) -> dict[str, datetime]:
        from .release_queries import postgres_release_first_seen

        return postgres_release_first_seen(self, conn, learned, window)

    async def inspect(self) -> Inspection:
        return await asyncio.to_thread(self._inspect)

    def _inspect(self) -> Inspection:
        from .postgres_inspect import inspect_table

        with self._pool_now().connection() as conn:
            return inspect_table(conn, self.mapping, self.location)

    async def query(self, sql_text: str, params: Any, limit: int, time_limit: float) -> QueryResult:
        from .postgres_sql import run_readonly_query

        return await asyncio.to_thread(run_readonly_query, self, sql_text, params, limit, time_limit)
