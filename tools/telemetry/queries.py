"""The nightly questions as index-friendly queries: day summary, failure trend, task pages.

Each function takes a `TelemetryStore` and plain arguments and returns a result model; the MCP tools
are thin wrappers around these, and the demo and benchmarks call them directly.
"""

from __future__ import annotations

from datetime import UTC, timedelta
from typing import Any

from ..errors.redact import redact_secrets
from ..support.paging import decode_cursor, encode_cursor
from ..support.problems import ToolInputError
from .models import DaySummary, FailureTrend, TaskPage, TaskRow, TrendDay
from .schema import FAILED_STATUSES
from .store import TelemetryReader, TelemetryStore
from .windows import (
    Window,
    day_window,
    parse_timestamp,
    range_predicate,
    resolve_day,
    trailing_window,
    utc_text,
)

MAX_TEXT = 500
_FAILED_SQL = ", ".join(f"'{s}'" for s in FAILED_STATUSES)


def _rate(failed: int, total: int) -> float:
    return round(failed / total, 4) if total else 0.0


def _agent_filter(reader: TelemetryReader, agent: str | None, params: dict[str, Any]) -> str:
    """SQL for an optional agent filter; without an agent column the filter cannot apply."""
    if agent is None:
        return ""
    if not reader.has("agent"):
        raise ToolInputError(
            "this telemetry database has no `agent` column, so results cannot be filtered by agent: "
            "call again without agent"
        )
    params["agent"] = agent
    return " AND agent = :agent"


async def telemetry_summary(
    store: TelemetryStore, day: str = "today", agent: str | None = None
) -> DaySummary:
    local_day = resolve_day(day, store.tz, store.now())
    window = day_window(local_day, store.tz)
    params: dict[str, Any] = window.sql_params()
    async with store.connect() as reader:
        agent_sql = _agent_filter(reader, agent, params)
        rows = await reader.fetchall(
            f"SELECT status, COUNT(*) AS n FROM tasks WHERE {range_predicate()}{agent_sql} GROUP BY status",
            params,
        )
        unavailable = reader.unavailable(["agent"]) if agent is None else []
    counts = {str(r["status"]): int(r["n"]) for r in rows}
    total = sum(counts.values())
    failed = sum(counts.get(s, 0) for s in FAILED_STATUSES)
    return DaySummary(
        day=local_day.isoformat(),
        timezone=store.timezone,
        agent=agent,
        total=total,
        counts_by_status=dict(sorted(counts.items(), key=lambda kv: -kv[1])),
        failed=failed,
        failure_rate=_rate(failed, total),
        unavailable_fields=unavailable,
    )


async def failure_trend(
    store: TelemetryStore, days: int = 7, until: str | None = None, agent: str | None = None
) -> FailureTrend:
    window = trailing_window(days, until, store.tz, store.now())
    params: dict[str, Any] = window.sql_params()
    async with store.connect() as reader:
        agent_sql = _agent_filter(reader, agent, params)
        # Counted per UTC minute in SQL (strftime reads every created_at format and applies offsets), so
        # Python handles at most one row per minute of the window whatever the traffic; a minute lies in
        # one local day in every timezone (offsets are multiples of 15 minutes).
        rows = await reader.fetchall(
            f"SELECT strftime('%Y-%m-%d %H:%M', created_at) AS minute, COUNT(*) AS n, "
            f"SUM(status IN ({_FAILED_SQL})) AS failed FROM tasks "
            f"WHERE {range_predicate()}{agent_sql} GROUP BY minute",
            params,
        )
    totals: dict[str, list[int]] = {d.isoformat(): [0, 0] for d in window.days}
    for row in rows:
        local = parse_timestamp(row["minute"], UTC).astimezone(store.tz).date().isoformat()
        bucket = totals.setdefault(local, [0, 0])
        bucket[0] += int(row["n"])
        bucket[1] += int(row["failed"])
    partial_day = (
        window.last_day.isoformat() if window.end < day_window(window.last_day, store.tz).end else None
    )
    trend = [
        TrendDay(day=d, total=t, failed=f, failure_rate=_rate(f, t), partial=(d == partial_day))
        for d, (t, f) in sorted(totals.items())
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
        failure_rate=_rate(failed, total),
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
) -> TaskPage:
    """A page of tasks, newest first, with a keyset cursor for the next page."""
    params: dict[str, Any] = {"limit": limit + 1}
    where = ["1 = 1"]
    if since or until:
        start = parse_timestamp(since, store.tz) if since else store.now() - timedelta(days=36500)
        end = parse_timestamp(until, store.tz) if until else store.now() + timedelta(days=1)
        params |= Window(start, end, start.date(), end.date()).sql_params()
        where.append(range_predicate())
    if status:
        where.append("status = :status")
        params["status"] = status
    if error_contains:
        where.append("instr(lower(error), lower(:needle)) > 0")
        params["needle"] = error_contains
    if cursor:
        last_created, last_id = decode_cursor("tasks", cursor)
        where.append("(created_at < :c_created OR (created_at = :c_created AND id < :c_id))")
        params |= {"c_created": last_created, "c_id": last_id}
    async with store.connect() as reader:
        agent_sql = _agent_filter(reader, agent, params)
        optional = ["agent", "task_name", "duration_ms", "error_type"]
        columns = ", ".join(reader.column_or_null(c) for c in optional)
        rows = await reader.fetchall(
            f"SELECT id, status, created_at, error, {columns} FROM tasks "
            f"WHERE {' AND '.join(where)}{agent_sql} ORDER BY created_at DESC, id DESC LIMIT :limit",
            params,
        )
        unavailable = reader.unavailable(optional)
    has_more = len(rows) > limit
    page = rows[:limit]
    tasks = [
        TaskRow(
            id=r["id"],
            status=str(r["status"]),
            created_at=str(r["created_at"]),
            agent=r["agent"],
            task_name=r["task_name"],
            duration_ms=r["duration_ms"],
            error_type=r["error_type"],
            error=redact_secrets(r["error"])[:MAX_TEXT] if r["error"] else None,
        )
        for r in page
    ]
    next_cursor = encode_cursor("tasks", [page[-1]["created_at"], page[-1]["id"]]) if has_more else None
    return TaskPage(tasks=tasks, next_cursor=next_cursor, has_more=has_more, unavailable_fields=unavailable)
