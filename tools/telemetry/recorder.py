"""Record an agent system's tasks: an async context manager and a decorator.

    recorder = TaskRecorder("telemetry.db", agent="email-agent", release="v1.4.2")  # release optional

    async with recorder.task("check_inbox", metadata={"mailbox": "ops"}):
        ...                                   # status running -> done, or failed with the exception

    @recorder.track()                          # task name = function name
    async def send_digest(): ...

Each task is inserted as `running` when it starts, so a crash that kills the process still leaves a
visible trace, and updated to `done` or `failed` (with duration, exception type, message and
traceback) when it ends. The exception is always re-raised unchanged.

Recording never changes what the agent does: writes go through a background thread, the agent waits at
most `wait_seconds` for one, and a write that fails (database locked, disk full, file unwritable) is
logged (logger `self_improver.recorder`, stderr by default) and kept in a bounded in-memory queue. The
task body runs anyway; queued records are written, in order, on the next write after a short back-off,
by `flush()`, or at `close()`. Past `max_pending` queued records the oldest are dropped (logged).
"""

from __future__ import annotations

import asyncio
import functools
import json
import logging
import sqlite3
import threading
import time
import traceback
from collections import deque
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, ParamSpec, TypeVar

from .schema import BUSY_TIMEOUT_MS, open_writable, task_columns
from .windows import utc_text

P = ParamSpec("P")
R = TypeVar("R")

log = logging.getLogger("self_improver.recorder")

WAIT_SECONDS = 1.0  # longest the agent waits for one write before its task goes on
RETRY_AFTER_SECONDS = 2.0  # after a failed write, records are only queued for this long
MAX_PENDING = 1000  # queued records kept in memory; beyond this the oldest are dropped


@dataclass
class RecordedTask:
    """Handle inside `async with recorder.task(...)`: add metadata while the task runs.

    `id` is the row id, 0 while the start could not be written yet (it is set once it is).
    """

    id: int
    metadata: dict[str, Any] = field(default_factory=dict)
    _start: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)


@dataclass(eq=False)
class _Op:
    """One queued write: the task's insert, or the update that finishes it."""

    handle: RecordedTask
    values: dict[str, Any]
    insert: bool
    in_flight: bool = False
    waiters: list[tuple[asyncio.AbstractEventLoop, asyncio.Future[bool]]] = field(default_factory=list)


def _resolve(future: asyncio.Future[bool], written: bool) -> None:
    if not future.done():
        future.set_result(written)


def _notify(waiters: list[tuple[asyncio.AbstractEventLoop, asyncio.Future[bool]]], written: bool) -> None:
    for loop, future in waiters:
        try:
            loop.call_soon_threadsafe(_resolve, future, written)
        except RuntimeError:  # that loop is closed: nobody waits any more
            pass


