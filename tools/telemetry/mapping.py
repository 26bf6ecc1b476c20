"""Which table and columns hold the user's task runs, and which statuses mean "failed".

The `[telemetry]` table of the config:

    [telemetry]
    table = "agent_runs"
    failed_statuses = ["error", "timeout"]
    [telemetry.columns]          # our name = your column; unmapped names keep their own
    id = "run_id"
    status = "state"

Every engine quotes these names as identifiers; they are never pasted into SQL as text.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, field_validator

from .timestamps import TimestampFormat

REQUIRED_FIELDS = ("id", "status", "error", "created_at")
OPTIONAL_FIELDS = (
    "agent",
    "task_name",
    "started_at",
    "finished_at",
    "duration_ms",
    "error_type",
    "traceback",
    "metadata",
    "release",
)
FIELDS = REQUIRED_FIELDS + OPTIONAL_FIELDS
TIME_FIELDS = ("created_at", "started_at", "finished_at")
# Status words that usually mean a failed run; seen in a window but not in failed_statuses, they warn.
FAILURE_LIKE = frozenset(
    "error errored errors fail failed failure failures timeout timed_out timedout exception crashed crash "
    "aborted killed rejected panic fatal dead_letter".split()
)


class TelemetryMapping(BaseModel):
    """How our field names map onto the user's table (`[telemetry]` in the config)."""

    model_config = ConfigDict(extra="forbid")

    table: str = Field("tasks", min_length=1, max_length=200, description="Table (or view) of task runs.")
    columns: dict[str, str] = Field(
        default_factory=dict, description="Our field name -> your column name; unmapped fields keep ours."
    )
    failed_statuses: list[str] = Field(
        default_factory=lambda: ["failed"],
        min_length=1,
        description="Status values that mean a failed task, matched case-insensitively.",
    )
    timestamp_format: TimestampFormat = Field(
        "auto", description="How created_at/started_at/finished_at are stored; auto detects from the data."
    )

    @field_validator("columns")
    @classmethod
    def _known_fields(cls, value: dict[str, str]) -> dict[str, str]:
        for ours, theirs in value.items():
            if ours not in FIELDS:
                raise ValueError(f"[telemetry.columns] has no field {ours!r}: map any of {', '.join(FIELDS)}")
            if not theirs.strip():
                raise ValueError(f"[telemetry.columns] {ours} is empty: name your column, or drop the line")
        return value

    def column(self, field: str) -> str:
        """The user's column for one of our fields."""
        return self.columns.get(field, field)

    def is_failed(self, status: object) -> bool:
        return status is not None and str(status).strip().lower() in self._failed

    @property
    def _failed(self) -> frozenset[str]:
        return frozenset(s.strip().lower() for s in self.failed_statuses)

    def failed_values(self, statuses: list[str]) -> list[str]:
        """The stored status values (with their own case) that count as failed."""
        return [s for s in statuses if self.is_failed(s)]

    def setting(self, field: str) -> str:
        """How a person sets the column of `field`: the TOML line to write."""
        return f'[telemetry.columns] {field} = "<your column>"'
