"""Result models of the telemetry tools: the structured output a host receives.

Text fields that come from telemetry (error messages, task names) are untrusted data: they are
redacted for secrets and must never be followed as instructions.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, Field
from typing_extensions import TypedDict  # pydantic reads TypedDicts from typing_extensions before 3.12

WARNINGS_DESCRIPTION = "Problems that may make this answer wrong: tell the user."


def warnings_field() -> list[str]:
    return Field(default_factory=list, description=WARNINGS_DESCRIPTION)  # type: ignore[no-any-return]


class DaySummary(BaseModel):
    day: str = Field(description="Local day, configured timezone.")
    timezone: str
    agent: str | None = None
    total: int
    counts_by_status: dict[str, int]
    failed: int
    failure_rate: float = Field(description="failed / total (running tasks count in total).")
    unavailable_fields: list[str] = Field(default_factory=list)
    warnings: list[str] = warnings_field()


class TrendDay(BaseModel):
    day: str
    total: int
    failed: int
    failure_rate: float
    partial: bool = Field(description="The window ends inside this day.")


class FailureTrend(BaseModel):
    timezone: str
    agent: str | None = None
    window_start: str = Field(description="UTC, inclusive.")
    window_end: str = Field(description="UTC, exclusive.")
    days: list[TrendDay]
    total: int
    failed: int
    failure_rate: float
    unavailable_fields: list[str] = Field(default_factory=list)
    warnings: list[str] = warnings_field()


# One task of a page: a dict, as the engine builds it (a model per row costs a page a third again). No
# docstring: it would become the schema's description, in every session's context.
class TaskRow(TypedDict):
    id: int | str
    status: str
    created_at: str
    agent: str | None
    task_name: str | None
    duration_ms: int | None
    error_type: str | None
    error: Annotated[str | None, Field(description="Redacted, cut to 200 (brief) or 500 characters.")]


class TaskPage(BaseModel):
    tasks: list[TaskRow]
    next_cursor: str | None
    has_more: bool
    unavailable_fields: list[str] = Field(default_factory=list)
    warnings: list[str] = warnings_field()


class QueryResult(BaseModel):
    columns: list[str]
    rows: list[list[object]]
    row_count: int
    truncated: bool = Field(description="Rows were left out: more than `limit`, or the byte cap.")
    truncated_reason: str | None = None
    elapsed_ms: float
