"""Result models of the insights tools: every verdict carries its counts, interval and reason."""

from __future__ import annotations

from pydantic import BaseModel, Field

from ..telemetry.models import warnings_field
from .verdicts import Verdict


class WindowSpan(BaseModel):
    start: str = Field(description="UTC, inclusive.")
    end: str = Field(description="UTC, exclusive.")
    tasks: int = Field(description="All tasks of the window (the exposure).")
    failed: int


class RateComparison(BaseModel):
    events_before: int
    events_after: int
    tasks_before: int
    tasks_after: int
    rate_before_per_1000: float
    rate_after_per_1000: float
    rate_ratio: float | None = Field(description="After / before; null when undefined.")
    ci_low: float = Field(description="Exact 95% interval of rate_ratio.")
    ci_high: float | None = Field(description="null: unbounded.")
    verdict: Verdict
    reason: str
    tasks_needed_after: int | None = Field(
        None, description="Inconclusive: more tasks needed after the merge before a fix can show."
    )


class FailureBreakdown(BaseModel):
    """The overall failure rate split by where the failures come from."""

    existing_signatures: RateComparison = Field(description="Signatures first seen before the merge.")
    new_signatures_after: int = Field(description="Failures of signatures first seen since the merge.")
    new_signatures_rate_after_per_1000: float
    new_signatures: list[str] = Field(description="Up to 5, most frequent first.")
    unclustered_before: int = Field(description="Failed tasks without a stored signature.")
    unclustered_after: int


class ImpactResult(BaseModel):
    signature: str
    title: str
    pr_number: int | None
    merged_at: str
    agent: str | None
    switch_at: str = Field(description="The fix's first deploy, else merged_at.")
    deployed_in: str | None = None  # the first release with the fix, when known
    before: WindowSpan = Field(description="Before switch_at.")
    after: WindowSpan = Field(description="From switch_at.")
    verdict: Verdict = Field(description="signature_impact's verdict.")
    reason: str
    signature_impact: RateComparison = Field(description="The signature's occurrences per 1000 tasks.")
    failure_rate: RateComparison = Field(description="All failures per 1000 tasks.")
    failure_breakdown: FailureBreakdown
    marked_regressed: bool = Field(description="A `worse` verdict marked the signature regressed.")
    marked_resolved: bool = False
    signature_state: str | None = None
    memory_finding_id: str | None = Field(default=None, description="The finding that holds the verdict.")
    memory_note: str | None = Field(default=None, description="Why the verdict was not stored.")
    method: str
    warnings: list[str] = warnings_field()


class DurationStats(BaseModel):
    count: int
    p50_ms: float | None
    p95_ms: float | None


class SlowOperation(BaseModel):
    task_name: str | None
    agent: str | None
    now: DurationStats
    baseline: DurationStats
    p50_ratio: float | None
    p95_ratio: float | None
    p95_increase_ms: float | None
    p_value: float | None = Field(description="One-sided, Bonferroni-adjusted; null: too few samples.")
    flagged: bool
    reason: str


class SlowOperations(BaseModel):
    window_start: str
    window_end: str
    baseline_start: str
    duration_source: str | None = Field(description="duration_ms or started_at/finished_at; null: neither.")
    operations: list[SlowOperation] = Field(description="Flagged first, then by p95 increase.")
    flagged_count: int
    has_more: bool
    unavailable_fields: list[str] = Field(default_factory=list)
    warnings: list[str] = warnings_field()
    note: str | None = None
    method: str
