"""`self-improver telemetry check`: what the configured mapping reads from the user's table, and a fix.

`check_telemetry` asks the task source to `inspect()` the configured table and turns the answer into a
report: which of our fields resolve to which column, the status values and which of them count as
failed, how times are stored and whether they all read, the time index, and a `[telemetry]` block to
paste. When the configured table is missing or lacks required columns, the block is guessed from the
tables that are there: one that looks like task runs (a status-like, a time-like, an id-like and an
error-like column), its columns mapped by their usual names, failed_statuses from the values it holds.

Exit codes: 0 the table reads as configured and nothing is wrong, 1 it reads with warnings, 2 it does
not read (no table, or required columns missing).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .health import _looks_failed
from .mapping import FIELDS, OPTIONAL_FIELDS, REQUIRED_FIELDS, TelemetryMapping
from .source import Inspection, open_source
from .windows import utc_text

OK, WARNINGS, UNREADABLE = 0, 1, 2

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


@dataclass
class Section:
    """What one table looks like under one mapping (the configured one, or the guessed one)."""

    mapping: TelemetryMapping
    inspection: Inspection
    problems: list[str] = field(default_factory=list)  # the table does not read: exit 2
    warnings: list[str] = field(default_factory=list)  # it reads, but answers are off or slow: exit 1
    notes: list[str] = field(default_factory=list)

    @property
    def readable(self) -> bool:
        return not self.problems

    def failed(self) -> dict[str, int]:
        return {s: n for s, n in self.inspection.statuses.items() if self.mapping.is_failed(s)}

    def unmapped_failures(self) -> dict[str, int]:
        return {
            s: n
            for s, n in self.inspection.statuses.items()
            if not self.mapping.is_failed(s) and _looks_failed(s)
        }

    def to_json(self) -> dict[str, Any]:
        found = self.inspection
        time = found.time
        return {
            "table": found.table,
            "table_found": found.table_found,
            "rows": found.rows,
            "fields": [
                {
                    "field": c.field,
                    "column": c.column,
                    "required": c.field in REQUIRED_FIELDS,
                    "found": c.found,
                }
                for c in found.columns
            ],
            "statuses": [
                {"status": s, "count": n, "failed": self.mapping.is_failed(s)}
                for s, n in found.statuses.items()
            ],
            "failed_statuses": self.mapping.failed_statuses,
            "unmapped_failure_statuses": self.unmapped_failures(),
            "time": None
            if time is None
            else {
                "column": self.mapping.column("created_at"),
                "encoding": time.encoding.kind,
                "description": time.encoding.describe(),
                "storage_types": time.storage_types,
                "unreadable": found.unreadable_times,
                "unreadable_example": found.unreadable_example,
                "first": _iso(found.first),
                "last": _iso(found.last),
            },
            "time_indexes": found.time_indexes,
            "suggested_index": found.suggested_index,
            "problems": self.problems,
            "warnings": self.warnings,
            "notes": self.notes,
        }


@dataclass
class CheckReport:
    location: str
    configured: Section
    guessed: Section | None  # set when the configured table does not read and another table fits
    suggested: TelemetryMapping | None  # the block to paste; None when no table looks like task runs
    suggested_from: str  # "configured" | "guessed" | "none"
    other_candidates: list[str] = field(default_factory=list)

    @property
    def exit_code(self) -> int:
        if not self.configured.readable:
            return UNREADABLE
        return WARNINGS if self.configured.warnings else OK

    def to_json(self) -> dict[str, Any]:
        return {
            "database": self.location,
            "exit_code": self.exit_code,
            "tables": self.configured.inspection.tables,
            "configured": self.configured.to_json(),
            "guessed": None if self.guessed is None else self.guessed.to_json(),
            "suggested": None if self.suggested is None else mapping_dict(self.suggested),
            "suggested_from": self.suggested_from,
            "suggested_toml": None if self.suggested is None else mapping_toml(self.suggested),
            "other_candidates": self.other_candidates,
            "problems": self.configured.problems,
            "warnings": self.configured.warnings,
        }

    def render(self) -> str:
        return render_text(self)


# -- the check --------------------------------------------------------------------------------------
async def check_telemetry(location: str | Path, mapping: TelemetryMapping) -> CheckReport:
    """Inspect the configured table (and, when it does not read, the best other candidate)."""
    configured = await _section(location, mapping)
    found = configured.inspection
    if configured.readable:
        suggested = suggest_mapping(found.table, found.all_columns, found.statuses, mapping)
        if suggested is not None:
            suggested = await _time_format(location, suggested, found)
        return CheckReport(found.location, configured, None, suggested, "configured")

    candidates = rank_tables(found.table_columns, mapping)
    if found.table_found and found.table in candidates:  # the configured table, its columns guessed
        candidates.remove(found.table)
        candidates.insert(0, found.table)
    if not candidates:
        return CheckReport(found.location, configured, None, None, "none")
    table = candidates[0]
    draft = guess_columns(table, found.table_columns[table], mapping)
    assert draft is not None  # rank_tables lists only tables whose required fields all map
    if table != mapping.table:
        draft = draft.model_copy(update={"timestamp_format": "auto"})  # the configured one is another table's
    look = await _inspect(location, draft)
    suggested = suggest_mapping(table, found.table_columns[table], look.statuses, draft)
    assert suggested is not None
    suggested = await _time_format(location, suggested, look)
    guessed = Section(suggested, look)
    _judge(guessed)
    return CheckReport(found.location, configured, guessed, suggested, "guessed", candidates[1:6])


async def _inspect(location: str | Path, mapping: TelemetryMapping) -> Inspection:
    source = open_source(location, mapping)
    try:
        return await source.inspect()
    finally:
        await source.close()


async def _section(location: str | Path, mapping: TelemetryMapping) -> Section:
    found = await _inspect(location, mapping)
    section = Section(mapping, found)
    _judge(section)
    return section


def _judge(section: Section) -> None:
    """Fill a section's problems, warnings and notes from its inspection."""
    found, mapping = section.inspection, section.mapping
    if not found.table_found:
        section.problems.append(
            f"no table {found.table!r} in {found.location} (tables: {', '.join(found.tables[:20]) or 'none'}); "
            'set [telemetry] table = "<your table>" (or SELF_IMPROVER_TELEMETRY__TABLE)'
        )
        return
    missing = [c for c in found.columns if c.field in REQUIRED_FIELDS and not c.found]
    if missing:
        named = ", ".join(f"{c.field} (looked for column {c.column!r})" for c in missing)
        section.problems.append(
            f"the table {found.table!r} lacks required field(s) {named}; map them under "
            f'[telemetry.columns], e.g. {missing[0].field} = "<your column>" '
            f"(or SELF_IMPROVER_TELEMETRY__COLUMNS__{missing[0].field.upper()})"
        )
    for c in found.columns:
        if c.field in OPTIONAL_FIELDS and c.field in mapping.columns and not c.found:
            section.warnings.append(
                f"[telemetry.columns] maps {c.field} to {c.column!r}, which the table {found.table!r} does "
                "not have: fix the name or drop the line"
            )
    if found.rows == 0:
        section.notes.append(
            f"the table {found.table!r} has no rows yet: nothing to check beyond its columns"
        )
    unmapped = section.unmapped_failures()
    if unmapped:
        listed = ", ".join(f"{s!r} ({n})" for s, n in unmapped.items())
        wanted = suggest_failed(found.statuses, mapping, _keeps_failed(found.table, mapping))
        section.warnings.append(
            f"statuses that look like failures are NOT counted as failed: {listed}; if they are failures, set "
            f"[telemetry] failed_statuses = {_toml_list(wanted)} "
            f"(or SELF_IMPROVER_TELEMETRY__FAILED_STATUSES='{json.dumps(wanted)}')"
        )
    elif found.statuses and not section.failed():
        section.notes.append(
            f"no task has a status in failed_statuses {mapping.failed_statuses}, so failures read as 0; "
            "if your failures use another word, add it to [telemetry] failed_statuses"
        )
    time = found.time
    if time is not None and found.rows:
        if found.unreadable_times:
            section.warnings.append(
                f"{found.unreadable_times} of {found.rows} {mapping.column('created_at')!r} values are not times "
                f"(e.g. {found.unreadable_example!r}): those tasks fall in no window; store ISO 8601 or epoch "
                "seconds/milliseconds, or set [telemetry] timestamp_format"
            )
        if time.encoding.kind in ("iso_mixed", "mixed"):
            served = (
                "the index only narrows each window to a range a day wider"
                if time.encoding.kind == "iso_mixed"
                else "no index can serve a window"
            )
            section.warnings.append(
                f"{mapping.column('created_at')!r} holds {time.encoding.describe()}: answers are exact, but every "
                f"window converts each row it reads and {served}; store one format"
            )
        if not found.time_indexes and found.suggested_index:
            section.warnings.append(
                f"no index starts with {mapping.column('created_at')!r}, so every window scans the whole table; "
                f"run (a one-off write, by you): {found.suggested_index}"
            )


