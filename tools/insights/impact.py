"""Did a merged fix work? Compare a signature's failures per 1000 tasks before and after the merge.

Windows: before = [merged_at - before_days, merged_at), after = [merged_at, min(merged_at + after_days,
now)). Exposure is every task created in a window (any status, optionally one agent), read from the
telemetry database; events are the signature's tasks in the window, read from the signature store after
bringing it up to date. The rate ratio, its exact interval and the verdict come from `rate_ratio` and
`verdicts`. The same comparison is made for all failures, split into failures of signatures that existed
before the merge and of new ones (first seen at or after the merge).

Never a guess: a window with no tasks, a store that holds fewer than 99% of a window's failures (they
were never clustered, e.g. older than the first clustering run), or too few tasks after the merge all
give `inconclusive` with the reason.
"""

from __future__ import annotations

import asyncio
import math
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from ..errors.refresh import Progress, refresh_signatures
from ..errors.reports import ErrorContext, window_totals
from ..support.problems import NotFoundError, ToolInputError
from ..telemetry.windows import Window, parse_timestamp, utc_text
from .rate_ratio import RateRatio, rate_ratio
from .results import FailureBreakdown, ImpactResult, RateComparison, WindowSpan
from .verdicts import Judgement, judge

MAX_DAYS = 90
MIN_COVERAGE = 0.99
METHOD = (
    "Rate ratio after/before of events per task with an exact 95% interval (conditional binomial: given "
    "n = x1 + x2, x2 ~ Binomial(n, E2·RR / (E1 + E2·RR)); Clopper–Pearson on that proportion mapped to RR). "
    "fixed: 0 after, >= 3 expected at the earlier rate and upper bound < 1; improved: upper < 1; worse: "
    "lower > 1; no_change: interval within [0.5, 2]; otherwise inconclusive."
)


@dataclass(frozen=True)
class MergedFix:
    """What a pull-request service knows about a fix: when it was merged and which signature it targets."""

    merged_at: datetime | str | None
    signature: str | None = None


FixResolver = Callable[[int], Awaitable[MergedFix]]


@dataclass(frozen=True)
class _WindowCounts:
    tasks: int
    failed: int
    occurrences: Counter[str]  # signature -> failed tasks of the window with that signature
    warnings: list[str]

    @property
    def clustered(self) -> int:
        return sum(self.occurrences.values())

    @property
    def unclustered(self) -> int:
        return max(0, self.failed - self.clustered)

    def coverage_gap(self) -> bool:
        return self.failed > 0 and self.clustered < MIN_COVERAGE * self.failed


async def _resolve(
    signature: str | None,
    pr_number: int | None,
    merged_at: datetime | str | None,
    resolve_fix: FixResolver | None,
) -> tuple[str, datetime | str]:
    if (merged_at is None or signature is None) and pr_number is not None and resolve_fix is not None:
        fix = await resolve_fix(pr_number)
        if merged_at is None and fix.merged_at is None:
            raise ToolInputError(
                f"PR #{pr_number} is not merged: its impact can be measured only after the merge"
            )
        merged_at = merged_at if merged_at is not None else fix.merged_at
        signature = signature or fix.signature
    if merged_at is None:
        raise ToolInputError(
            "merged_at is required: pass the time the fix was merged (ISO 8601, e.g. '2026-02-09T14:00:00Z')"
            + (" - pr_number alone cannot be resolved without a pull-request service" if pr_number else "")
        )
    if not signature:
        raise ToolInputError(
            "signature is required: pass the error signature the fix addressed (12 hex characters from "
            "top_errors)"
        )
    return signature, merged_at


async def _window_counts(ctx: ErrorContext, window: Window, agent: str | None) -> _WindowCounts:
    totals = await window_totals(ctx, window, agent)
    stored = await asyncio.to_thread(ctx.signatures.window_rows, window)
    occurrences = Counter(r["signature"] for r in stored if agent is None or r["agent"] == agent)
    return _WindowCounts(totals.total, totals.failed, occurrences, totals.warnings)


def _per_1000(events: int, tasks: int) -> float:
    return round(1000 * events / tasks, 3) if tasks else 0.0


def _bound(value: float) -> float:
    return round(value, 4)


def _comparison(ratio: RateRatio, judgement: Judgement) -> RateComparison:
    return RateComparison(
        events_before=ratio.events_before,
        events_after=ratio.events_after,
        tasks_before=ratio.exposure_before,
        tasks_after=ratio.exposure_after,
        rate_before_per_1000=_per_1000(ratio.events_before, ratio.exposure_before),
        rate_after_per_1000=_per_1000(ratio.events_after, ratio.exposure_after),
        rate_ratio=None if ratio.estimate is None else _bound(ratio.estimate),
        ci_low=_bound(ratio.low),
        ci_high=None if math.isinf(ratio.high) else _bound(ratio.high),
        verdict=judgement.verdict,
        reason=judgement.reason,
        tasks_needed_after=judgement.tasks_needed_after,
    )


def _coverage_judgement(before: _WindowCounts, after: _WindowCounts) -> Judgement | None:
    for name, counts in (("before", before), ("after", after)):
        if counts.coverage_gap():
            return Judgement(
                "inconclusive",
                f"the signature store holds only {counts.clustered} of the {counts.failed} failures {name} the "
                "merge (older failures were never clustered), so counts would be too low: shorten before_days",
            )
    return None


def _compare(x1: int, e1: int, x2: int, e2: int, what: str, gap: Judgement | None) -> RateComparison:
    ratio = rate_ratio(x1, e1, x2, e2)
    return _comparison(ratio, gap or judge(ratio, what))


