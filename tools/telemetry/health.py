"""Warnings that travel with every telemetry answer, so a misread table is never a silent zero.

Each warning names the problem with figures and the setting that fixes it. Engines report what they
learned about the table (`SourceSchema.warnings`); these functions add what a window's counts reveal.
"""

from __future__ import annotations

from datetime import datetime

from .mapping import FAILURE_LIKE, TelemetryMapping
from .source import TelemetryStore
from .windows import Window, utc_text


def status_warnings(counts: dict[str, int], mapping: TelemetryMapping) -> list[str]:
    """Statuses that look like failures but are not in failed_statuses (with counts)."""
    unmapped = {s: n for s, n in counts.items() if not mapping.is_failed(s) and _looks_failed(s)}
    if not unmapped:
        return []
    listed = ", ".join(f"{s!r} ({n})" for s, n in sorted(unmapped.items(), key=lambda kv: -kv[1]))
    failed = sum(n for s, n in counts.items() if mapping.is_failed(s))
    suggestion = sorted({*mapping.failed_statuses, *unmapped}, key=str.lower)
    lead = (
        "no task in this window has a status in failed_statuses "
        f"{mapping.failed_statuses}, so failures read as 0"
        if failed == 0
        else f"only statuses {mapping.failed_statuses} count as failed"
    )
    return [
        f"{lead}, while statuses that look like failures occur: {listed}; if they are failures, set "
        f"[telemetry] failed_statuses = {_toml_list(suggestion)} (or SELF_IMPROVER_TELEMETRY__FAILED_STATUSES)"
    ]


def _looks_failed(status: str) -> bool:
    word = status.strip().lower().replace("-", "_").replace(" ", "_")
    return word in FAILURE_LIKE or any(part in FAILURE_LIKE for part in word.split("_"))


def _toml_list(values: list[str]) -> str:
    return "[" + ", ".join(f'"{v}"' for v in values) + "]"


async def empty_window_warnings(store: TelemetryStore, window: Window, total: int) -> list[str]:
    """An empty window while the table holds tasks elsewhere: say where the data is."""
    if total:
        return []
    first, last = await store.source.time_range()
    if first is None or last is None:
        return []
    if window.start <= last and window.end > first:
        return []
    return [
        f"no task has created_at in this window ({utc_text(window.start)} to {utc_text(window.end)} UTC), but "
        f"the table holds tasks from {_when(first)} to {_when(last)} UTC: ask for a window in that range, or "
        "check [telemetry] timestamp_format and the timezone if those dates look wrong"
    ]


def _when(moment: datetime) -> str:
    return utc_text(moment)


async def answer_warnings(
    store: TelemetryStore, window: Window | None, counts: dict[str, int] | None
) -> list[str]:
    """Everything a window's answer should warn about: the table's own problems, then the window's."""
    schema = await store.source.schema()
    found = list(schema.warnings)
    if counts is not None:
        found += status_warnings(counts, store.mapping)
        if window is not None:
            found += await empty_window_warnings(store, window, sum(counts.values()))
    return found
