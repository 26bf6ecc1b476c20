"""`self-improver telemetry check`: what the configured mapping reads from the user's table, and a fix.

`check_telemetry` asks the task source to `inspect()` the configured table and turns the answer into a
report: which of our fields resolve to which column, the status values and which of them count as
failed, how times are stored and whether they all read, the time index, and a `[telemetry]` block to
paste. When the configured table is missing or lacks required columns, the block is guessed from the
tables that are there: one that looks like task runs (a status-like, a time-like, an id-like and an
error-like column), its columns mapped by their usual names, failed_statuses from the values it holds.

Exit codes: 0 the table reads as configured and nothing is wrong, 1 it reads with warnings, 2 it does
not read (no table, or required columns missing). The guessing lives in `doctor_guess`, the report and
its text and JSON forms in `doctor_report`.
"""

from __future__ import annotations

import json
from pathlib import Path

from .doctor_guess import guess_columns, keeps_failed, rank_tables, suggest_failed, suggest_mapping
from .doctor_report import CheckReport, Section, toml_list
from .mapping import OPTIONAL_FIELDS, REQUIRED_FIELDS, TelemetryMapping
from .source import Inspection, open_source


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
        wanted = suggest_failed(found.statuses, mapping, keeps_failed(found.table, mapping))
        section.warnings.append(
            f"statuses that look like failures are NOT counted as failed: {listed}; if they are failures, set "
            f"[telemetry] failed_statuses = {toml_list(wanted)} "
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