class TaskRecorder:
    def __init__(
        self,
        db_path: str | Path,
        agent: str | None = None,
        wait_seconds: float = WAIT_SECONDS,
        max_pending: int = MAX_PENDING,
        release: str | None = None,
    ):
        self.db_path = str(db_path)
        self.agent = agent
        self.release = release  # the version or commit this process runs; stored with each task
        self.wait_seconds = wait_seconds
        self.max_pending = max_pending
        self._conn: sqlite3.Connection | None = None
        self._columns: set[str] = set()
        self._state = threading.Lock()  # guards the queue and the flags below
        self._pending: deque[_Op] = deque()
        self._draining = False
        self._retry_at = 0.0
        self.dropped = 0

    @property
    def pending(self) -> int:
        """Records waiting to be written."""
        with self._state:
            return len(self._pending)

    # -- writing (in a background thread) -------------------------------------------------------------

    def _connection(self) -> sqlite3.Connection:
        if self._conn is None:
            self._conn = open_writable(self.db_path)
            self._columns = set(task_columns(self._conn))
        return self._conn

    def _write(self, op: _Op) -> None:
        conn = self._connection()
        insert = op.insert or not op.handle.id  # an update whose insert was dropped writes the whole row
        values = op.values if not insert or op.insert else op.handle._start | op.values
        values = {k: v for k, v in values.items() if k in self._columns}
        with conn:
            if insert:
                cols = ", ".join(values)
                marks = ", ".join("?" for _ in values)
                cursor = conn.execute(f"INSERT INTO tasks ({cols}) VALUES ({marks})", list(values.values()))
                op.handle.id = int(cursor.lastrowid or 0)
            else:
                assignments = ", ".join(f"{k} = ?" for k in values)
                conn.execute(f"UPDATE tasks SET {assignments} WHERE id = ?", [*values.values(), op.handle.id])

    def _drain(self) -> bool:
        """Write queued records in order until none is left (True) or one fails (False).

        The caller has set `_draining`; this clears it when it returns.
        """
        while True:
            with self._state:
                if not self._pending:
                    self._draining = False
                    return True
                op = self._pending[0]
                op.in_flight = True
            try:
                self._write(op)
            except Exception as exc:  # whatever SQLite or the file system says, the agent goes on
                with self._state:
                    op.in_flight = False
                    self._draining = False
                    self._retry_at = time.monotonic() + RETRY_AFTER_SECONDS
                    waiters = [w for queued in self._pending for w in queued.waiters]
                    for queued in self._pending:
                        queued.waiters = []
                    count = len(self._pending)
                log.warning(
                    "recording to %s failed (%s: %s); %d task record(s) kept in memory, written on a later "
                    "write or at close()",
                    self.db_path,
                    type(exc).__name__,
                    exc,
                    count,
                )
                _notify(waiters, False)
                return False
            with self._state:
                self._pending.remove(op)
                waiters, op.waiters = op.waiters, []
            _notify(waiters, True)

    def _drop_oldest(self) -> None:
        """Called with `_state` held, when the queue is full."""
        victim = next((op for op in self._pending if not op.in_flight), None)
        if victim is None:
            return
        self._pending.remove(victim)
        self.dropped += 1
        _notify(victim.waiters, False)
        log.error(
            "recording to %s: more than %d task records queued; dropped the oldest (%d dropped so far)",
            self.db_path,
            self.max_pending,
            self.dropped,
        )

    def _submit(self, op: _Op) -> asyncio.Future[bool]:
        """Queue `op` and start a writer unless one runs or a failure is recent. The future says whether
        it was written (False: still queued, written later)."""
        loop = asyncio.get_running_loop()
        future: asyncio.Future[bool] = loop.create_future()
        with self._state:
            target = op
            if not op.insert and not op.handle.id:
                # The start is still queued: the finished task is written as one row.
                queued = next(
                    (q for q in self._pending if q.handle is op.handle and q.insert and not q.in_flight), None
                )
                if queued is not None:
                    queued.values |= op.values
                    target = queued
            if target is op:
                while len(self._pending) >= self.max_pending:
                    before = len(self._pending)
                    self._drop_oldest()
                    if len(self._pending) == before:
                        break
                self._pending.append(op)
            target.waiters.append((loop, future))
            start = not self._draining and time.monotonic() >= self._retry_at
            if start:
                self._draining = True
            elif not self._draining:
                future.set_result(False)  # backing off after a failure: queued without waiting
        if start:
            try:
                threading.Thread(target=self._drain, name="task-recorder", daemon=True).start()
            except RuntimeError as exc:
                with self._state:
                    self._draining = False
                log.warning("recording to %s deferred: no writer thread (%s)", self.db_path, exc)
                _resolve(future, False)
        return future

    async def _record(self, op: _Op) -> None:
        """Never raises for a recording failure; waits at most `wait_seconds`."""
        future = self._submit(op)
        try:
            await asyncio.wait_for(future, self.wait_seconds)
        except TimeoutError:
            pass  # still queued (the writer waits on a lock): written when the database lets it

    # -- the public API -------------------------------------------------------------------------------

    @asynccontextmanager
    async def task(
        self, name: str, agent: str | None = None, metadata: dict[str, Any] | None = None
    ) -> AsyncIterator[RecordedTask]:
        started = datetime.now(UTC)
        clock = time.perf_counter()
        meta = dict(metadata or {})
        start = {
            "status": "running",
            "created_at": utc_text(started),
            "started_at": utc_text(started),
            "agent": agent or self.agent,
            "task_name": name,
            "metadata": json.dumps(meta, default=str),
        }
        if self.release:
            start["release"] = self.release
        handle = RecordedTask(id=0, metadata=meta, _start=start)
        await self._record(_Op(handle, dict(start), insert=True))
        try:
            yield handle
        except BaseException as exc:
            await self._finish(handle, clock, exc)
            raise
        await self._finish(handle, clock, None)

    async def _finish(self, handle: RecordedTask, clock: float, exc: BaseException | None) -> None:
        values: dict[str, Any] = {
            "status": "done" if exc is None else "failed",
            "finished_at": utc_text(datetime.now(UTC)),
            "duration_ms": int((time.perf_counter() - clock) * 1000),
            "metadata": json.dumps(handle.metadata, default=str),
        }
        if exc is not None:
            values |= {
                "error_type": type(exc).__name__,
                "error": f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__,
                "traceback": "".join(traceback.format_exception(exc)),
            }
        await self._record(_Op(handle, values, insert=False))

    def track(
        self, name: str | None = None, agent: str | None = None
    ) -> Callable[[Callable[P, Awaitable[R]]], Callable[P, Awaitable[R]]]:
        """Decorate an async function so every call is recorded as a task."""

        def decorate(fn: Callable[P, Awaitable[R]]) -> Callable[P, Awaitable[R]]:
            @functools.wraps(fn)
            async def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
                async with self.task(name or fn.__name__, agent=agent):
                    return await fn(*args, **kwargs)

            return wrapper

        return decorate

    def _claim(self, wait_s: float) -> bool:
        """Become the writer (waiting up to `wait_s` for a running one to finish)."""
        give_up = time.monotonic() + wait_s
        while True:
            with self._state:
                if not self._draining:
                    self._draining = True
                    return True
            if time.monotonic() >= give_up:
                return False
            time.sleep(0.01)

    async def flush(self) -> int:
        """Write queued records now, ignoring the back-off; returns how many are still queued."""
        if await asyncio.to_thread(self._claim, BUSY_TIMEOUT_MS / 1000 + 1):
            await asyncio.to_thread(self._drain)
        return self.pending

    def close(self) -> None:
        """Write what is queued (waiting for the database as long as its busy timeout), then close."""
        if self._claim(BUSY_TIMEOUT_MS / 1000 + 1):
            self._drain()
            with self._state:
                self._draining = True  # no writer starts on a closed connection
        lost = self.pending
        if lost:
            log.error(
                "recording to %s: %d task record(s) could not be written and are lost", self.db_path, lost
            )
        if self._conn is not None:
            self._conn.close()
            self._conn = None
        with self._state:
            self._pending.clear()
            self._draining = False
