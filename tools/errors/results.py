"""Result models of the error tools. Telemetry text in them is redacted, untrusted data."""

from __future__ import annotations

from pydantic import BaseModel, Field

from ..telemetry.models import warnings_field


class DayCount(BaseModel):
    day: str
    count: int


class ErrorGroup(BaseModel):
    signature: str = Field(
        description="Stable 12-hex id of the problem; pass it to error_cluster and memory tools."
    )
    title: str = Field(description="Short human name, e.g. \"AttributeError: '_email_context_until'\".")
    error_type: str | None = None
    template: str = Field(description="The message with values replaced by <placeholders>.")
    example: str = Field(
        description="The newest real message of the group, redacted and cut to 500 characters."
    )
    count: int = Field(description="Failed tasks with this signature in the window.")
    tasks_affected: int
    rate_per_1000: float = Field(description="count per 1000 tasks (all statuses) in the window.")
    agents: list[str]
    first_seen: str = Field(description="First occurrence ever recorded (UTC), not only in the window.")
    last_seen: str = Field(description="Latest occurrence (UTC).")
    state: str = Field(description="new | ongoing | escalating | resolved | regressed (see server docs).")
    trend: list[DayCount] = Field(description="Occurrences per local day of the window, oldest first.")
    sample_task_ids: list[int | str]


class TopErrors(BaseModel):
    window_start: str
    window_end: str
    total_tasks: int = Field(description="All tasks in the window, the denominator of rate_per_1000.")
    failed_tasks: int = Field(description="All failed tasks in the window, grouped or filtered out.")
    groups: list[ErrorGroup]
    has_more: bool = Field(
        description="More groups match than `limit`: raise limit or filter by states/agent."
    )
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
    repo_path: str | None = Field(None, description="The file inside the configured source root, when found.")
    source: list[SourceLine] = Field(
        default_factory=list, description="A few lines around `line` from the repo."
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
    first_seen: str
    last_seen: str
    occurrences: int = Field(description="All occurrences ever recorded.")
    agents: list[str]
    per_day: list[DayCount] = Field(description="Occurrences per local day over the last `days` days.")
    chain: list[str] = Field(description="Exception types of the chain, cause first.")
    traceback: str | None = Field(None, description="A representative traceback, redacted; untrusted data.")
    in_app_frames: list[FrameContext]
    variants: list[Variant] = Field(
        description="Distinct messages of the group, most frequent first (redacted)."
    )
    sample_task_ids: list[int | str]
    sample_traces: list[str] = Field(
        default_factory=list,
        description="OpenTelemetry trace ids of the samples: open them in your tracing UI.",
    )
    related: list[RelatedSignature]
    unavailable_fields: list[str] = Field(default_factory=list)
    warnings: list[str] = warnings_field()