async def _mark_regressed(ctx: ErrorContext, signature: str, merged: datetime, pr_number: int | None) -> bool:
    """Record the merge as the signature's resolution, so the lifecycle shows it `regressed` (it recurred).

    A resolution recorded later than this merge (a newer fix) is left alone.
    """
    meta = (await asyncio.to_thread(ctx.signatures.signatures, [signature]))[signature]
    if meta["resolved_at"] and parse_timestamp(meta["resolved_at"]) > merged:
        return False
    by = f"PR #{pr_number}" if pr_number is not None else "merged fix"
    return await asyncio.to_thread(ctx.signatures.mark_resolved, signature, merged, f"{by} (impact: worse)")


def _state(meta: Any) -> str | None:
    if not meta["resolved_at"]:
        return None
    regressed = parse_timestamp(meta["last_seen"]) > parse_timestamp(meta["resolved_at"])
    return "regressed" if regressed else "resolved"


async def measure_impact(
    ctx: ErrorContext,
    signature: str | None = None,
    pr_number: int | None = None,
    merged_at: datetime | str | None = None,
    before_days: int = 7,
    after_days: int = 7,
    agent: str | None = None,
    resolve_fix: FixResolver | None = None,
    progress: Progress | None = None,
) -> ImpactResult:
    """Counts, rates per 1000, rate ratios with exact intervals and verdicts for one merged fix.

    `resolve_fix(pr_number)` supplies merged_at (and the signature) when they are not given. The caller
    stores the verdict in memory (`verdict_memory.remember_verdict`); this function only marks a
    signature regressed when the verdict is `worse`.
    """
    for name, value in (("before_days", before_days), ("after_days", after_days)):
        if not 1 <= value <= MAX_DAYS:
            raise ToolInputError(f"{name} must be from 1 to {MAX_DAYS} days, got {value}")
    signature, merged_value = await _resolve(signature, pr_number, merged_at, resolve_fix)
    tz = ctx.telemetry.tz
    merged = merged_value if isinstance(merged_value, datetime) else parse_timestamp(merged_value, tz)
    if merged.tzinfo is None:
        merged = merged.replace(tzinfo=tz)
    now = ctx.telemetry.now()
    if merged > now:
        raise ToolInputError(
            f"merged_at {utc_text(merged)} UTC is in the future (now is {utc_text(now)} UTC): pass the time "
            "the fix was actually merged"
        )
    start, end = merged - timedelta(days=before_days), min(merged + timedelta(days=after_days), now)
    await refresh_signatures(ctx.telemetry, ctx.signatures, _root(ctx), progress, since=start)
    known = await asyncio.to_thread(ctx.signatures.signatures, [signature])
    if signature not in known:
        raise NotFoundError(
            f"no error signature {signature!r} is known: take a `signature` from top_errors (12 hex "
            "characters), with a window that reaches back before the merge"
        )
    before_window = Window(start, merged, start.date(), merged.date())
    after_window = Window(merged, end, merged.date(), end.date())
    before = await _window_counts(ctx, before_window, agent)
    after = await _window_counts(ctx, after_window, agent)
    gap = _coverage_judgement(before, after)

    e1, e2 = before.tasks, after.tasks
    impact = _compare(
        before.occurrences[signature], e1, after.occurrences[signature], e2, "the signature", gap
    )
    failures = _compare(before.failed, e1, after.failed, e2, "failures", gap)
    first_seen = await asyncio.to_thread(
        ctx.signatures.signatures, set(before.occurrences) | set(after.occurrences)
    )

    def is_new(name: str) -> bool:
        return parse_timestamp(first_seen[name]["first_seen"]) >= merged

    new_after = Counter({s: n for s, n in after.occurrences.items() if is_new(s)})
    existing_before = sum(n for s, n in before.occurrences.items() if not is_new(s))
    existing_after = after.clustered - sum(new_after.values())
    breakdown = FailureBreakdown(
        existing_signatures=_compare(
            existing_before, e1, existing_after, e2, "failures of existing signatures", gap
        ),
        new_signatures_after=sum(new_after.values()),
        new_signatures_rate_after_per_1000=_per_1000(sum(new_after.values()), e2),
        new_signatures=[s for s, _ in sorted(new_after.items(), key=lambda kv: (-kv[1], kv[0]))[:5]],
        unclustered_before=before.unclustered,
        unclustered_after=after.unclustered,
    )

    marked = False
    if impact.verdict == "worse":
        marked = await _mark_regressed(ctx, signature, merged, pr_number)
        note = " The signature is now marked regressed: flag the PR." if marked else ""
        impact = impact.model_copy(update={"reason": impact.reason + note})
    meta = (await asyncio.to_thread(ctx.signatures.signatures, [signature]))[signature]
    return ImpactResult(
        signature=signature,
        title=ctx.redact(meta["title"], 200),
        pr_number=pr_number,
        merged_at=utc_text(merged),
        agent=agent,
        before=WindowSpan(start=utc_text(start), end=utc_text(merged), tasks=e1, failed=before.failed),
        after=WindowSpan(start=utc_text(merged), end=utc_text(end), tasks=e2, failed=after.failed),
        verdict=impact.verdict,
        reason=impact.reason,
        signature_impact=impact,
        failure_rate=failures,
        failure_breakdown=breakdown,
        marked_regressed=marked,
        signature_state=_state(meta),
        method=METHOD,
        warnings=list(dict.fromkeys(before.warnings + after.warnings)),
    )


def _root(ctx: ErrorContext) -> str | None:
    return str(ctx.source_root) if ctx.source_root else None
