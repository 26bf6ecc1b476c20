"""What every engine of the task-source boundary shares: the named questions that are the same loops
over an engine's own per-connection primitives (count a window by status, list the stored statuses, read
a page of failed tasks). An engine subclasses `SyncEngine` and implements those primitives and `_run`,
which runs one unit of work with a connection and what the engine learned of the table, in a thread."""

from __future__ import annotations

import functools
from collections.abc import AsyncIterator, Callable, Sequence
from datetime import datetime
from typing import Any, TypeVar

from .mapping import TelemetryMapping
from .source import FailedTask
from .windows import Window

T = TypeVar("T")


class SyncEngine:
    mapping: TelemetryMapping

    async def _run(self, work: Callable[[Any, Any], T]) -> T:
        raise NotImplementedError

    def _status_counts(self, conn: Any, learned: Any, window: Window, agent: str | None) -> dict[str, int]:
        raise NotImplementedError

    def _statuses(self, conn: Any, learned: Any, window: Window) -> list[str]:
        raise NotImplementedError

    def _failed_page(
        self,
        conn: Any,
        learned: Any,
        window: Window,
        statuses: list[str],
        batch: int,
        after: tuple[Any, Any] | None,
        skip: Callable[[list[Any]], set[Any]] | None = None,
    ) -> tuple[list[FailedTask], tuple[Any, Any] | None]:
        raise NotImplementedError

    async def status_counts(self, window: Window, agent: str | None = None) -> dict[str, int]:
        return await self._run(lambda conn, learned: self._status_counts(conn, learned, window, agent))

    async def daily_status_counts(
        self, window: Window, day_starts: Sequence[datetime], agent: str | None = None
    ) -> list[tuple[int, str, int]]:
        """One index range per day in one thread hop (a CASE per row over the window costs twice as much)."""
        bounds = [window.start, *day_starts, window.end]

        def work(conn: Any, learned: Any) -> list[tuple[int, str, int]]:
            found: list[tuple[int, str, int]] = []
            for bucket, (lo, hi) in enumerate(zip(bounds, bounds[1:], strict=False)):
                if hi > lo:
                    day = Window(lo, hi, lo.date(), hi.date())
                    counts = self._status_counts(conn, learned, day, agent)
                    found += [(bucket, s, n) for s, n in counts.items()]
            return found

        return await self._run(work)

    async def failed_tasks(
        self, window: Window, batch: int = 5000, skip: Callable[[list[Any]], set[Any]] | None = None
    ) -> AsyncIterator[list[FailedTask]]:
        stored = await self._run(lambda conn, learned: self._statuses(conn, learned, window))
        statuses = self.mapping.failed_values(stored)
        if not statuses:
            return
        after: tuple[Any, Any] | None = None
        while True:
            page, after = await self._run(
                functools.partial(
                    self._failed_page, window=window, statuses=statuses, batch=batch, after=after, skip=skip
                )
            )
            if page:
                yield page
            if after is None:
                return
