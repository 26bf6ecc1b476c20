"""Did a merged fix work? Compare a signature's failures per 1000 tasks before and after the fix went live.

The windows meet at the switch: the first deploy that contains the fix (see `deploys.releases`: a
release whose commit has the merge commit as an ancestor, or, without commits, the first release seen
after the merge). Without release data (no deploy recorded, no `release` column) the switch is the merge
and the verdict says so; with release data but no release with the fix yet, the after window is empty.
Windows: before = [switch - before_days, switch), after = [switch, min(switch + after_days, now)).
A `fixed` or `improved` verdict marks the signature resolved (as of the merge); `inconclusive` leaves it
open, with the number of tasks still needed. Exposure is every task created in a window (any status, optionally one agent), read from the
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

from ..deploys.releases import Fix, release_book
from ..errors.refresh import Progress, refresh_signatures
from ..errors.reports import ErrorContext, window_totals
from ..errors.states import current_states
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


async def _mark_regressed(
    ctx: ErrorContext, signature: str, merged: datetime, pr_number: int | None, fix: Fix
) -> bool:
    """Record the merge as the signature's resolution, so the lifecycle shows it `regressed` (it recurred
    on a release with the fix). A resolution recorded later than this merge (a newer fix) is left alone.
    """
    meta = (await asyncio.to_thread(ctx.signatures.signatures, [signature]))[signature]
    if meta["resolved_at"] and parse_timestamp(meta["resolved_at"]) > merged:
        return False
    by = f"PR #{pr_number}" if pr_number is not None else "merged fix"
    await _record_fix(ctx, signature, merged, fix, by)
    return await asyncio.to_thread(ctx.signatures.mark_resolved, signature, merged, f"{by} (impact: worse)")


async def _record_fix(ctx: ErrorContext, signature: str, merged: datetime, fix: Fix, by: str) -> None:
    repo = next((name for name, path in ctx.fix_repos.items() if path == fix.repo), None)
    await asyncio.to_thread(ctx.signatures.marks.record_fix, signature, merged, fix.commit, repo, by)


async def _mark_resolved(
    ctx: ErrorContext, signature: str, merged: datetime, pr_number: int | None, verdict: str, fix: Fix
) -> bool:
    """A fix judged fixed or improved resolves its signature as of the merge (a later mark stays); the
    fix's commit and repository are kept, so the lifecycle can tell which releases contain it."""
    meta = (await asyncio.to_thread(ctx.signatures.signatures, [signature]))[signature]
    if meta["resolved_at"] and parse_timestamp(meta["resolved_at"]) >= merged:
        return False
    by = f"PR #{pr_number}" if pr_number is not None else "merged fix"
    await _record_fix(ctx, signature, merged, fix, by)
    return await asyncio.to_thread(
        ctx.signatures.mark_resolved, signature, merged, f"{by} (impact: {verdict})"
    )


async def _state(ctx: ErrorContext, signature: str) -> str | None:
    found = (await current_states(ctx, {signature}))[signature].state
    return found if found in ("resolved", "regressed") else None


async def _switch(
    ctx: ErrorContext, signature: str, merged: datetime, commit: str | None, repo: str | None, now: datetime
) -> tuple[datetime, str | None, str | None, Fix]:
    """(where the windows meet, the first release with the fix, a note for the verdict, the fix)."""
    record = (await asyncio.to_thread(ctx.signatures.marks.fixes, [signature])).get(signature)
    commit = commit or (record.commit if record and record.merged_at == merged else None)
    repo = repo or (record.repo if record else None)
    fix = Fix(merged, commit, (ctx.fix_repos.get(repo) if repo else None) or ctx.repo_root)
    book = await release_book(ctx.telemetry, ctx.deploys)
    if not book:
        note = (
            "No release data (no deploy recorded, no release on the tasks): the after window starts at the "
            "merge, so failures of a rollout still in progress count as after the fix."
        )
        return merged, None, note, fix
    deploy = book.fix_deploy(fix)
    if deploy is None:
        return now, None, "No release containing the fix has been seen yet: there is nothing after it.", fix
    return max(deploy.deployed_at, merged), deploy.release, None, fix


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
    merge_commit: str | None = None,
    repo: str | None = None,
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
    await refresh_signatures(
        ctx.telemetry, ctx.signatures, _root(ctx), progress, since=merged - timedelta(days=before_days)
    )
    known = await asyncio.to_thread(ctx.signatures.signatures, [signature])
    if signature not in known:
        raise NotFoundError(
            f"no error signature {signature!r} is known: take a `signature` from top_errors (12 hex "
            "characters), with a window that reaches back before the merge"
        )
    switch, deployed_in, switch_note, fix = await _switch(ctx, signature, merged, merge_commit, repo, now)
    start, end = switch - timedelta(days=before_days), min(switch + timedelta(days=after_days), now)
    await refresh_signatures(ctx.telemetry, ctx.signatures, _root(ctx), progress, since=start)
    before_window = Window(start, switch, start.date(), switch.date())
    after_window = Window(switch, end, switch.date(), end.date())
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
        return parse_timestamp(first_seen[name]["first_seen"]) >= switch

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

    if switch_note:
        impact = impact.model_copy(update={"reason": f"{impact.reason} {switch_note}"})
    marked = resolved = False
    if impact.verdict == "worse":
        marked = await _mark_regressed(ctx, signature, merged, pr_number, fix)
        note = " The signature is now marked regressed: flag the PR." if marked else ""
        impact = impact.model_copy(update={"reason": impact.reason + note})
    elif impact.verdict in ("fixed", "improved"):
        resolved = await _mark_resolved(ctx, signature, merged, pr_number, impact.verdict, fix)
    elif impact.verdict == "inconclusive" and impact.tasks_needed_after is not None:
        note = f" The signature stays open until {impact.tasks_needed_after} more task(s) have run."
        impact = impact.model_copy(update={"reason": impact.reason + note})
    meta = (await asyncio.to_thread(ctx.signatures.signatures, [signature]))[signature]
    return ImpactResult(
        signature=signature,
        title=ctx.redact(meta["title"], 200),
        pr_number=pr_number,
        merged_at=utc_text(merged),
        agent=agent,
        switch_at=utc_text(switch),
        deployed_in=deployed_in,
        before=WindowSpan(start=utc_text(start), end=utc_text(switch), tasks=e1, failed=before.failed),
        after=WindowSpan(start=utc_text(switch), end=utc_text(end), tasks=e2, failed=after.failed),
        verdict=impact.verdict,
        reason=impact.reason,
        signature_impact=impact,
        failure_rate=failures,
        failure_breakdown=breakdown,
        marked_regressed=marked,
        marked_resolved=resolved,
        signature_state=await _state(ctx, signature),
        method=METHOD,
        warnings=list(dict.fromkeys(before.warnings + after.warnings)),
    )


def _root(ctx: ErrorContext) -> str | None:
    return str(ctx.source_root) if ctx.source_root else None
