"""The PostgreSQL engine's connections: a pool of read-only sessions, and what its errors mean to the user.

It exists so that the PostgreSQL task source holds the questions and this module how a question reaches
the server: every connection starts with `default_transaction_read_only = on`, a `statement_timeout`,
`TimeZone = UTC` and `DateStyle = ISO` and runs READ ONLY transactions; the pool is synchronous and
driven from worker threads (the same source serves the MCP server's event loop, the nightly command and
benchmarks, which each run their own loops), and short statements can go from the loop's own connection
(`postgres_loop`); a timeout, a table changed under the query or a lost server becomes an
`UnavailableError` that says what to do.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable
from typing import Any, TypeVar

from ..support.problems import UnavailableError
from .postgres_loop import LoopConnections

STATEMENT_TIMEOUT_MS = 60_000
T = TypeVar("T")


class PostgresConnections:
    """The connection half of `PostgresTaskSource`: `_run` hands work a pooled connection and what the
    source learned of the table (`_current`, the source's own)."""

    url: str
    location: str
    statement_timeout_ms: int
    _learned: Any

    def _open_connections(
        self, url: str, statement_timeout_ms: int, configure_loop: Callable[[Any], None] | None = None
    ) -> None:
        self.url = url
        self.statement_timeout_ms = statement_timeout_ms
        self._pool: Any = None
        self._lock = threading.Lock()
        self.raw_query_slots = threading.BoundedSemaphore(2)  # see postgres_sql.RAW_QUERY_SLOTS
        self._loop_connections = LoopConnections(url, self._connect_options(), configure_loop)

    def _current(self, conn: Any) -> Any:
        raise NotImplementedError

    def _connect_options(self) -> str:
        return (
            f"-c default_transaction_read_only=on -c statement_timeout={self.statement_timeout_ms} "
            "-c TimeZone=UTC -c DateStyle=ISO -c jit=off -c application_name=self-improver"
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
                        f"cannot connect to the telemetry database {self.location}: {reason(exc)}; check the URL, "
                        "that the server is up and the role may connect (password from the URL, PGPASSWORD or ~/.pgpass)"
                    ) from exc
            return self._pool

    async def _run(self, work: Callable[[Any, Any], T]) -> T:
        return await asyncio.to_thread(self._with_connection, work)

    async def _run_one(self, work: Callable[[Any, Any], T]) -> T:
        """`_run` for work that sends one statement (a page of tasks): outside a transaction block, so one
        round trip instead of three (BEGIN READ ONLY, the statement, ROLLBACK). The session's
        `default_transaction_read_only` makes the statement's own transaction read-only all the same."""
        return await asyncio.to_thread(self._with_connection, work, True)

    async def _fetch_on_loop(
        self, statement: Callable[[Any], tuple[Any, dict[str, Any]]]
    ) -> list[Any] | None:
        """The rows of one short statement sent from the event loop (`postgres_loop`); None when it
        should go to the pool instead: the loop's connection is busy or lost, or the table changed (the
        pool's path learns it again)."""
        import psycopg

        try:
            return await self._loop_connections.fetch(statement)
        except (psycopg.errors.UndefinedColumn, psycopg.errors.UndefinedTable):
            self._learned = None
            return None
        except psycopg.errors.QueryCanceled as exc:
            raise self._translated(exc) from exc
        except psycopg.OperationalError:
            return None  # the connection was lost (and dropped): the pool reconnects, or says why not

    def _with_connection(self, work: Callable[[Any, Any], T], one_statement: bool = False) -> T:
        import psycopg
        from psycopg.pq import TransactionStatus

        pool = self._pool_now()
        try:
            with pool.connection() as conn:
                learned = self._current(conn)
                if not one_statement or conn.info.transaction_status != TransactionStatus.IDLE:
                    return work(conn, learned)
                conn.autocommit = True
                try:
                    return work(conn, learned)
                finally:
                    if not conn.closed:
                        conn.autocommit = False
        except psycopg.Error as exc:
            translated = self._translated(exc)
            if translated is exc:
                raise
            raise translated from exc

    def _translated(self, exc: Exception) -> Exception:
        """A psycopg error as what it means to the user, and what to do."""
        import psycopg

        if isinstance(exc, psycopg.errors.QueryCanceled):
            return UnavailableError(
                f"the telemetry query ran past {self.statement_timeout_ms / 1000:.0f} s on {self.location} and was "
                "stopped: add the index `self-improver telemetry check` suggests, or narrow the window"
            )
        if isinstance(exc, psycopg.errors.UndefinedColumn | psycopg.errors.UndefinedTable):
            self._learned = None  # the table changed: learn it again next time
            return UnavailableError(f"the telemetry table changed while reading it: {reason(exc)}; retry")
        if isinstance(exc, psycopg.OperationalError):
            return UnavailableError(f"telemetry database {self.location} could not be read: {reason(exc)}")
        return exc

    async def close(self) -> None:
        self._loop_connections.close()
        with self._lock:
            pool, self._pool = self._pool, None
        if pool is not None:
            await asyncio.to_thread(pool.close)


def _read_only(conn: Any) -> None:
    conn.read_only = True


def reason(exc: BaseException) -> str:
    """The first line of an error's text (its type when it has none)."""
    return str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
