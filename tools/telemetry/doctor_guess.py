"""Guessing a `[telemetry]` mapping from a table's column names and the status values it holds.

It exists apart from the check itself (`doctor`) because guessing is pure: given table and column names
and status counts, it picks the table that looks like task runs, maps our fields to its columns by their
usual names, and chooses failed_statuses from the values seen, with no database and no report to build.
"""

from __future__ import annotations

from .health import _looks_failed
from .mapping import FIELDS, REQUIRED_FIELDS, TelemetryMapping

# Usual column names of each of our fields, most telling first (compared case-insensitively).
SYNONYMS: dict[str, tuple[str, ...]] = {
    # The run's own id (Celery's task_id, a run_id) beats a surrogate autoincrement `id`.
    "id": ("task_id", "run_id", "job_id", "uuid", "execution_id", "id"),
    "status": ("status", "state", "outcome", "result"),
    "created_at": (
        "created_at",
        "started_at",
        "start_time",
        "timestamp",
        "date_created",
        "date_done",
        "inserted_at",
        "created",
        "created_on",
        "enqueued_at",
        "queued_at",
        "submitted_at",
    ),
    "error": ("error", "error_message", "exception", "traceback", "result", "message"),
    "agent": ("agent", "agent_name", "worker", "worker_name", "hostname"),
    "task_name": ("task_name", "name", "task", "job_name", "task_type", "operation"),
    "started_at": ("started_at", "start_time"),
    "finished_at": ("finished_at", "ended_at", "end_time", "completed_at", "date_done"),
    "duration_ms": ("duration_ms", "elapsed_ms", "runtime_ms"),
    "error_type": ("error_type", "exception_type", "exc_type", "error_class"),
    "traceback": ("traceback", "stacktrace", "stack_trace"),
    "metadata": ("metadata", "meta", "extra"),
    "release": ("release", "version", "app_version", "git_sha", "commit_sha"),
}
_RUN_LIKE_NAMES = ("task", "run", "job", "execution")  # celery_taskmeta matches "task"


def _pick(columns: list[str], names: tuple[str, ...], taken: set[str]) -> str | None:
    by_lower: dict[str, str] = {}
    for column in columns:
        by_lower.setdefault(column.lower(), column)
    for name in names:
        found = by_lower.get(name)
        if found is not None and found not in taken:
            return found
    return None


def guess_columns(table: str, columns: list[str], base: TelemetryMapping) -> TelemetryMapping | None:
    """A mapping of `table` by its column names; None when a required field finds no column.

    On the configured table, fields whose column exists keep it; the rest take the first usual name
    that is present and not taken by another field. Only names that differ from ours are listed.
    """
    present = set(columns)
    chosen: dict[str, str] = {}
    kept = base.table == table
    for name in FIELDS:
        column = base.column(name)
        if kept and column in present:
            chosen[name] = column
    taken = set(chosen.values())
    for name in FIELDS:
        if name in chosen:
            continue
        picked = _pick(columns, SYNONYMS[name], taken)
        if picked is None:
            if name in REQUIRED_FIELDS:
                return None
            continue
        chosen[name] = picked
        taken.add(picked)
    explicit = {name: column for name, column in chosen.items() if column != name}
    return base.model_copy(update={"table": table, "columns": explicit})


def rank_tables(table_columns: dict[str, list[str]], base: TelemetryMapping) -> list[str]:
    """Tables that look like task runs, best first (most of our fields found, run-like names first)."""
    scored = []
    for table, columns in table_columns.items():
        if table.lower().startswith("sqlite_"):
            continue
        guess = guess_columns(table, columns, base)
        if guess is None:
            continue
        fields = sum(1 for name in FIELDS if guess.column(name) in columns)
        run_like = any(word in table.lower() for word in _RUN_LIKE_NAMES)
        scored.append((-fields, not run_like, table))
    return [table for *_, table in sorted(scored)]


def suggest_failed(statuses: dict[str, int], mapping: TelemetryMapping, keep: bool) -> list[str]:
    """failed_statuses for a table: the failure-looking values it holds, in their stored case.

    With `keep` the configured values stay first (a failure status may simply not have occurred yet);
    otherwise only values seen count, or the configured ones when the table holds none.
    """
    kept = list(mapping.failed_statuses) if keep else []
    known = {k.strip().lower() for k in kept}
    seen = [
        s for s in statuses if (mapping.is_failed(s) or _looks_failed(s)) and s.strip().lower() not in known
    ]
    return kept + sorted(dict.fromkeys(seen), key=str.lower) or list(mapping.failed_statuses)


def keeps_failed(table: str, mapping: TelemetryMapping) -> bool:
    """The configured failed_statuses were set by the user (not our default) for this very table."""
    return table == mapping.table and "failed_statuses" in mapping.model_fields_set


def suggest_mapping(
    table: str, columns: list[str], statuses: dict[str, int], base: TelemetryMapping
) -> TelemetryMapping | None:
    """The mapping to paste for `table`: columns guessed where unset, failed_statuses from the data."""
    guess = guess_columns(table, columns, base)
    if guess is None:
        return None
    return guess.model_copy(
        update={"failed_statuses": suggest_failed(statuses, guess, keeps_failed(table, base))}
    )
