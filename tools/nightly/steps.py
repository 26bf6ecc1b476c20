"""The deterministic part of the nightly run as small steps, each allowed to fail on its own.

Order: cluster new failures (and learn the releases first seen), detect merged fixes, measure the
impact of each (a fixed or improved verdict marks its signature resolved; see `fix_steps`), measure the days, rank the errors, remember new and escalating signatures, look for
slow operations, list pull requests. A step that raises is recorded as failed with its message and
the next steps still run; a step whose input step failed is skipped and says so. The results keep
their telemetry warnings (`NightData.warnings` gathers them), except the one that only says no task
has arrived yet today, which at night is the normal state of a quiet system.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import Counter, defaultdict
from collections.abc import Callable
from datetime import date, timedelta
from typing import Any

from ..deploys.releases import learn_first_seen
from ..errors.redact import redact_secrets
from ..errors.refresh import refresh_signatures
from ..errors.reports import top_errors
from ..errors.results import ErrorGroup
from ..insights.slow import slow_operations
from ..memory.recall import recall
from ..support.problems import ToolInputError, UnavailableError
from ..telemetry.health import empty_window_warnings
from ..telemetry.models import DaySummary
from ..telemetry.queries import failure_trend, telemetry_summary
from ..telemetry.source import TelemetryStore
from ..telemetry.windows import Window, day_window, local_midnight, parse_timestamp, trailing_window
from .charts import CountSeries
from .fix_steps import IMPACT_DAYS, VERIFY_DAYS, detect_merged_fixes, impact_days, measure_merged_fixes
from .models import FindingNote, StepResult
from .night import Night, NightResources, Skip, Step, StepFn

__all__ = ["IMPACT_DAYS", "VERIFY_DAYS", "Night", "NightResources", "Skip", "Step", "StepFn", "impact_days"]

log = logging.getLogger(__name__)

WINDOW_DAYS = 7
TOP_LIMIT = 10
WATCH_LIMIT = 25
CHART_SIGNATURES = 6
FINDING_KIND = "nightly_observation"
FINDING_CONFIDENCE = 0.9
SOURCE = "self-improver nightly"


# -- the steps ---------------------------------------------------------------------------------------


async def cluster_new_failures(night: Night) -> str:
    errors = night.app.errors
    report = await refresh_signatures(night.app.telemetry, errors.signatures, night.source_root())
    night.data.refresh = report
    releases = await learn_first_seen(night.app.telemetry, errors.deploys) if errors.deploys else 0
    seen = f", {releases} release(s) seen for the first time" if releases else ""
    return f"{report.new_tasks} new failed task(s) clustered, {report.new_signatures} new signature(s){seen}"


async def measure_days(night: Night) -> str:
    store = night.app.telemetry
    night.data.yesterday = await telemetry_summary(store, day="yesterday")
    night.data.today = await _quiet_morning(store, await telemetry_summary(store, day="today"))
    night.data.trend = await failure_trend(
        store, days=night.data.chart_days, until=night.data.night.isoformat()
    )
    y = night.data.yesterday
    return f"yesterday {y.total} task(s), {y.failed} failed ({y.failure_rate * 100:.1f}%)"


async def _quiet_morning(store: TelemetryStore, today: DaySummary) -> DaySummary:
    """Today without tasks yet, all of them earlier: not a misread table (yesterday's and the trend's
    windows would say so), so the empty-window warning is dropped; data only after today still warns."""
    if today.total or not today.warnings:
        return today
    window = day_window(date.fromisoformat(today.day), store.tz)
    _, last = await store.source.time_range()
    if last is None or last >= window.start:
        return today
    expected = set(await empty_window_warnings(store, window, 0))
    return today.model_copy(update={"warnings": [w for w in today.warnings if w not in expected]})


async def rank_errors(night: Night) -> str:
    errors = night.app.errors
    night.data.top = await top_errors(errors, days=WINDOW_DAYS, limit=TOP_LIMIT)
    night.data.watch = await top_errors(
        errors, days=WINDOW_DAYS, limit=WATCH_LIMIT, states=["new", "escalating"], samples=1
    )
    tz, now = night.app.telemetry.tz, night.now
    recent = await asyncio.to_thread(
        errors.signatures.window_rows, trailing_window(WINDOW_DAYS, None, tz, now)
    )
    night.data.signatures_in_window = len({r["signature"] for r in recent})
    marks = errors.signatures.marks
    night.data.mutes = await asyncio.to_thread(marks.mutes_since, now - timedelta(days=1))
    night.data.series = await _daily_series(night, night.data.top.groups[:CHART_SIGNATURES])
    states = Counter(g.state for g in night.data.watch.groups)
    return (
        f"{night.data.signatures_in_window} signature(s) in {WINDOW_DAYS} days; "
        f"{states.get('escalating', 0)} escalating, {states.get('new', 0)} new"
    )


async def _daily_series(night: Night, groups: list[ErrorGroup]) -> list[CountSeries]:
    """Daily counts over the chart's complete days for the top signatures."""
    days = night.data.chart_dates
    tz = night.app.telemetry.tz
    window = Window(
        local_midnight(days[0], tz), local_midnight(days[-1] + timedelta(days=1), tz), days[0], days[-1]
    )
    rows = await asyncio.to_thread(night.app.errors.signatures.window_rows, window)
    wanted = {g.signature for g in groups}
    daily: dict[str, Counter[date]] = defaultdict(Counter)
    for row in rows:
        if row["signature"] in wanted:
            daily[row["signature"]][parse_timestamp(row["created_at"]).astimezone(tz).date()] += 1
    return [CountSeries(g.signature, g.title, [daily[g.signature].get(d, 0) for d in days]) for g in groups]


