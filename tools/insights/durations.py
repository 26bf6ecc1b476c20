"""Task durations per operation (task name and agent) for two adjacent windows, from any telemetry schema.

`duration_ms` is used when present; otherwise (or where it is null) the duration is derived from
`started_at`/`finished_at` with julianday(), which reads every timestamp format the store accepts.
Rows without a usable, non-negative duration are skipped; missing columns are reported, not guessed.
"""

from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from ..telemetry.store import TelemetryReader, TelemetryStore
from ..telemetry.windows import Window, range_predicate, utc_text

OperationKey = tuple[str | None, str | None]  # (task_name, agent)
_DERIVED = "(julianday(finished_at) - julianday(started_at)) * 86400000.0"


@dataclass
class Durations:
    source: str | None  # which columns the durations came from; None when there are none
    unavailable: list[str]
    now: dict[OperationKey, list[float]] = field(default_factory=lambda: defaultdict(list))
    baseline: dict[OperationKey, list[float]] = field(default_factory=lambda: defaultdict(list))


def duration_expression(reader: TelemetryReader) -> tuple[str | None, str | None]:
    """SQL for a task's duration in ms, and a name for its source; (None, None) when underivable."""
    derived = reader.has("started_at") and reader.has("finished_at")
    if reader.has("duration_ms") and derived:
        return f"COALESCE(duration_ms, {_DERIVED})", "duration_ms, else started_at/finished_at"
    if reader.has("duration_ms"):
        return "duration_ms", "duration_ms"
    if derived:
        return _DERIVED, "started_at/finished_at"
    return None, None


async def load_durations(
    store: TelemetryStore, baseline_start: datetime, split: datetime, end: datetime
) -> Durations:
    """Durations of tasks created in [baseline_start, split) (baseline) and [split, end) (now)."""
    window = Window(baseline_start, end, baseline_start.date(), end.date())
    async with store.connect() as reader:
        unavailable = reader.unavailable(["task_name", "agent", "duration_ms", "started_at", "finished_at"])
        expression, source = duration_expression(reader)
        result = Durations(source=source, unavailable=unavailable)
        if expression is None:
            return result
        params: dict[str, Any] = window.sql_params() | {"split": utc_text(split)}
        rows = await reader.fetchall(
            f"SELECT {reader.column_or_null('task_name')}, {reader.column_or_null('agent')}, "
            f"{expression} AS duration, julianday(created_at) >= julianday(:split) AS is_now "
            f"FROM tasks WHERE {range_predicate()}",
            params,
        )
    for row in rows:
        duration = _milliseconds(row["duration"])
        if duration is not None:
            target = result.now if row["is_now"] else result.baseline
            target[(row["task_name"], row["agent"])].append(duration)
    return result


def _milliseconds(value: Any) -> float | None:
    """A usable duration (numbers stored as text count too); None for null, garbage or negative."""
    try:
        duration = float(value)
    except (TypeError, ValueError):
        return None
    return duration if math.isfinite(duration) and duration >= 0 else None
