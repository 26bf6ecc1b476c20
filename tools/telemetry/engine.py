"""What every engine of the task-source boundary shares: the named questions that are the same loops
over an engine's own per-connection primitives (count a window by status, list the stored statuses, read
a page of failed tasks), the schema answer between checks, and reading a stored time. An engine
subclasses `SyncEngine` and implements those primitives and `_run`, which runs one unit of work with a
connection and what the engine learned of the table, in a thread."""

from __future__ import annotations

import functools
import time
from collections.abc import AsyncIterator, Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any, NoReturn, TypeVar

from .mapping import TelemetryMapping
from .models import TaskRow
from .source import DurationHistogram, FailedTask, SourceSchema, TaskRows
from .timestamps import MAX_EPOCH_MS, TimeEncoding, decode_any, parse_iso
from .windows import Window, utc_text

T = TypeVar("T")
SCHEMA_RECHECK_SECONDS = 2.0  # `schema()` trusts a check this recent (saves a thread hop per call)
Skip = Callable[[list[Any]], set[Any]]
Key = tuple[Any, Any]


@dataclass(frozen=True)
class FailedPageAsk:
    """One page of failed tasks to read: created in `window` with a stored status in `statuses`, at most
    `batch` of them after the (sort key, id) `after`; ids `skip` returns are left out unread."""

    window: Window
    statuses: list[str]
    batch: int
    after: Key | None
    skip: Skip | None = None


class SyncEngine:
    mapping: TelemetryMapping
    _learned: Any  # what the engine learned of the table (`.schema`, `.checked`), None before the first look

    async def _run(self, work: Callable[[Any, Any], T]) -> T:
        raise NotImplementedError

    def _status_counts(self, conn: Any, learned: Any, window: Window, agent: str | None) -> dict[str, int]:
        raise NotImplementedError

    def _statuses(self, conn: Any, learned: Any, window: Window) -> list[str]:
        raise NotImplementedError

    def _failed_batch(
        self, conn: Any, learned: Any, ask: FailedPageAsk
    ) -> tuple[list[FailedTask], Key | None]:
        """One page of failed tasks, oldest first, and the key of its last row (None: the last page)."""
        raise NotImplementedError

    def _failed_page(
        self,
        conn: Any,
        learned: Any,
        window: Window,
        statuses: list[str],
        batch: int,
        after: Key | None,
        skip: Skip | None = None,
    ) -> tuple[list[FailedTask], Key | None]:
        return self._failed_batch(conn, learned, FailedPageAsk(window, statuses, batch, after, skip))

    async def schema(self) -> SourceSchema:
        """What the table offers; checked again at most every SCHEMA_RECHECK_SECONDS between queries."""
        learned = self._learned
        if learned is not None and time.monotonic() - learned.checked < SCHEMA_RECHECK_SECONDS:
            return learned.schema  # type: ignore[no-any-return]
        return await self._run(lambda conn, learned: learned.schema)

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

    # -- releases (issue #15): the engines' queries live in release_queries.py -------------------------
    def _task_releases(self, conn: Any, learned: Any, ids: list[Any]) -> dict[Any, str]:
        raise NotImplementedError

    def _release_first_seen(self, conn: Any, learned: Any, window: Window) -> dict[str, datetime]:
        raise NotImplementedError

    async def task_releases(self, ids: Sequence[Any]) -> dict[Any, str]:
        """The release each of the given tasks ran on (tasks without one are left out)."""
        if not ids:
            return {}
        wanted = list(ids)

        def work(conn: Any, learned: Any) -> dict[Any, str]:
            has_release = "release" in learned.columns
            return self._task_releases(conn, learned, wanted) if has_release else {}

        return await self._run(work)

    async def release_first_seen(self, window: Window) -> dict[str, datetime]:
        """The earliest created_at of each release among the tasks created in `window`."""

        def work(conn: Any, learned: Any) -> dict[str, datetime]:
            has_release = "release" in learned.columns
            return self._release_first_seen(conn, learned, window) if has_release else {}

        return await self._run(work)

    async def failed_tasks(
        self, window: Window, batch: int = 5000, skip: Skip | None = None
    ) -> AsyncIterator[list[FailedTask]]:
        stored = await self._run(lambda conn, learned: self._statuses(conn, learned, window))
        statuses = self.mapping.failed_values(stored)
        if not statuses:
            return
        after: Key | None = None
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


