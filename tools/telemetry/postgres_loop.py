"""Short PostgreSQL statements on the event loop's own connection, without a worker thread.

A page of tasks is ~140 us on the server; handing it to a worker thread and back costs ~70 us on top, and
psycopg's socket waits in that thread ~70 us more. An asyncio connection per event loop sends it from
the loop itself instead: the loop keeps serving while the server answers, and nothing blocks. Each loop
gets one connection, opened on first use with the pool's session settings (read-only by default, the
statement timeout, UTC) and in autocommit, so one statement is one round trip. A second statement while
the first is in flight, or a loop connection that failed, goes to the pool in a worker thread instead
(`fetch` answers None); a connection whose statement was interrupted is closed, never reused half-read.
"""

from __future__ import annotations

import asyncio
import weakref
from collections.abc import Callable
from typing import Any


class LoopConnections:
    """One asyncio psycopg connection per event loop, for statements that are usually short."""

    def __init__(self, url: str, options: str, configure: Callable[[Any], None] | None = None):
        self._url = url
        self._options = options
        self._configure = configure  # called with each new connection (its loaders, say)
        self._by_loop: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, tuple[Any, Any]] = (
            weakref.WeakKeyDictionary()
        )  # loop -> (connection, its cursor)
        self._busy: weakref.WeakSet[asyncio.AbstractEventLoop] = weakref.WeakSet()
        self._failed: weakref.WeakSet[asyncio.AbstractEventLoop] = weakref.WeakSet()

    async def fetch(self, statement: Callable[[Any], tuple[Any, dict[str, Any]]]) -> list[Any] | None:
        """The rows of `statement(conn)` (its text and parameters) run on this loop's connection; None
        when that connection is busy or cannot be had (the caller then uses the pool). Errors of the
        statement itself are raised as psycopg raises them."""
        loop = asyncio.get_running_loop()
        if loop in self._busy or loop in self._failed:
            return None
        self._busy.add(loop)
        try:
            held = self._by_loop.get(loop)
            if held is None or held[0].closed:
                conn = await self._connect()
                if conn is None:
                    return None
                held = self._by_loop[loop] = (conn, conn.cursor())  # one cursor, reused: ~10 us a statement
            conn, cursor = held
            try:
                text, params = statement(conn)
                await cursor.execute(text, params)
                return await cursor.fetchall()  # type: ignore[no-any-return]
            except BaseException:
                self._drop(loop)  # interrupted or failed mid-statement: never reuse it half-read
                raise
        finally:
            self._busy.discard(loop)

    async def _connect(self) -> Any:
        import psycopg

        try:
            conn = await psycopg.AsyncConnection.connect(self._url, options=self._options, autocommit=True)
        except psycopg.Error:
            self._failed.add(asyncio.get_running_loop())  # the pool reports why, with its own advice
            return None
        if self._configure is not None:
            self._configure(conn)
        weakref.finalize(asyncio.get_running_loop(), _finish, conn)  # a loop gone unclosed: close it too
        return conn

    def _drop(self, loop: asyncio.AbstractEventLoop) -> None:
        held = self._by_loop.pop(loop, None)
        if held is not None:
            _finish(held[0])

    def close(self) -> None:
        """Close every loop's connection (from any thread or loop: libpq closes without waiting)."""
        for loop in list(self._by_loop):
            self._drop(loop)
        self._failed = weakref.WeakSet()


def _finish(conn: Any) -> None:
    if not conn.closed:
        conn.pgconn.finish()  # closing needs no round trip: works from any loop, or none
