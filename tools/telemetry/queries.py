"""The nightly questions through the task-source boundary: day summary, failure trend, task pages.

Each function takes a `TelemetryStore` and plain arguments and returns a result model; the MCP tools
are thin wrappers around these, and the demo and benchmarks call them directly.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime
from typing import Any

from ..errors.redact import redact_each
from ..support.paging import decode_cursor, encode_cursor
from ..support.problems import ToolInputError
from .day_counts import daily_status_counts, window_status_counts
from .health import answer_warnings
from .models import DaySummary, FailureTrend, TaskPage, TrendDay
from .source import TaskFilter, TelemetryStore
from .windows import (
    Window,
    day_window,
    local_midnight,
    parse_timestamp,
    resolve_day,
    trailing_window,
    utc_text,
)

MAX_TEXT = 500


def rate(failed: int, total: int) -> float:
    return round(failed / total, 4) if total else 0.0


async def _check_agent(store: TelemetryStore, agent: str | None) -> list[str]:
    """Fields missing for the answer; an agent filter on a table without agents is refused."""
    schema = await store.source.schema()
    if agent is not None and not schema.has("agent"):
        raise ToolInputError(
            "this telemetry table has no `agent` column, so results cannot be filtered by agent: call again "
            'without agent, or map yours with [telemetry.columns] agent = "<your column>"'
        )
    return schema.unavailable(["agent"]) if agent is None else []


async def telemetry_summary(
    store: TelemetryStore, day: str = "today", agent: str | None = None
) -> DaySummary:
    local_day = resolve_day(day, store.tz, store.now())
    window = day_window(local_day, store.tz)
    unavailable = await _check_agent(store, agent)
    counts = await window_status_counts(store, window, agent)
    total = sum(counts.values())
    failed = sum(n for s, n in counts.items() if store.mapping.is_failed(s))
    return DaySummary(
        day=local_day.isoformat(),
        timezone=store.timezone,
        agent=agent,
        total=total,
        counts_by_status=dict(sorted(counts.items(), key=lambda kv: -kv[1])),
        failed=failed,
        failure_rate=rate(failed, total),
        unavailable_fields=unavailable,
        warnings=await answer_warnings(store, window, counts),
    )


def day_starts(window: Window, store: TelemetryStore) -> list[datetime]:
    """UTC instants at which each local day of the window after the first begins."""
    return [local_midnight(d, store.tz) for d in window.days[1:]]


async def failure_trend(
    store: TelemetryStore, days: int = 7, until: str | None = None, agent: str | None = None
) -> FailureTrend:
    window = trailing_window(days, until, store.tz, store.now())
    unavailable = await _check_agent(store, agent)
    rows = await daily_status_counts(store, window, day_starts(window, store), agent)
    names = [d.isoformat() for d in window.days]
    totals: dict[str, list[int]] = {d: [0, 0] for d in names}
    counts: dict[str, int] = defaultdict(int)
    for bucket, status, n in rows:
        entry = totals[names[min(bucket, len(names) - 1)]]
        entry[0] += n
        counts[status] += n
        if store.mapping.is_failed(status):
            entry[1] += n
    partial_day = names[-1] if window.end < day_window(window.last_day, store.tz).end else None
    trend = [
        TrendDay(day=d, total=t, failed=f, failure_rate=rate(f, t), partial=(d == partial_day))
        for d, (t, f) in totals.items()
    ]
    total = sum(d.total for d in trend)
    failed = sum(d.failed for d in trend)
    return FailureTrend(
        timezone=store.timezone,
        agent=agent,
        window_start=utc_text(window.start),
        window_end=utc_text(window.end),
        days=trend,
        total=total,
        failed=failed,
        failure_rate=rate(failed, total),
        unavailable_fields=unavailable,
        warnings=await answer_warnings(store, window, dict(counts)),
    )


async def find_tasks(
    store: TelemetryStore,
    status: str | None = None,
    agent: str | None = None,
    since: str | None = None,
    until: str | None = None,
    error_contains: str | None = None,
    limit: int = 50,
    cursor: str | None = None,
    error_chars: int = MAX_TEXT,
) -> TaskPage:
    """A page of tasks, newest first by time, with a keyset cursor for the next page; each error masked
    and cut to `error_chars` (ending in `…` when cut)."""
    await _check_agent(store, agent)
    filters = TaskFilter(
        status=status,
        agent=agent,
        since=parse_timestamp(since, store.tz) if since else None,
        until=parse_timestamp(until, store.tz) if until else None,
        error_contains=error_contains,
    )
    after: tuple[Any, Any] | None = None
    if cursor:
        key, last_id = decode_cursor("tasks", cursor)
        after = (key, last_id)
    page, next_after = await store.source.tasks(filters, limit, after)
    schema = await store.source.schema()
    for row, error in zip(page, redact_each([r["error"] for r in page], error_chars), strict=True):
        row["error"] = error
    # The engine built each row to the page's types: validating fifty rows again would cost a page about
    # half of its statement's time.
    return TaskPage.model_construct(
        tasks=page,
        next_cursor=encode_cursor("tasks", list(next_after)) if next_after else None,
        has_more=next_after is not None,
        unavailable_fields=schema.unavailable(["agent", "task_name", "duration_ms", "error_type"]),
        warnings=list(schema.warnings),
    )
