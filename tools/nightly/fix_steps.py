"""The nightly steps that follow merged fixes: find them, and judge each one.

A merged fix is recorded against its signature (merge time, merge commit when the provider gives one,
repository), but no longer marks it resolved by itself: only a `fixed` or `improved` verdict does
(`insights.impact`); `inconclusive` leaves it open with the number of tasks still needed. A fix judged
`worse` is reverted when we merged it; in a dry run the revert is only described.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from datetime import datetime, timedelta

from ..insights.impact import measure_impact
from ..insights.results import ImpactResult
from ..insights.verdict_memory import measure_and_record
from ..pulls.models import MergedPullRequest
from ..support.problems import ToolInputError, UnavailableError
from ..telemetry.windows import parse_timestamp
from .models import VerdictRow
from .night import Night, Skip

VERIFY_DAYS = 30
IMPACT_DAYS = 7  # the shortest before/after windows; they grow with the nights since the merge


def impact_days(merged_at: datetime, now: datetime) -> int:
    """Evidence accumulates night by night: compare as many full days after the merge as have passed
    (at least IMPACT_DAYS, at most VERIFY_DAYS) with the same number of days before it."""
    return max(IMPACT_DAYS, min(VERIFY_DAYS, (now - merged_at).days))


def merge_commit(pull: MergedPullRequest) -> str | None:
    """The merge commit, when the pull-request side reports one (`merge_commit`; absent today)."""
    found = getattr(pull, "merge_commit", None)
    return found if isinstance(found, str) and found else None


async def detect_merged_fixes(night: Night) -> str:
    if not night.app.settings.repos:
        raise Skip("no repositories are configured, so there are no pull requests to follow")
    days = max(VERIFY_DAYS, night.data.chart_days)  # the charts mark every merge they show
    merged = await night.app.pulls.merged_pull_requests(since=night.now - timedelta(days=days))
    merged.sort(key=lambda p: (p.merged_at, p.number))
    night.data.merged = merged
    store = night.app.errors.signatures
    recorded = 0
    for pull in merged:
        if not pull.signature or not pull.merged_at:
            continue
        if not (await asyncio.to_thread(store.signatures, [pull.signature])).get(pull.signature):
            continue
        at = parse_timestamp(pull.merged_at)
        known = (await asyncio.to_thread(store.marks.fixes, [pull.signature])).get(pull.signature)
        if known is not None and known.merged_at > at:
            continue  # a later fix of the same signature is the one that counts
        await asyncio.to_thread(
            store.marks.record_fix, pull.signature, at, merge_commit(pull), pull.repo, f"PR #{pull.number}"
        )
        recorded += 1
    return (
        f"{len(merged)} pull request(s) merged in the last {days} days; a signature is marked resolved "
        "only when its fix is judged fixed or improved"
    )


async def measure_merged_fixes(night: Night) -> str:
    cutoff = night.now - timedelta(days=VERIFY_DAYS)
    recent = [p for p in night.data.merged if p.merged_at and parse_timestamp(p.merged_at) >= cutoff]
    if not recent:
        raise Skip(f"no fix was merged in the last {VERIFY_DAYS} days")
    for pull in recent:
        row = await _verdict(night, pull)
        night.data.verdicts.append(row)
        if row.result is not None and row.result.marked_resolved and pull.signature:
            night.data.resolved.append(pull.signature)
    measured = [v for v in night.data.verdicts if v.result is not None]
    verdicts = Counter(v.result.verdict for v in measured if v.result)
    summary = ", ".join(f"{n} {name}" for name, n in sorted(verdicts.items())) or "none"
    return (
        f"{len(measured)} of {len(recent)} merged fix(es) measured: {summary}; "
        f"{len(night.data.resolved)} signature(s) newly marked resolved"
    )


async def _verdict(night: Night, pull: MergedPullRequest) -> VerdictRow:
    row = VerdictRow(pull=pull)
    if not pull.signature:
        row.problem = "the pull request names no error signature, so there is nothing to measure"
        return row
    days = impact_days(parse_timestamp(pull.merged_at), night.now) if pull.merged_at else IMPACT_DAYS
    measure = measure_impact(
        night.app.errors,
        signature=pull.signature,
        pr_number=pull.number,
        merged_at=pull.merged_at,
        before_days=days,
        after_days=days,
        merge_commit=merge_commit(pull),
        repo=pull.repo,
    )
    try:
        row.result = await measure_and_record(night.app.memory, measure)
    except ToolInputError as exc:  # unknown signature, a merge time in the future...
        row.problem = str(exc)
        return row
    row.memory_note = row.result.memory_note
    row.comment_note = await _comment(night, pull, row.result)
    if row.result.verdict == "worse":
        row.revert_note = await _revert(night, pull, row.result)
    return row


async def _comment(night: Night, pull: MergedPullRequest, result: ImpactResult) -> str:
    """The verdict where the reviewers are: a comment on the fix's pull request, once per change."""
    try:
        post = await night.app.pulls.post_verdict(pull.repo, pull.number, result)
    except (ToolInputError, UnavailableError) as exc:
        return f"verdict not commented on PR #{pull.number}: {exc}"
    return post.note or ("posted" if post.posted else "not posted")


async def _revert(night: Night, pull: MergedPullRequest, result: ImpactResult) -> str:
    """A fix that made things worse: revert it when we merged it, otherwise flag it for people."""
    if night.dry_run:
        action = (
            f"would open a pull request reverting PR #{pull.number} ({pull.repo}) if self-improver merged it, "
            "else flag it for review"
        )
        night.data.would.append(action)
        return f"Dry run: {action}."
    try:
        opened = await night.app.pulls.revert_if_worse(pull.repo, pull.number, result)
    except (ToolInputError, UnavailableError) as exc:
        return f"The revert pull request could not be opened: {exc}"
    if opened is None:
        return "A person merged it, so it is flagged here for review rather than reverted automatically."
    revert = opened.pull_request
    return f"Revert opened: PR #{revert.number} {revert.url}."
