"""Record an agent system's tasks: an async context manager and a decorator.

    recorder = TaskRecorder("telemetry.db", agent="email-agent")

    async with recorder.task("check_inbox", metadata={"mailbox": "ops"}):
        ...                                   # status running -> done, or failed with the exception

    @recorder.track()                          # task name = function name
    async def send_digest(): ...

Each task is inserted as `running` when it starts, so a crash that kills the process still leaves a
visible trace, and updated to `done` or `failed` (with duration, exception type, message and
traceback) when it ends. The exception is always re-raised: recording never changes behaviour.
Writes go through a worker thread, so the agent's event loop is not blocked by SQLite.
"""

from __future__ import annotations

import asyncio
import functools
import json
import sqlite3
import time
import traceback
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, ParamSpec, TypeVar

from .schema import open_writable, task_columns
from .windows import utc_text

P = ParamSpec("P")
R = TypeVar("R")


@dataclass
class RecordedTask:
    """Handle inside `async with recorder.task(...)`: add metadata while the task runs."""

    id: int
    metadata: dict[str, Any] = field(default_factory=dict)


class TaskRecorder:
    def __init__(self, db_path: str | Path, agent: str | None = None):
        self.db_path = str(db_path)
        self.agent = agent
        self._conn: sqlite3.Connection | None = None
        self._columns: set[str] = set()
        self._lock = asyncio.Lock()

    def _connection(self) -> sqlite3.Connection:
        if self._conn is None:
            self._conn = open_writable(self.db_path)
            self._columns = set(task_columns(self._conn))
        return self._conn

    def _write(self, values: dict[str, Any], task_id: int | None = None) -> int:
        conn = self._connection()
        values = {k: v for k, v in values.items() if k in self._columns}
        with conn:
            if task_id is None:
                cols = ", ".join(values)
                marks = ", ".join("?" for _ in values)
                cursor = conn.execute(f"INSERT INTO tasks ({cols}) VALUES ({marks})", list(values.values()))
                return int(cursor.lastrowid or 0)
            assignments = ", ".join(f"{k} = ?" for k in values)
            conn.execute(f"UPDATE tasks SET {assignments} WHERE id = ?", [*values.values(), task_id])
            return task_id

    async def _run(self, values: dict[str, Any], task_id: int | None = None) -> int:
        async with self._lock:
            return await asyncio.to_thread(self._write, values, task_id)

    @asynccontextmanager
    async def task(
        self, name: str, agent: str | None = None, metadata: dict[str, Any] | None = None
    ) -> AsyncIterator[RecordedTask]:
        started = datetime.now(UTC)
        clock = time.perf_counter()
        meta = dict(metadata or {})
        task_id = await self._run(
            {
                "status": "running",
                "created_at": utc_text(started),
                "started_at": utc_text(started),
                "agent": agent or self.agent,
                "task_name": name,
                "metadata": json.dumps(meta, default=str),
            }
        )
        handle = RecordedTask(id=task_id, metadata=meta)
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
        await self._run(values, handle.id)

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

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None