def failed_tasks_from(
    rows: Sequence[Sequence[Any]], encoding: TimeEncoding, ident: Callable[[Any], Any] | None = None
) -> list[FailedTask]:
    """(id, created_at, error, error_type, traceback, agent, release) rows as failed tasks, ids through
    `ident`; rows whose time does not read are left out (they belong to no window); a blank release is none.

    The same tasks as `decode_time` and `text_or_none` per value would give, built in about a third of the
    time (a first refresh reads hundreds of thousands): canonical UTC text is read by one C call and kept
    as `created_text`, text values are not converted again."""
    found: list[FailedTask] = []
    append = found.append
    new, cls, parse = tuple.__new__, FailedTask, _fromisoformat
    for r in rows:
        created = r[1]
        text: str | None = None
        at: datetime | None = None
        if (  # canonical_time, inlined: most stores hold our canonical text
            type(created) is str
            and len(created) == 19
            and created[10] == " "
            and created[4] == created[7] == "-"
            and created[13] == created[16] == ":"
        ):
            try:
                at = parse(created + "+00:00")
                text = created
            except ValueError:
                pass
        if at is None:
            at = decode_time(encoding, created)
            if at is None:
                continue
        error, error_type, traceback, agent, release = r[2], r[3], r[4], r[5], r[6]
        if release is not None:
            release = str(release) if str(release).strip() else None
        task = (
            r[0] if ident is None else ident(r[0]),
            at,
            error if error is None or type(error) is str else str(error),
            error_type if error_type is None or type(error_type) is str else str(error_type),
            traceback if traceback is None or type(traceback) is str else str(traceback),
            agent if agent is None or type(agent) is str else str(agent),
            text,
            release,
        )
        append(new(cls, task))  # FailedTask(*task) without the named tuple's Python-level __new__
    return found


def canonical_time(value: Any) -> datetime | None:
    """`value` as an aware UTC instant when it is our canonical UTC text, `YYYY-MM-DD HH:MM:SS` (so
    `utc_text` of the answer is `value` itself), else None; `decode_time` gives the same instant.

    One C call: `fromisoformat` of the text with `+00:00` appended (`replace(tzinfo=UTC)` alone costs
    eight times the parse). It checks the digits and the ranges; the shape is checked here."""
    if (
        type(value) is not str
        or len(value) != 19
        or value[4] != "-"
        or value[7] != "-"
        or value[10] != " "
        or value[13] != ":"
        or value[16] != ":"
    ):
        return None
    try:
        return _fromisoformat(value + "+00:00")
    except ValueError:
        return None


_fromisoformat = datetime.fromisoformat


def decode_time(encoding: TimeEncoding, value: Any) -> datetime | None:
    """A stored created_at as an aware UTC instant (None when it is not a time).

    The same answer as `encoding.decode(value) or decode_any(value)`, with the common stored forms read
    directly: a datetime, and text holding a `-` (never epoch digits, so both decoders read it as ISO)."""
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    if type(value) is str and "-" in value:
        return parse_iso(value.strip())
    return encoding.decode(value) or decode_any(value)


def shown_time(encoding: TimeEncoding, value: Any) -> str:
    """A stored created_at as a page of tasks shows it: our canonical UTC text as stored (the common case:
    no parse), else the decoded instant as that text, else the stored value as text."""
    if type(value) is str and len(value) == 19 and value[10] == " " and value[4] == "-" and value[16] == ":":
        return value  # canonical shape; when its digits are no time, decoding fails and shows it as is too
    moment = decode_time(encoding, value)
    return str(value) if moment is None else utc_text(moment)


def task_page(rows: list[Any], limit: int, encoding: TimeEncoding) -> TaskRows:
    """A page from rows read with a limit one above `limit`: (id, status, created_at, error, agent,
    task_name, duration_ms, error_type[, sort key]), the text fields selected as text. Without a ninth
    column the stored created_at is the sort key (where it orders as time: no second copy to read)."""
    more = len(rows) > limit
    if more:
        rows = rows[:limit]
    if rows and len(rows[0]) > 8:
        key = rows[-1][8]
        rows = [r[:8] for r in rows]
    elif rows:
        key = rows[-1][2]
    shown = page_rows(rows, encoding)
    return TaskRows(shown, (key, shown[-1]["id"]) if more else None)