# -- guessing ---------------------------------------------------------------------------------------
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


def _keeps_failed(table: str, mapping: TelemetryMapping) -> bool:
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
        update={"failed_statuses": suggest_failed(statuses, guess, _keeps_failed(table, base))}
    )


async def _time_format(location: str | Path, mapping: TelemetryMapping, seen: Inspection) -> TelemetryMapping:
    """Drop a configured timestamp_format when auto-detection reads the column just as well."""
    if mapping.timestamp_format == "auto" or seen.time is None:
        return mapping
    auto = mapping.model_copy(update={"timestamp_format": "auto"})
    look = await _inspect(location, auto)
    if (
        look.time is not None
        and look.time.encoding.kind == seen.time.encoding.kind
        and look.unreadable_times <= seen.unreadable_times
    ):
        return auto
    return mapping


# -- output -----------------------------------------------------------------------------------------
def mapping_dict(mapping: TelemetryMapping) -> dict[str, Any]:
    shown: dict[str, Any] = {"table": mapping.table, "failed_statuses": list(mapping.failed_statuses)}
    if mapping.timestamp_format != "auto":
        shown["timestamp_format"] = mapping.timestamp_format
    shown["columns"] = {name: mapping.columns[name] for name in FIELDS if name in mapping.columns}
    return shown


