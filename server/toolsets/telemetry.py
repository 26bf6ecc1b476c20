"""Toolset `telemetry`: the seed questions of a nightly run, answered from the tasks table."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any, Literal

from mcp.server.mcpserver import Context
from pydantic import Field

from ...tools.telemetry import windows
from ...tools.telemetry.models import DaySummary, FailureTrend, QueryResult, TaskPage
from ...tools.telemetry.source import TelemetryStore
from ..context import resources
from ..lazy import lazy_import
from ..registry import READ_ONLY, Toolset
from .params import Agent, Cursor, Day, Days, Limit, Until

if TYPE_CHECKING:
    from ...tools.telemetry import queries
else:
    queries = lazy_import("self_improver.tools.telemetry.queries")


toolset = Toolset("telemetry", "Task-run telemetry: daily summary, failure trend, task pages, read-only SQL.")

Detail = Literal["brief", "full"]
BRIEF_ERROR_CHARS = 200  # find_tasks(detail="brief") cuts each error to this many characters


@toolset.tool(title="Daily task breakdown", annotations=READ_ONLY)
async def telemetry_summary(ctx: Context, day: Day = "today", agent: Agent = None) -> DaySummary:
    """One day's tasks counted by status, with the failure rate: the first question of a nightly run.

    Use day="yesterday" for last night, "today" for the day so far. Days follow the configured timezone.
    Example: telemetry_summary(day="yesterday").
    """
    return await queries.telemetry_summary(resources(ctx).telemetry, day=day, agent=agent)


@toolset.tool(title="Failure rate per day", annotations=READ_ONLY)
async def failure_trend(
    ctx: Context, days: Days = 7, until: Until = None, agent: Agent = None
) -> FailureTrend:
    """Total, failed and failure_rate per day, to see whether failures are rising.

    The window is `days` full days before `until`'s day, plus that day up to `until` (its row is
    partial). Example: failure_trend(days=14).
    """
    return await queries.failure_trend(resources(ctx).telemetry, days=days, until=until, agent=agent)


@toolset.tool(title="Find tasks", annotations=READ_ONLY)
async def find_tasks(
    ctx: Context,
    status: Annotated[str | None, Field(None, max_length=50, description="e.g. 'failed', 'done'.")] = None,
    agent: Agent = None,
    since: Annotated[
        str | None,
        Field(None, max_length=40, description="Earliest created_at: 'yesterday', a date or an ISO time."),
    ] = None,
    until: Annotated[
        str | None, Field(None, max_length=40, description="Exclusive end, same forms as since.")
    ] = None,
    error_contains: Annotated[
        str | None, Field(None, min_length=1, max_length=500, description="Text in the error, any case.")
    ] = None,
    limit: Annotated[Limit, Field(le=200, description="Tasks per page.")] = 20,
    cursor: Cursor = None,
    detail: Annotated[
        Detail, Field(description=f"brief: errors cut to {BRIEF_ERROR_CHARS} chars; full: 500.")
    ] = "brief",
) -> TaskPage:
    """Tasks newest first, filtered by status, agent, time and error text, one page at a time.

    Use it to see the single failures behind an error group. When has_more, call again with
    cursor=next_cursor and the same filters.
    Example: find_tasks(status="failed", error_contains="IMAP", since="yesterday").
    """
    telemetry = resources(ctx).telemetry
    return await queries.find_tasks(
        telemetry,
        status=status,
        agent=agent,
        since=_time_bound(since, "since", telemetry),
        until=_time_bound(until, "until", telemetry),
        error_contains=error_contains,
        limit=limit,
        cursor=cursor,
        error_chars=BRIEF_ERROR_CHARS if detail == "brief" else queries.MAX_TEXT,
    )


def _time_bound(value: str | None, param: str, telemetry: TelemetryStore) -> str | None:
    """since/until as find_tasks reads them: 'today'/'yesterday' become that local date; a time that
    does not read is refused here, naming the argument."""
    if value is None:
        return None
    if value.strip().lower() in windows.RELATIVE_DAYS:
        return windows.resolve_day(value, telemetry.tz, telemetry.now(), param=param).isoformat()
    windows.parse_timestamp(value, telemetry.tz, param=param)
    return value


@toolset.tool(title="Read-only SQL on telemetry", annotations=READ_ONLY)
async def query_telemetry(
    ctx: Context,
    sql: Annotated[str, Field(min_length=1, max_length=20_000, description="One SELECT or WITH ... SELECT.")],
    params: Annotated[
        list[Any] | dict[str, Any] | None,
        Field(None, description="Values for ? (a list) or :name (an object) placeholders."),
    ] = None,
    limit: Annotated[Limit, Field(le=1000, description="Most rows to return.")] = 200,
) -> QueryResult:
    """One read-only SQL statement on the telemetry database, for questions no other tool answers.

    Writes are refused; a time limit stops long queries. Filter on created_at ranges, not
    date(created_at), which scans the whole table.
    Example: query_telemetry(sql="SELECT status, COUNT(*) FROM tasks WHERE created_at >= ? GROUP BY status",
    params=["2026-02-15"]).
    """
    app = resources(ctx)
    return await app.telemetry.source.query(sql, params, limit, app.settings.query_timeout_seconds)
