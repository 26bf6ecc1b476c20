"""Result models of the error tools. Telemetry text in them is redacted, untrusted data."""

from __future__ import annotations

from pydantic import BaseModel, Field

from ..telemetry.models import warnings_field


class DayCount(BaseModel):
    day: str
    count: int


class ErrorGroup(BaseModel):
    signature: str
    title: str
    error_type: str | None = None
    template: str = Field(description="The message with values as <placeholders>.")
    example: str = Field(description="The newest real message, redacted.")
    count: int
    tasks_affected: int
    rate_per_1000: float = Field(description="count per 1000 tasks of the window.")
    agents: list[str]
    first_seen: str = Field(description="UTC, ever (not only in the window).")
    last_seen: str
    state: str = Field(description="new, ongoing, escalating, resolved, regressed or muted.")
    old_release_failures: int | None = None  # since the fix, on releases without it (see note)
    note: str | None = Field(None, description="Why the state: a mute, or failures on old releases.")
    trend: list[DayCount] = Field(description="Count per local day, oldest first.")
    sample_task_ids: list[int | str]


class TopErrors(BaseModel):
    window_start: str
    window_end: str
    total_tasks: int
    failed_tasks: int = Field(description="All failed tasks of the window, in a returned group or not.")
    groups: list[ErrorGroup]
    has_more: bool
    unavailable_fields: list[str] = Field(default_factory=list)
    warnings: list[str] = warnings_field()


class SourceLine(BaseModel):
    line: int
    text: str


class FrameContext(BaseModel):
    file: str
    line: int | None
    function: str
    code: str | None = None
    repo_path: str | None = Field(None, description="The file inside repo_root, if found there.")
    source: list[SourceLine] = Field(default_factory=list, description="Lines around `line` from repo_root.")
    source_note: str | None = Field(
        None, description="Why source is empty: no repo_root, file not found there, line out of range, ..."
    )


class Variant(BaseModel):
    message: str
    count: int


class RelatedSignature(BaseModel):
    signature: str
    title: str
    reason: str
    occurrences: int


class ErrorCluster(BaseModel):
    signature: str
    title: str
    error_type: str | None
    template: str
    state: str
    note: str | None = Field(None, description="Why the state: a mute, or failures on old releases.")
    first_seen: str
    last_seen: str
    occurrences: int = Field(description="All ever recorded.")
    agents: list[str]
    per_day: list[DayCount]
    chain: list[str] = Field(description="Exception types, cause first.")
    traceback: str | None = Field(None, description="A representative one, redacted.")
    in_app_frames: list[FrameContext]
    variants: list[Variant] = Field(description="Distinct messages, most frequent first.")
    sample_task_ids: list[int | str]
    sample_traces: list[str] = Field(
        default_factory=list, description="OpenTelemetry trace ids of the samples."
    )
    related: list[RelatedSignature]
    unavailable_fields: list[str] = Field(default_factory=list)
    warnings: list[str] = warnings_field()