def mapping_toml(mapping: TelemetryMapping) -> str:
    """The `[telemetry]` block of a config file for `mapping` (only what differs from our names)."""
    lines = [
        "[telemetry]",
        f"table = {_toml_str(mapping.table)}",
        f"failed_statuses = {_toml_list(mapping.failed_statuses)}",
    ]
    if mapping.timestamp_format != "auto":
        lines.append(f"timestamp_format = {_toml_str(mapping.timestamp_format)}")
    columns = [(name, mapping.columns[name]) for name in FIELDS if name in mapping.columns]
    if columns:
        lines += ["", "[telemetry.columns]"]
        lines += [f"{name} = {_toml_str(column)}" for name, column in columns]
    return "\n".join(lines) + "\n"


def _toml_str(text: str) -> str:
    return json.dumps(text, ensure_ascii=False)  # a JSON string is a valid TOML basic string


def _toml_list(values: list[str]) -> str:
    return "[" + ", ".join(_toml_str(v) for v in values) + "]"


def _iso(moment: Any) -> str | None:
    return None if moment is None else moment.isoformat()


def _section_lines(section: Section, heading: str) -> list[str]:
    found, mapping = section.inspection, section.mapping
    lines = [heading]
    if not found.table_found:
        lines.append(f"  table {found.table!r}: NOT FOUND")
        return lines
    lines.append(f"  table {found.table!r}: found, {found.rows} row(s)")
    lines.append("  fields (ours -> your column):")
    for c in found.columns:
        need = "required" if c.field in REQUIRED_FIELDS else "optional"
        state = "ok" if c.found else ("MISSING" if c.field in REQUIRED_FIELDS else "missing")
        lines.append(f"    {c.field:<12} -> {c.column:<20} {state} ({need})")
    status = mapping.column("status")
    if found.statuses:
        lines.append(f"  statuses in {status!r} (failed_statuses = {_toml_list(mapping.failed_statuses)}):")
        unmapped = section.unmapped_failures()
        for value, count in found.statuses.items():
            mark = (
                "failed"
                if mapping.is_failed(value)
                else ("LOOKS FAILED, NOT COUNTED" if value in unmapped else "")
            )
            lines.append(f"    {value!r:<24} {count:>10}  {mark}".rstrip())
        if unmapped:
            lines.append(
                f"  !! {len(unmapped)} failure-looking status(es) are not in failed_statuses: "
                f"{', '.join(repr(s) for s in unmapped)} - their failures are invisible"
            )
    time = found.time
    if time is not None:
        created = mapping.column("created_at")
        lines.append(f"  time column {created!r}: {time.encoding.describe()}")
        if mapping.timestamp_format != "auto":
            lines.append(f"    timestamp_format = {mapping.timestamp_format!r} (configured)")
        if found.unreadable_times:
            lines.append(
                f"    unreadable values: {found.unreadable_times} (e.g. {found.unreadable_example!r})"
            )
        else:
            lines.append("    unreadable values: 0")
        if found.first is not None and found.last is not None:
            lines.append(f"    first {utc_text(found.first)} UTC, last {utc_text(found.last)} UTC")
        if found.time_indexes:
            lines.append(f"    indexed by: {', '.join(found.time_indexes)}")
        elif found.suggested_index:
            lines.append(f"    no index starts with {created!r}; to add one: {found.suggested_index}")
    return lines


