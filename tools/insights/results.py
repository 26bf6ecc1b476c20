"""Result models of the insights tools: every verdict carries its counts, interval and reason."""

from __future__ import annotations

from pydantic import BaseModel, Field

from ..telemetry.models import warnings_field
from .verdicts import Verdict


class WindowSpan(BaseModel):
    start: str = Field(description="UTC start, inclusive.")
    end: str = Field(description="UTC end, exclusive.")
    tasks: int = Field(description="All tasks (any status) created in the window: the exposure.")
    failed: int = Field(description="Failed tasks in the window.")


class RateComparison(BaseModel):
    events_before: int
    events_after: int
    tasks_before: int
    tasks_after: int
    rate_before_per_1000: float
    rate_after_per_1000: float
    rate_ratio: float | None = Field(
        description="rate after / rate before; null when undefined (no events before or no tasks)."
    )
    ci_low: float = Field(description="Lower bound of the exact 95% interval of rate_ratio.")
    ci_high: float | None = Field(description="Upper bound of the 95% interval; null = unbounded.")
    verdict: Verdict
    reason: str = Field(description="One sentence with the numbers behind the verdict.")
    tasks_needed_after: int | None = Field(
        None,
        description="For inconclusive: at least this many more tasks after the merge are needed before "
        "fixed/improved can show (assuming no new occurrence); null when not computable.",
    )


class FailureBreakdown(BaseModel):
    """The overall failure rate split by where the failures come from."""

    existing_signatures: RateComparison = Field(
        description="Failures with signatures first seen before the merge (the problems that existed)."
    )
    new_signatures_after: int = Field(
        description="Failures after the merge with signatures first seen at or after the merge."
    )
    new_signatures_rate_after_per_1000: float
    new_signatures: list[str] = Field(description="Up to 5 new signatures, most frequent first.")
    unclustered_before: int = Field(description="Failed tasks before the merge with no signature stored.")
    unclustered_after: int = Field(description="Failed tasks after the merge with no signature stored.")


class ImpactResult(BaseModel):
    signature: str
    title: str
    pr_number: int | None
    merged_at: str = Field(description="UTC merge time that splits the windows.")
    agent: str | None
    before: WindowSpan = Field(description="[merged_at - before_days, merged_at).")
    after: WindowSpan = Field(description="[merged_at, min(merged_at + after_days, now)).")
    verdict: Verdict = Field(description="The signature's verdict (same as signature_impact.verdict).")
    reason: str
    signature_impact: RateComparison = Field(description="The signature's occurrences per 1000 tasks.")
    failure_rate: RateComparison = Field(description="All failures per 1000 tasks, same windows.")
    failure_breakdown: FailureBreakdown
    marked_regressed: bool = Field(
        description="True when a `worse` verdict marked the signature regressed (flag the PR)."
    )
    signature_state: str | None = Field(
        None, description="'regressed' when the signature is now marked regressed, else null."
    )
    memory_finding_id: str | None = Field(
        default=None, description="The memory finding that holds this verdict."
    )
    memory_note: str | None = Field(
        default=None, description="Why the verdict was not stored, when it was not."
    )
    method: str = Field(description="How the interval and verdict were computed.")
    warnings: list[str] = warnings_field()


class DurationStats(BaseModel):
    count: int
    p50_ms: float | None
    p95_ms: float | None


class SlowOperation(BaseModel):
    task_name: str | None
    agent: str | None
    now: DurationStats = Field(description="The last `days` days.")
    baseline: DurationStats = Field(description="The `baseline_days` days before that.")
    p50_ratio: float | None
    p95_ratio: float | None
    p95_increase_ms: float | None
    p_value: float | None = Field(
        description="One-sided p-value that durations now are larger (smaller of the two tests, "
        "Bonferroni-adjusted); null without enough samples."
    )
    flagged: bool
    reason: str


class SlowOperations(BaseModel):
    window_start: str
    window_end: str
    baseline_start: str
    duration_source: str | None = Field(
        description="Where durations come from: 'duration_ms', 'started_at/finished_at', or duration_ms with the "
        "timestamps as fallback; null when the table has neither."
    )
    operations: list[SlowOperation] = Field(description="Flagged first, then by p95 increase.")
    flagged_count: int
    has_more: bool = Field(description="More operations than `limit`: raise limit or set only_flagged.")
    unavailable_fields: list[str] = Field(default_factory=list)
    warnings: list[str] = warnings_field()
    note: str | None = None
    method: str
