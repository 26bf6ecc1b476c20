"""The PostgreSQL engine of the task-source boundary: read-only by construction, same answers as SQLite.

Every connection starts with `default_transaction_read_only = on`, a `statement_timeout` and
`TimeZone = UTC`, and every query runs in a READ ONLY transaction. Mapped names are composed with
`psycopg.sql.Identifier`, never pasted. Windows compare the raw time column with bounds in its own
type: timestamptz/timestamp bind datetimes, epoch numbers bind numbers, ISO text binds text, so any
index on the column serves them.

A synchronous psycopg pool, driven from worker threads like the SQLite engine: the same source serves
the MCP server's event loop, the nightly command and benchmarks, which each run their own loops.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Any, TypeVar

from ..support.problems import UnavailableError
from .durations import BIN_OFFSET, EXACT_BELOW_MS, LOG_STEP
from .engine import SyncEngine
from .locations import masked_url
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
from .timestamps import Detection, TimeEncoding, decode_any, detect_encoding
from .windows import Window

SAMPLE = 1000
RELEARN_SECONDS = 300
SCHEMA_RECHECK_SECONDS = 2.0
STATEMENT_TIMEOUT_MS = 60_000
T = TypeVar("T")
_NUMERIC = ("smallint", "integer", "bigint", "numeric", "real", "double precision")


class _Learned:
    def __init__(
        self, schema: SourceSchema, columns: dict[str, Any], types: dict[str, str], indexed: set[str]
    ):
        self.schema = schema
        self.columns = columns  # our field -> sql.Identifier, for the fields that exist
        self.types = types  # our field -> the column's type (format_type)
        self.indexed = indexed  # our fields some index starts with
        self.at = time.monotonic()
        self.checked = self.at  # the last time a query confirmed it


class PostgresTaskSource(SyncEngine):
    engine = "postgresql"

    def __init__(self, url: str, mapping: TelemetryMapping, statement_timeout_ms: int = STATEMENT_TIMEOUT_MS):
        self.url = url
        self.mapping = mapping
        self.location = masked_url(url)
        self.statement_timeout_ms = statement_timeout_ms
        self._pool: Any = None
        self._lock = threading.Lock()
        self._learned: _Learned | None = None
        self.raw_query_slots = threading.BoundedSemaphore(2)  # see postgres_sql.RAW_QUERY_SLOTS

    # -- connections -------------------------------------------------------------------------------------
    def _connect_options(self) -> str:
        return (
            f"-c default_transaction_read_only=on -c statement_timeout={self.statement_timeout_ms} "
            "-c TimeZone=UTC -c jit=off -c application_name=self-improver"
        )

    def _pool_now(self) -> Any:
        with self._lock:
            if self._pool is None:
                from psycopg_pool import ConnectionPool

                self._pool = ConnectionPool(
                    self.url,
                    min_size=1,
                    max_size=6,
                    kwargs={"options": self._connect_options()},
                    configure=_read_only,
                    open=False,
                    name="self-improver-telemetry",
                )
                try:
                    self._pool.open(wait=True, timeout=10)
                except Exception as exc:
                    self._pool = None
                    raise UnavailableError(
                        f"cannot connect to the telemetry database {self.location}: {_reason(exc)}; check the URL, "
                        "that the server is up and the role may connect (password from the URL, PGPASSWORD or ~/.pgpass)"
                    ) from exc
            return self._pool

    async def _run(self, work: Callable[[Any, _Learned], T]) -> T:
        return await asyncio.to_thread(self._with_connection, work)

    def _with_connection(self, work: Callable[[Any, _Learned], T]) -> T:
        import psycopg

        pool = self._pool_now()
        try:
            with pool.connection() as conn:
                learned = self._current(conn)
                return work(conn, learned)
        except psycopg.errors.QueryCanceled as exc:
            raise UnavailableError(
                f"the telemetry query ran past {self.statement_timeout_ms / 1000:.0f} s on {self.location} and was "
                "stopped: add the index `self-improver telemetry check` suggests, or narrow the window"
            ) from exc
        except (psycopg.errors.UndefinedColumn, psycopg.errors.UndefinedTable) as exc:
            self._learned = None  # the table changed: learn it again next time
            raise UnavailableError(
                f"the telemetry table changed while reading it: {_reason(exc)}; retry"
            ) from exc
        except psycopg.OperationalError as exc:
            raise UnavailableError(
                f"telemetry database {self.location} could not be read: {_reason(exc)}"
            ) from exc

    # -- schema ------------------------------------------------------------------------------------------
    def _table_id(self) -> Any:
        from psycopg import sql

        return (
            sql.Identifier(*self.mapping.table.split(".", 1))
            if "." in self.mapping.table
            else sql.Identifier(self.mapping.table)
        )

    def _table_columns(self, conn: Any) -> dict[str, str]:
        from psycopg import sql

        regclass = sql.Literal(self._table_id().as_string(conn))
        rows = conn.execute(
            sql.SQL(
                "SELECT a.attname, format_type(a.atttypid, a.atttypmod) FROM pg_attribute a "
                "WHERE a.attrelid = to_regclass({}) AND a.attnum > 0 AND NOT a.attisdropped ORDER BY a.attnum"
            ).format(regclass)
        ).fetchall()
        return {name: kind for name, kind in rows}

    def _indexed_first(self, conn: Any) -> set[str]:
        from psycopg import sql

        regclass = sql.Literal(self._table_id().as_string(conn))
        rows = conn.execute(
            sql.SQL(
                "SELECT a.attname FROM pg_index i JOIN pg_attribute a ON a.attrelid = i.indrelid "
                "AND a.attnum = i.indkey[0] WHERE i.indrelid = to_regclass({})"
            ).format(regclass)
        ).fetchall()
        return {r[0] for r in rows}

    def _current(self, conn: Any) -> _Learned:
        learned = self._learned
        if learned is None or time.monotonic() - learned.at > RELEARN_SECONDS:
            learned = self._learned = self._learn(conn)
        learned.checked = time.monotonic()
        return learned

    def _learn(self, conn: Any) -> _Learned:
        from psycopg import sql

        table = self.mapping.table
        present = self._table_columns(conn)
        if not present:
            tables = [
                r[0]
                for r in conn.execute(
                    "SELECT table_schema || '.' || table_name FROM information_schema.tables WHERE table_schema NOT IN "
                    "('pg_catalog', 'information_schema') ORDER BY 1 LIMIT 30"
                )
            ]
            raise UnavailableError(
                f"{self.location} has no table {table!r} the role can see (tables: {', '.join(tables) or 'none'}): set "
                '[telemetry] table = "<your table>" and map its columns under [telemetry.columns] '
                "(`self-improver telemetry check` suggests the block)"
            )
        missing = [f for f in REQUIRED_FIELDS if self.mapping.column(f) not in present]
        if missing:
            named = ", ".join(
                f + (f" (mapped to {self.mapping.column(f)!r})" if f in self.mapping.columns else "")
                for f in missing
            )
            raise UnavailableError(
                f"the table {table!r} in {self.location} lacks required column(s) {named}: the minimum is "
                f"{table}({', '.join(REQUIRED_FIELDS)}); map yours under [telemetry.columns], e.g. "
                f'{missing[0]} = "<your column>" (its columns: {", ".join(sorted(present))})'
            )
        fields = [f for f in REQUIRED_FIELDS + OPTIONAL_FIELDS if self.mapping.column(f) in present]
        columns = {f: sql.Identifier(self.mapping.column(f)) for f in fields}
        types = {f: present[self.mapping.column(f)] for f in fields}
        warnings = [
            f"[telemetry.columns] maps {f} to {self.mapping.column(f)!r}, which the table {table!r} does not "
            f"have (its columns: {', '.join(sorted(present))}): fix the name or drop the line"
            for f in OPTIONAL_FIELDS
            if f in self.mapping.columns and f not in columns
        ]
        detection = self._detect(conn, columns["created_at"], types["created_at"])
        if detection.unreadable:
            warnings.append(
                f"{detection.unreadable} of {detection.sampled} sampled created_at values could not be read as "
                f"times (e.g. {detection.unreadable_example!r}): they fall in no window; store timestamptz, ISO "
                "8601 or epoch seconds/milliseconds, or set [telemetry] timestamp_format"
            )
        if detection.encoding.kind in ("iso_mixed", "mixed"):
            warnings.append(
                f"created_at holds {detection.encoding.describe()}: answers are exact but every window reads "
                "each row through a conversion; store one format (timestamptz is best)"
            )
        indexed_columns = self._indexed_first(conn)
        indexed = {f for f in fields if self.mapping.column(f) in indexed_columns}
        schema = SourceSchema(
            fields=frozenset(fields),
            time=detection,
            time_indexed="created_at" in indexed,
            warnings=tuple(warnings),
        )
        return _Learned(schema, columns, types, indexed)

    def _detect(self, conn: Any, column: Any, kind: str) -> Detection:
        from psycopg import sql

        if kind.startswith("timestamp with time zone"):
            return Detection(TimeEncoding("native"), 0, 0, None, {"timestamptz": 1})
        if kind.startswith("timestamp") or kind == "date":
            return Detection(TimeEncoding("native_naive"), 0, 0, None, {kind: 1})
        values: list[Any] = []
        for order in (sql.SQL("ASC"), sql.SQL("DESC")):
            values += [
                r[0]
                for r in conn.execute(
                    sql.SQL("SELECT {c} FROM {t} WHERE {c} IS NOT NULL ORDER BY ctid {o} LIMIT {n}").format(
                        c=column, t=self._table_id(), o=order, n=sql.Literal(SAMPLE)
                    )
                )
            ]
        detection = detect_encoding(values, self.mapping.timestamp_format)
        if kind in _NUMERIC and detection.encoding.kind in ("epoch_s", "epoch_ms"):
            encoding = TimeEncoding(detection.encoding.kind, "number")
            return Detection(
                encoding, detection.sampled, detection.unreadable, detection.unreadable_example, {}
            )
        return detection

    async def schema(self) -> SourceSchema:
        """What the table offers; checked again at most every SCHEMA_RECHECK_SECONDS between queries."""
        learned = self._learned
        if learned is not None and time.monotonic() - learned.checked < SCHEMA_RECHECK_SECONDS:
            return learned.schema
        return await self._run(lambda conn, learned: learned.schema)

    # -- SQL pieces --------------------------------------------------------------------------------------
    def _seconds(self, learned: _Learned, field: str) -> Any:
        """A time column as epoch seconds, whatever it holds; NULL where it does not read."""
        from psycopg import sql

        column, kind = learned.columns[field], learned.types[field]
        if kind.startswith("timestamp with time zone"):
            return sql.SQL("extract(epoch from {})").format(column)
        if kind.startswith("timestamp") or kind == "date":
            return sql.SQL("extract(epoch from {}::timestamp AT TIME ZONE 'UTC')").format(column)
        text = sql.SQL("{}::text").format(column)
        return sql.SQL(
            "(CASE WHEN {t} ~ '^[0-9]+(\\.[0-9]+)?$' THEN {t}::float8 / (CASE WHEN {t}::float8 >= 1e11 THEN 1000.0 "
            "ELSE 1.0 END) WHEN {t} ~ '^\\d{{4}}-\\d{{2}}-\\d{{2}}' THEN extract(epoch from {t}::timestamptz) END)"
        ).format(t=text)

    def _sort_key(self, learned: _Learned) -> Any:
        if learned.schema.time.encoding.exact_range:
            return learned.columns["created_at"]
        return self._seconds(learned, "created_at")

    def _window(self, learned: _Learned, window: Window, params: dict[str, Any], prefix: str = "w") -> Any:
        from psycopg import sql

        encoding = learned.schema.time.encoding
        key = self._sort_key(learned)
        if encoding.exact_range:
            params[f"{prefix}_lo"], params[f"{prefix}_hi"] = (
                encoding.bound(window.start),
                encoding.bound(window.end),
            )
        else:
            params[f"{prefix}_lo"], params[f"{prefix}_hi"] = window.start.timestamp(), window.end.timestamp()
        return sql.SQL("{k} >= {lo} AND {k} < {hi}").format(
            k=key, lo=sql.Placeholder(f"{prefix}_lo"), hi=sql.Placeholder(f"{prefix}_hi")
        )

    def _agent(self, learned: _Learned, agent: str | None, params: dict[str, Any]) -> Any:
        from psycopg import sql

        if agent is None:
            return sql.SQL("")
        if "agent" not in learned.columns:
            from .sqlite_source import raise_no_agent

            raise_no_agent()
        params["agent"] = agent
        return sql.SQL(" AND {} = %(agent)s").format(learned.columns["agent"])

    def _or_null(self, learned: _Learned, field: str, as_text: bool = True) -> Any:
        from psycopg import sql

        if field not in learned.columns:
            return sql.SQL("NULL")
        return sql.SQL("{}::text").format(learned.columns[field]) if as_text else learned.columns[field]

    # -- the named questions -----------------------------------------------------------------------------
    def _status_counts(
        self, conn: Any, learned: _Learned, window: Window, agent: str | None
    ) -> dict[str, int]:
        from psycopg import sql

        params: dict[str, Any] = {}
        where = sql.SQL("{}{}").format(
            self._window(learned, window, params), self._agent(learned, agent, params)
        )
        rows = conn.execute(
            sql.SQL("SELECT {s}::text, count(*) FROM {t} WHERE {w} GROUP BY 1").format(
                s=learned.columns["status"], t=self._table_id(), w=where
            ),
            params,
        ).fetchall()
        return {str(s): int(n) for s, n in rows}

    async def tasks(self, filters: TaskFilter, limit: int, after: tuple[Any, Any] | None) -> list[TaskRecord]:
        from psycopg import sql

        def work(conn: Any, learned: _Learned) -> list[TaskRecord]:
            c = learned.columns
            params: dict[str, Any] = {"limit": limit}
            where: list[Any] = [sql.SQL("TRUE")]
            if filters.since is not None or filters.until is not None:
                lo = filters.since or datetime(1970, 1, 1, tzinfo=UTC)
                hi = filters.until or datetime(9999, 1, 1, tzinfo=UTC)
                where.append(self._window(learned, Window(lo, hi, lo.date(), hi.date()), params))
            if filters.status is not None:
                where.append(sql.SQL("{}::text = %(status)s").format(c["status"]))
                params["status"] = filters.status
            if filters.error_contains:
                where.append(sql.SQL("strpos(lower({}::text), lower(%(needle)s)) > 0").format(c["error"]))
                params["needle"] = filters.error_contains
            key = self._sort_key(learned)
            if after is not None:
                where.append(
                    sql.SQL("({k}, {i}) < ({ck}, {ci})").format(  # a row comparison: the index seeks to it
                        k=key,
                        ck=self._typed(learned, "created_at", "c_key"),
                        i=c["id"],
                        ci=self._typed(learned, "id", "c_id"),
                    )
                )
                params |= {"c_key": after[0], "c_id": after[1]}
            agent = self._agent(learned, filters.agent, params)
            rows = conn.execute(
                sql.SQL(
                    "SELECT {i}, {s}::text, {c}, {e}::text, {a}, {n}, {d}, {et}, {k} FROM {t} WHERE {w}{ag} "
                    "ORDER BY {k} DESC, {i} DESC LIMIT %(limit)s"
                ).format(
                    i=c["id"],
                    s=c["status"],
                    c=c["created_at"],
                    e=c["error"],
                    a=self._or_null(learned, "agent"),
                    n=self._or_null(learned, "task_name"),
                    d=self._or_null(learned, "duration_ms", as_text=False),
                    et=self._or_null(learned, "error_type"),
                    k=key,
                    t=self._table_id(),
                    w=sql.SQL(" AND ").join(where),
                    ag=agent,
                ),
                params,
            ).fetchall()
            encoding = learned.schema.time.encoding
            return [
                TaskRecord(
                    id=_plain_id(r[0]),
                    status=str(r[1]),
                    created_at=_decode(encoding, r[2]),
                    created_raw=_plain(r[2]),
                    error=r[3],
                    agent=r[4],
                    task_name=r[5],
                    duration_ms=None if r[6] is None else float(r[6]),
                    error_type=r[7],
                    sort_key=_plain(r[8]),
                )
                for r in rows
            ]

        return await self._run(work)

    def _typed(self, learned: _Learned, field: str, name: str) -> Any:
        """A parameter cast to the column's own type (cursor values arrive as JSON text or numbers)."""
        from psycopg import sql

        kind = (
            "float8"
            if field == "created_at" and not learned.schema.time.encoding.exact_range
            else learned.types[field]
        )
        return sql.SQL("CAST({} AS {})").format(sql.Placeholder(name), sql.SQL(kind))

    def _statuses(self, conn: Any, learned: _Learned, window: Window) -> list[str]:
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

    def _failed_page(
        self,
        conn: Any,
        learned: _Learned,
        window: Window,
        statuses: list[str],
        batch: int,
        after: tuple[Any, Any] | None,
        skip: Callable[[list[Any]], set[Any]] | None = None,
    ) -> tuple[list[FailedTask], tuple[Any, Any] | None]:
        from psycopg import sql

        c = learned.columns
        params: dict[str, Any] = {"statuses": statuses, "batch": batch}
        key = self._sort_key(learned)
        where = sql.SQL("{s} = ANY(CAST(%(statuses)s AS {kind}[])) AND {w}").format(
            s=c["status"], kind=sql.SQL(learned.types["status"]), w=self._window(learned, window, params)
        )
        if after is not None:  # a row comparison, so the index seeks to the next page instead of filtering
            where = sql.SQL("{w} AND ({k}, {i}) > ({ak}, {ai})").format(
                w=where,
                k=key,
                i=c["id"],
                ak=self._typed(learned, "created_at", "a_key"),
                ai=self._typed(learned, "id", "a_id"),
            )
            params |= {"a_key": after[0], "a_id": after[1]}
        keys = conn.execute(
            sql.SQL("SELECT {i}, {k} FROM {t} WHERE {w} ORDER BY {k}, {i} LIMIT %(batch)s").format(
                i=c["id"], k=key, t=self._table_id(), w=where
            ),
            params,
        ).fetchall()
        ids = [_plain_id(r[0]) for r in keys]
        known = skip(ids) if skip else set()
        wanted = [i for i in ids if i not in known]
        rows = self._rows_by_id(
            conn,
            learned,
            wanted,
            sql.SQL("{i}, {c}, {e}::text, {et}, {tb}, {a}").format(
                i=c["id"],
                c=c["created_at"],
                e=c["error"],
                et=self._or_null(learned, "error_type"),
                tb=self._or_null(learned, "traceback"),
                a=self._or_null(learned, "agent"),
            ),
        )
        encoding = learned.schema.time.encoding
        found = []
        for r in rows:
            created = _decode(encoding, r[1])
            if created is not None:
                found.append(FailedTask(_plain_id(r[0]), created, r[2], r[3], r[4], r[5]))
        nxt = (keys[-1][1], keys[-1][0]) if len(keys) == batch else None
        return found, nxt

    def _rows_by_id(self, conn: Any, learned: _Learned, ids: list[Any], columns: Any) -> list[Any]:
        from psycopg import sql

        rows: list[Any] = []
        for start in range(0, len(ids), 1000):
            chunk = ids[start : start + 1000]
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

        def work(conn: Any, learned: _Learned) -> dict[Any, TaskMessage]:
            c = learned.columns
            traceback = self._or_null(learned, "traceback") if with_traceback else sql.SQL("NULL")
            metadata = self._or_null(learned, "metadata") if with_traceback else sql.SQL("NULL")
            rows = self._rows_by_id(
                conn,
                learned,
                list(ids),
                sql.SQL("{i}, {e}::text, {tb}, {m}").format(
                    i=c["id"], e=c["error"], tb=traceback, m=metadata
                ),
            )
            return {_plain_id(r[0]): TaskMessage(_plain_id(r[0]), r[1], r[2], r[3]) for r in rows}

        return await self._run(work)

    async def duration_histogram(self, window: Window) -> DurationHistogram:
        from psycopg import sql

        def work(conn: Any, learned: _Learned) -> DurationHistogram:
            c = learned.columns
            derived = None
            if "started_at" in c and "finished_at" in c:
                derived = sql.SQL("(({f}) - ({s})) * 1000.0").format(
                    f=self._seconds(learned, "finished_at"), s=self._seconds(learned, "started_at")
                )
            measured = None
            if "duration_ms" in c:
                measured = (
                    sql.SQL("{}::float8").format(c["duration_ms"])
                    if learned.types["duration_ms"] in _NUMERIC
                    else sql.SQL(
                        "(CASE WHEN {d}::text ~ '^[0-9]+(\\.[0-9]+)?$' THEN {d}::text::float8 END)"
                    ).format(d=c["duration_ms"])
                )
            if measured is not None and derived is not None:
                expression, origin = (
                    sql.SQL("COALESCE({}, {})").format(measured, derived),
                    "duration_ms, else started_at/finished_at",
                )
            elif measured is not None:
                expression, origin = measured, "duration_ms"
            elif derived is not None:
                expression, origin = derived, "started_at/finished_at"
            else:
                return DurationHistogram(source=None)
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
                    n=self._or_null(learned, "task_name"),
                    a=self._or_null(learned, "agent"),
                    e=expression,
                    t=self._table_id(),
                    w=self._window(learned, window, params),
                ),
                params,
            ).fetchall()
            result = DurationHistogram(source=origin)
            for name, agent, key, n in rows:
                result.add(name, agent, key, n)
            return result

        return await self._run(work)

    async def time_range(self) -> tuple[datetime | None, datetime | None]:
        from psycopg import sql

        def work(conn: Any, learned: _Learned) -> tuple[datetime | None, datetime | None]:
            key = self._sort_key(learned)
            row = conn.execute(
                sql.SQL("SELECT min({k}), max({k}) FROM {t}").format(k=key, t=self._table_id())
            ).fetchone()
            encoding = learned.schema.time.encoding
            if encoding.exact_range:
                return _decode(encoding, row[0]), _decode(encoding, row[1])
            return decode_any(row[0], "epoch_s"), decode_any(row[1], "epoch_s")

        return await self._run(work)

    async def change_token(self) -> Any:
        return None  # activity anywhere in the cluster moves PostgreSQL's counters: always look

    # -- releases (issue #15): the bodies live in release_queries.py ------------------------------------
    async def task_releases(self, ids: Sequence[Any]) -> dict[Any, str]:
        from .release_queries import postgres_task_releases

        return await postgres_task_releases(self, ids)

    async def release_first_seen(self, window: Window) -> dict[str, datetime]:
        from .release_queries import postgres_release_first_seen

        return await postgres_release_first_seen(self, window)

    async def inspect(self) -> Inspection:
        return await asyncio.to_thread(self._inspect)

    def _inspect(self) -> Inspection:
        from psycopg import sql

        pool = self._pool_now()
        with pool.connection() as conn:
            present = self._table_columns(conn)
            tables = [
                r[0]
                for r in conn.execute(
                    "SELECT CASE WHEN table_schema = current_schema() THEN table_name ELSE table_schema || '.' || "
                    "table_name END FROM information_schema.tables WHERE table_schema NOT IN ('pg_catalog', "
                    "'information_schema') ORDER BY 1 LIMIT 200"
                )
            ]
            reports = [
                ColumnReport(f, self.mapping.column(f), self.mapping.column(f) in present)
                for f in REQUIRED_FIELDS + OPTIONAL_FIELDS
            ]
            found = Inspection(
                self.location, self.mapping.table, bool(present), tables, reports, list(present)
            )
            table_columns: dict[str, list[str]] = {}
            for name in tables:
                rows = conn.execute(
                    "SELECT column_name FROM information_schema.columns WHERE table_schema || '.' || table_name = %s "
                    "OR (table_schema = current_schema() AND table_name = %s) ORDER BY ordinal_position",
                    (name, name),
                ).fetchall()
                table_columns[name] = [r[0] for r in rows]
            if hasattr(found, "table_columns"):
                found.table_columns = table_columns  # type: ignore[attr-defined]
            if not present:
                return found
            t = self._table_id()
            found.rows = conn.execute(sql.SQL("SELECT count(*) FROM {}").format(t)).fetchone()[0]
            status = self.mapping.column("status")
            if status in present:
                found.statuses = {
                    str(s): int(n)
                    for s, n in conn.execute(
                        sql.SQL(
                            "SELECT {s}::text, count(*) FROM {t} GROUP BY 1 ORDER BY 2 DESC LIMIT 50"
                        ).format(s=sql.Identifier(status), t=t)
                    )
                }
            created = self.mapping.column("created_at")
            if created in present:
                found.time = self._detect(conn, sql.Identifier(created), present[created])
                encoding = found.time.encoding
                first = last = None
                unreadable = 0
                example = None
                with conn.cursor(name="self_improver_check") as cursor:
                    cursor.itersize = 10_000
                    cursor.execute(
                        sql.SQL("SELECT {c} FROM {t} WHERE {c} IS NOT NULL").format(
                            c=sql.Identifier(created), t=t
                        )
                    )
                    for (value,) in cursor:
                        moment = _decode(encoding, value)
                        if moment is None:
                            unreadable += 1
                            example = example or str(value)[:80]
                            continue
                        first = moment if first is None or moment < first else first
                        last = moment if last is None or moment > last else last
                found.unreadable_times, found.first, found.last = unreadable, first, last
                if hasattr(found, "unreadable_example"):
                    found.unreadable_example = example  # type: ignore[attr-defined]
                found.time_indexes = [
                    r[0]
                    for r in conn.execute(
                        sql.SQL(
                            "SELECT c.relname FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid JOIN pg_attribute a "
                            "ON a.attrelid = i.indrelid AND a.attnum = i.indkey[0] WHERE i.indrelid = to_regclass({}) "
                            "AND a.attname = %s"
                        ).format(sql.Literal(t.as_string(conn))),
                        (created,),
                    )
                ]
                if not found.time_indexes:
                    found.suggested_index = (
                        sql.SQL("CREATE INDEX CONCURRENTLY {i} ON {t} ({c}{s});")
                        .format(
                            i=sql.Identifier(f"idx_{self.mapping.table.split('.')[-1]}_{created}"),
                            t=t,
                            c=sql.Identifier(created),
                            s=sql.SQL(", {}").format(sql.Identifier(status))
                            if status in present
                            else sql.SQL(""),
                        )
                        .as_string(conn)
                    )
            return found

    async def query(self, sql_text: str, params: Any, limit: int, time_limit: float) -> QueryResult:
        from .postgres_sql import run_readonly_query

        return await asyncio.to_thread(run_readonly_query, self, sql_text, params, limit, time_limit)

    async def close(self) -> None:
        with self._lock:
            pool, self._pool = self._pool, None
        if pool is not None:
            await asyncio.to_thread(pool.close)


def _read_only(conn: Any) -> None:
    conn.read_only = True


def _reason(exc: BaseException) -> str:
    return str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__


def _plain(value: Any) -> Any:
    """A value that travels in a JSON cursor: datetimes as ISO text, numerics as numbers."""
    from decimal import Decimal

    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, Decimal):
        return float(value)
    return value


def _plain_id(value: Any) -> Any:
    """Task ids as JSON-able values (uuid -> text), the same on every engine."""
    return value if isinstance(value, int | str) else str(value)


def _decode(encoding: TimeEncoding, value: Any) -> datetime | None:
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    return encoding.decode(value) or decode_any(value)