def render_text(report: CheckReport) -> str:
    configured = report.configured
    found = configured.inspection
    lines = [f"self-improver telemetry check: {report.location} (opened read-only)"]
    lines.append(f"tables: {', '.join(found.tables) or 'none'}")
    lines.append("")
    lines += _section_lines(configured, "As configured:")
    if report.guessed is not None:
        lines.append("")
        lines += _section_lines(
            report.guessed, f"Guessed: table {report.guessed.inspection.table!r} looks like task runs:"
        )
        if report.other_candidates:
            lines.append(f"  other tables that could be task runs: {', '.join(report.other_candidates)}")
    lines.append("")
    if report.suggested is None:
        lines.append(
            "No table here looks like task runs (a status, a time, an id and an error column): map yours by "
            "hand under [telemetry] and [telemetry.columns]."
        )
    else:
        if report.suggested_from == "guessed":
            lead = "Suggested [telemetry] block (guessed; check it, then paste it into your config file):"
        elif report.suggested == configured.mapping:
            lead = "Your [telemetry] mapping reads this table; as a block:"
        else:
            lead = "Suggested [telemetry] block (paste it into your config file):"
        lines.append(lead)
        lines += ["", *mapping_toml(report.suggested).splitlines(), ""]
    problems, warnings, notes = configured.problems, configured.warnings, configured.notes
    for label, items in (("PROBLEM", problems), ("WARNING", warnings), ("note", notes)):
        lines += [f"{label}: {item}" for item in items]
    verdict = {
        OK: "OK: the table reads as configured and nothing is wrong",
        WARNINGS: f"the table reads, with {len(warnings)} warning(s)",
        UNREADABLE: "the table does not read as configured",
    }[report.exit_code]
    lines.append(f"verdict: {verdict} (exit {report.exit_code})")
    if report.suggested_from == "guessed":
        lines.append(
            "next: put the suggested block in your config file (--config FILE or SELF_IMPROVER_CONFIG) and "
            "run `self-improver telemetry check` again"
        )
    return "\n".join(lines) + "\n"