_PER_SECOND = {"epoch_s": 1, "epoch_ms": 1000}
_YEAR_10000 = 253_402_300_800


_MINUTE_TEXT = ["%02d:%02d:" % divmod(minute, 60) for minute in range(1440)]  # noqa: UP031
_SECOND_TEXT = ["%02d" % second for second in range(60)]  # noqa: UP031


@functools.lru_cache(maxsize=128)
def _day_text(day: int) -> str:
    """Day `day` after 1970-01-01 as `YYYY-MM-DD ` (a page's times fall on a few days)."""
    return (date(1970, 1, 1) + timedelta(days=day)).isoformat() + " "


def shown_times(encoding: TimeEncoding, values: list[Any]) -> list[str]:
    """`shown_time` of each value, the common stored forms (canonical text, whole epoch seconds or ms)
    without a function call or a datetime per value: epoch times cost a page ~15 us that way, not ~68
    (the same text as decoding, from day, minute and second tables)."""
    per_second = _PER_SECOND.get(encoding.kind)
    if per_second == 1:
        return [
            _day_text(v // 86400) + _MINUTE_TEXT[v % 86400 // 60] + _SECOND_TEXT[v % 60]
            if type(v) is int and 0 <= v < _YEAR_10000
            else shown_time(encoding, v)
            for v in values
        ]
    if per_second == 1000:
        return [
            _day_text((s := v // 1000) // 86400) + _MINUTE_TEXT[s % 86400 // 60] + _SECOND_TEXT[s % 60]
            if type(v) is int and 0 <= v < MAX_EPOCH_MS
            else shown_time(encoding, v)
            for v in values
        ]
    return [
        v
        if type(v) is str and len(v) == 19 and v[10] == " " and v[4] == "-" and v[16] == ":"
        else shown_time(encoding, v)
        for v in values
    ]


def page_rows(rows: Sequence[Sequence[Any]], encoding: TimeEncoding) -> list[TaskRow]:
    """(id, status, created_at, error, agent, task_name, duration_ms, error_type) rows as the dicts a
    page shows: ids as int or text, times as `shown_time`, durations as whole ms; the engine selected the
    text fields as text. Built for speed: a page is fifty of these around a ~60 us statement."""
    times = shown_times(encoding, [r[2] for r in rows])
    return [
        {
            "id": i if type(i) is int or type(i) is str else str(i),
            "status": s,
            "created_at": c,
            "error": e,
            "agent": a,
            "task_name": n,
            "duration_ms": d if d is None or type(d) is int else whole_ms(d),
            "error_type": et,
        }
        for (i, s, _, e, a, n, d, et), c in zip(rows, times, strict=True)
    ]


def whole_ms(value: Any) -> int | None:
    """A stored duration as whole milliseconds, as a page shows it; None when it is no finite number."""
    if type(value) is int:
        return value
    try:
        return int(float(value))
    except (TypeError, ValueError, OverflowError):
        return None


def duration_expression(
    measured: Any, derived: Any, coalesce: Callable[[Any, Any], Any]
) -> tuple[Any, str] | None:
    """The duration of a task in ms and where it comes from: the duration column, else the start and end
    times, else none (an engine's SQL pieces, combined by its `coalesce`)."""
    if measured is not None and derived is not None:
        return coalesce(measured, derived), "duration_ms, else started_at/finished_at"
    if measured is not None:
        return measured, "duration_ms"
    if derived is not None:
        return derived, "started_at/finished_at"
    return None


def histogram_from(rows: Iterable[Sequence[Any]], source: str) -> DurationHistogram:
    """(task_name, agent, bin, tasks) rows as a duration histogram whose durations came from `source`."""
    result = DurationHistogram(source=source)
    for name, agent, key, n in rows:
        result.add(name, agent, key, n)
    return result


def raise_no_agent() -> NoReturn:
    from ..support.problems import ToolInputError

    raise ToolInputError(
        "this telemetry table has no `agent` column, so results cannot be filtered by agent: call again "
        'without agent, or map yours with [telemetry.columns] agent = "<your column>"'
    )


def text_or_none(value: Any) -> str | None:
    """A stored value as text (drivers hand back numbers or bytes where text columns hold them)."""
    return None if value is None else str(value)
