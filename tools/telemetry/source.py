"""The task-source boundary: the named questions every domain asks of the user's telemetry.

`errors/`, `insights/`, `nightly/` and the telemetry tools call these methods and never write SQL
against the user's table. An engine (SQLite today; PostgreSQL, OTLP stores later) is one module that
implements `TaskSource`; `open_source` picks it from the location. Windows are UTC instants; engines
convert them to the column's own encoding so every window is an index-friendly range.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, tzinfo
from typing import TYPE_CHECKING, Any, NamedTuple, Protocol
from zoneinfo import ZoneInfo

from .mapping import TelemetryMapping
from .models import QueryResult, TaskRow
from .timestamps import Detection
from .windows import Window

if TYPE_CHECKING:
    from .day_counts import DayCountCache


@dataclass(frozen=True)
class SourceSchema:
    """What the mapped table offers, learned once and re-learned when the schema changes."""

    fields: frozenset[str]  # our field names that resolve to a column
    time: Detection  # the created_at column's encoding, from a sample of its values
    time_indexed: bool  # some index starts with the created_at column
    warnings: tuple[
        str, ...
    ] = ()  # problems every answer should carry (unreadable times, mapped columns gone)

    def has(self, name: str) -> bool:
        return name in self.fields

    def unavailable(self, wanted: Sequence[str]) -> list[str]:
        return [name for name in wanted if name not in self.fields]


@dataclass(frozen=True)
class TaskFilter:
    status: str | None = None
    agent: str | None = None
    since: datetime | None = None
    until: datetime | None = None
    error_contains: str | None = None

    def span(self) -> Window:
        """`since` to `until` as a window, an open end at 1970 or 9999."""
        lo = self.since or datetime(1970, 1, 1, tzinfo=UTC)
        hi = self.until or datetime(9999, 1, 1, tzinfo=UTC)
        return Window(lo, hi, lo.date(), hi.date())


class TaskRows(NamedTuple):
    """A page of tasks as an engine reads it: the rows it shows, each value already of its shown type
    (the page is not validated again), and the (sort key, id) the next page starts after, None on the
    last page."""

    rows: list[TaskRow]
    next_after: tuple[Any, Any] | None


class FailedTask(NamedTuple):
    """A failed task to cluster (a named tuple: a first refresh reads hundreds of thousands of them).

    `created_text` is `created_at` as our canonical UTC text (`YYYY-MM-DD HH:MM:SS`, `utc_text`'s answer)
    when the engine read it from a column that already stores that text, else None: a consumer that
    writes the time back as text can use it instead of formatting `created_at` again."""

    id: Any
    created_at: datetime
    error: str | None
    error_type: str | None
    traceback: str | None
    agent: str | None
    created_text: str | None = None
    release: str | None = None  # the release it ran on, when the table maps one (read with the task)


@dataclass(frozen=True)
class TaskMessage:
    id: Any
    error: str | None
    traceback: str | None = None
    metadata: str | None = None  # JSON text (OTLP spans keep their trace and span ids there)


@dataclass
class DurationHistogram:
    """Per operation (task_name, agent): duration (whole ms) -> number of tasks created in a window."""

    source: str | None  # which columns the durations came from; None when there are none
    operations: dict[tuple[Any, Any], dict[int, int]] = field(default_factory=dict)

    def add(self, task_name: Any, agent: Any, bin_key: Any, tasks: Any) -> None:
        bins = self.operations.setdefault((task_name, agent), {})
        bins[int(bin_key)] = bins.get(int(bin_key), 0) + int(tasks)


@dataclass(frozen=True)
class ColumnReport:
    field: str
    column: str
    found: bool


@dataclass
class Inspection:
    """A full look at the table for `self-improver telemetry check` (may scan the whole table)."""

    location: str
    table: str
    table_found: bool
    tables: list[str]
    columns: list[ColumnReport]
    all_columns: list[str]
    rows: int = 0
    statuses: dict[str, int] = field(default_factory=dict)
    time: Detection | None = None
    unreadable_times: int = 0
    unreadable_example: str | None = None  # one created_at value that is not a time, from the full scan
    first: datetime | None = None
    last: datetime | None = None
    time_indexes: list[str] = field(default_factory=list)
    suggested_index: str | None = None
    table_columns: dict[str, list[str]] = field(default_factory=dict)  # every table's columns, for guessing


class TaskSource(Protocol):
    """One engine's answers to the named questions. All windows are `[start, end)` in UTC."""

    engine: str
    location: str  # for messages: a path, or a URL with its password masked
    mapping: TelemetryMapping

    async def schema(self) -> SourceSchema: ...

    async def status_counts(self, window: Window, agent: str | None = None) -> dict[str, int]:
        """Tasks created in the window, by stored status value."""
        ...

    async def daily_status_counts(
        self, window: Window, day_starts: Sequence[datetime], agent: str | None = None
    ) -> list[tuple[int, str, int]]:
        """(bucket, status, count): bucket i holds tasks before day_starts[i], the last one the rest."""
        ...

    async def tasks(self, filters: TaskFilter, limit: int, after: tuple[Any, Any] | None) -> TaskRows:
        """At most `limit` tasks, newest first; `after` is the previous page's `next_after`."""
        ...

    def failed_tasks(
        self, window: Window, batch: int = 5000, skip: Callable[[list[Any]], set[Any]] | None = None
    ) -> AsyncIterator[list[FailedTask]]:
        """Failed tasks created in the window, in batches, oldest first; ids that `skip` returns (called in
        a worker thread with each batch's ids) are left out without reading their texts."""
        ...

    async def messages(self, ids: Sequence[Any], with_traceback: bool = False) -> dict[Any, TaskMessage]:
        """Error text (and traceback, metadata when asked) of the given task ids."""
        ...

    async def duration_histogram(self, window: Window) -> DurationHistogram:
        """Durations of the tasks created in the window, aggregated per operation and whole millisecond."""
        ...

    async def time_range(self) -> tuple[datetime | None, datetime | None]:
        """Oldest and newest created_at in the table."""
        ...

    async def change_token(self) -> Any:
        """A value that changes whenever the data may have changed (None: unknown, assume changed)."""
        ...

    async def task_releases(self, ids: Sequence[Any]) -> dict[Any, str]:
        """The release (version or commit) each given task ran on; tasks without one are left out, and
        a table without a `release` column answers {}."""
        ...

    async def release_first_seen(self, window: Window) -> dict[str, datetime]:
        """Each release of the tasks created in the window, with the earliest created_at among them."""
        ...

    async def inspect(self) -> Inspection: ...

    async def query(self, sql: str, params: Any, limit: int, time_limit: float) -> QueryResult:
        """One read-only statement of the engine's own SQL (an optional capability)."""
        ...

    async def close(self) -> None: ...


@dataclass
class TelemetryStore:
    """The user's telemetry as the domains see it: a task source, a timezone and a clock."""

    source: TaskSource
    timezone: str = "UTC"
    pinned_now: datetime | None = None
    day_counts: DayCountCache | None = None  # counts of finished days, kept in the data dir

    @property
    def tz(self) -> tzinfo:
        return ZoneInfo(self.timezone)

    @property
    def mapping(self) -> TelemetryMapping:
        return self.source.mapping

    def identity(self) -> str:
        """A short hash of where and how the telemetry is read (engine, location, mapping): derived data
        kept in the data dir (signatures, duration histograms) is only valid for the same identity."""
        import hashlib
        import json

        described = {
            "engine": self.source.engine,
            "location": self.source.location,
            "mapping": self.mapping.model_dump(mode="json"),
        }
        return hashlib.sha256(json.dumps(described, sort_keys=True).encode()).hexdigest()[:16]

    def now(self) -> datetime:
        """The configured clock: a pinned instant for demos and tests, the real time otherwise."""
        from datetime import UTC

        return self.pinned_now if self.pinned_now is not None else datetime.now(UTC)


def open_source(location: str | Any, mapping: TelemetryMapping | None = None) -> TaskSource:
    """The engine for a location: a `postgresql://` URL, else a SQLite file path."""
    from pathlib import Path

    from .locations import is_postgres

    mapping = mapping or TelemetryMapping.model_validate({})
    if is_postgres(str(location)):
        from .postgres_source import PostgresTaskSource

        return PostgresTaskSource(str(location), mapping)
    from .sqlite_source import SQLiteTaskSource

    return SQLiteTaskSource(Path(location), mapping)