async def remember_watch_items(night: Night) -> str:
    groups = night.data.watch.groups if night.data.watch else []
    if not groups:
        raise Skip("no new or escalating signature tonight")
    for group in groups:
        night.data.findings.append(await asyncio.to_thread(_remember_group, night, group))
    created = sum(1 for f in night.data.findings if f.created)
    return f"{created} finding(s) remembered, {len(groups) - created} already remembered tonight"


def finding_for(night: Night, group: ErrorGroup) -> tuple[str, dict[str, Any]]:
    """The finding's evidence sentence and metadata for one new or escalating signature."""
    content = (
        f"Nightly run {night.data.night.isoformat()}: {group.state} error signature {group.signature} "
        f"({group.title}): {group.count} failure(s) in the last {WINDOW_DAYS} days and today, "
        f"{group.rate_per_1000} per 1000 tasks; first seen {group.first_seen} UTC, last seen "
        f"{group.last_seen} UTC; state {group.state}."
    )
    metadata: dict[str, Any] = {
        "signature": group.signature,
        "error_type": group.error_type,
        "occurrences": group.count,
        "rate_per_1000": group.rate_per_1000,
        "first_seen": group.first_seen,
        "last_seen": group.last_seen,
        "state": group.state,
        "kind": FINDING_KIND,
        "night": night.data.night.isoformat(),
    }
    if night.repo_name():
        metadata["repo"] = night.repo_name()
    return content, metadata


def _remember_group(night: Night, group: ErrorGroup) -> FindingNote:
    """Once per signature and night: a re-run finds tonight's finding and refreshes its numbers."""
    store = night.app.memory
    content, metadata = finding_for(night, group)
    identity = {"kind": FINDING_KIND, "night": metadata["night"]}
    found = recall(store, signature=group.signature, where=identity, top_k=1)
    existing = [f for f in found.findings if f.match == "signature"]
    if existing:
        numbers = {k: metadata[k] for k in ("occurrences", "rate_per_1000", "last_seen", "state")}
        store.update(existing[0].id, numbers, actor=SOURCE)
        return FindingNote(group.signature, group.title, group.state, existing[0].id, created=False)
    drafted = store.draft(content, FINDING_CONFIDENCE, metadata, source=SOURCE)
    result = store.remember(drafted)
    return FindingNote(group.signature, group.title, group.state, result.id, created=result.created)


async def find_slow_operations(night: Night) -> str:
    night.data.slow = await slow_operations(
        night.app.telemetry,
        days=WINDOW_DAYS,
        baseline_days=28,
        limit=10,
        only_flagged=True,
        cache=night.app.durations,
    )
    if night.data.slow.note:
        return night.data.slow.note
    return f"{night.data.slow.flagged_count} operation(s) flagged slower"


async def list_pull_requests(night: Night) -> str:
    if not night.app.settings.repos:
        raise Skip("no repositories are configured")
    listed = await night.app.pulls.list_pull_requests(state="all", limit=50)
    night.data.pulls = listed.pull_requests
    night.data.pulls_note = listed.note
    counts = night.data.counts()
    return f"{counts['open_prs']} open, {counts['prs_opened']} opened in the last 24 h"


STEPS: tuple[Step, ...] = (
    Step("cluster", "Cluster new failures", cluster_new_failures),
    Step("merged", "Detect merged fixes", detect_merged_fixes),
    Step("impact", "Measure merged fixes", measure_merged_fixes, needs=("merged",)),
    Step("days", "Measure the days", measure_days),
    Step("errors", "Rank errors", rank_errors, needs=("cluster",)),
    Step("findings", "Remember new and escalating signatures", remember_watch_items, needs=("errors",)),
    Step("slow", "Find slow operations", find_slow_operations),
    Step("pulls", "List pull requests", list_pull_requests),
)

StepObserver = Callable[[int, int, str, StepResult | None], None]


async def run_steps(
    night: Night,
    steps: tuple[Step, ...] = STEPS,
    observe: StepObserver | None = None,
    total: int | None = None,
) -> None:
    """Run every step in order; record each as ok, failed (with its message) or skipped."""
    status: dict[str, str] = {}
    total = total or len(steps)
    for index, step in enumerate(steps, start=1):
        if observe:
            observe(index, total, step.title, None)
        started = time.monotonic()
        missing = [f"{n} ({status.get(n, 'not run')})" for n in step.needs if status.get(n) != "ok"]
        if missing:
            detail = f"needs step {', '.join(missing)}"
            result = StepResult(step.name, step.title, "skipped", detail, 0.0)
        else:
            result = await _run_one(night, step, started)
        status[step.name] = result.status
        night.data.steps.append(result)
        if observe:
            observe(index, total, step.title, result)


async def _run_one(night: Night, step: Step, started: float) -> StepResult:
    try:
        detail, state = await step.run(night), "ok"
    except Skip as exc:
        detail, state = str(exc), "skipped"
    except (ToolInputError, UnavailableError) as exc:
        detail, state = f"{type(exc).__name__}: {exc}", "failed"
    except Exception as exc:  # a bug or an unexpected outage: record it, keep the night going
        log.exception("nightly step %s failed", step.name)
        detail, state = f"{type(exc).__name__}: {exc}", "failed"
    clean = redact_secrets(detail, redact_emails=False)[:2000]
    return StepResult(step.name, step.title, state, clean, time.monotonic() - started)  # type: ignore[arg-type]
