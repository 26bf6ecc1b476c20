"""What both engines tell the user about the mapped table: the refusals and warnings of learning it, and
the parts of the full `telemetry check` look that do not depend on the engine.

It exists so that SQLite and PostgreSQL say the same thing in the same words (a missing table, missing
required columns, mapped columns that are gone, unreadable or mixed times) and read a time column's full
scan the same way; each engine only supplies where the table is and its own advice on storing times.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable, Mapping
from datetime import datetime
from typing import Any

from ..support.problems import UnavailableError
from .mapping import OPTIONAL_FIELDS, REQUIRED_FIELDS, TelemetryMapping
from .source import ColumnReport
from .timestamps import Detection


def no_table(where: str, table: str, tables: list[str], seen: str = "") -> UnavailableError:
    """The refusal for a table that is not there (`seen`: how the engine looked, e.g. the role's view)."""
    return UnavailableError(
        f"{where} has no table {table!r}{seen} (tables: {', '.join(tables) or 'none'}): set "
        '[telemetry] table = "<your table>" and map its columns under [telemetry.columns] '
        "(`self-improver telemetry check` suggests the block)"
    )


def check_required(mapping: TelemetryMapping, where: str, present: Collection[str]) -> None:
    """Refuse a table that lacks a required column, naming the mapping line that would fix it."""
    table = mapping.table
    missing = [f for f in REQUIRED_FIELDS if mapping.column(f) not in present]
    if missing:
        named = ", ".join(
            f + (f" (mapped to {mapping.column(f)!r})" if f in mapping.columns else "") for f in missing
        )
        raise UnavailableError(
            f"the table {table!r} in {where} lacks required column(s) {named}: the minimum is "
            f"{table}({', '.join(REQUIRED_FIELDS)}); map yours under [telemetry.columns], e.g. "
            f'{missing[0]} = "<your column>" (its columns: {", ".join(sorted(present))})'
        )


def learn_warnings(
    mapping: TelemetryMapping,
    present: Collection[str],
    found: Collection[str],
    detection: Detection,
    time_types: str,
    one_format: str,
) -> list[str]:
    """Warnings every answer carries: mapped optional columns that are gone, times that do not read (with
    the engine's `time_types` to store instead), mixed time formats (with its `one_format` advice)."""
    warnings = [
        f"[telemetry.columns] maps {f} to {mapping.column(f)!r}, which the table {mapping.table!r} does not "
        f"have (its columns: {', '.join(sorted(present))}): fix the name or drop the line"
        for f in OPTIONAL_FIELDS
        if f in mapping.columns and f not in found
    ]
    if detection.unreadable:
        warnings.append(
            f"{detection.unreadable} of {detection.sampled} sampled created_at values could not be read as "
            f"times (e.g. {detection.unreadable_example!r}): they fall in no window; store {time_types} or "
            "epoch seconds/milliseconds, or set [telemetry] timestamp_format"
        )
    if detection.encoding.kind in ("iso_mixed", "mixed"):
        warnings.append(
            f"created_at holds {detection.encoding.describe()}: answers are exact but every window reads "
            f"each row through a conversion; {one_format}"
        )
    return warnings


def column_reports(mapping: TelemetryMapping, present: Collection[str]) -> list[ColumnReport]:
    """Each of our fields, the column it maps to, and whether the table has it."""
    return [
        ColumnReport(f, mapping.column(f), mapping.column(f) in present)
        for f in REQUIRED_FIELDS + OPTIONAL_FIELDS
    ]


def scan_times(
    values: Iterable[Any], decode: Callable[[Any], datetime | None]
) -> tuple[int, str | None, datetime | None, datetime | None]:
    """A full scan of a time column: (values that do not read, one of them, first time, last time)."""
    first = last = None
    unreadable = 0
    example = None
    for value in values:
        moment = decode(value)
        if moment is None:
            unreadable += 1
            example = example or str(value)[:80]
            continue
        first = moment if first is None or moment < first else first
        last = moment if last is None or moment > last else last
    return unreadable, example, first, last


def statuses_by_count(rows: Iterable[tuple[Any, Any]]) -> dict[str, int]:
    return {str(s): int(n) for s, n in rows}


def found_columns(mapping: TelemetryMapping, present: Mapping[str, Any] | Collection[str]) -> list[str]:
    """Our fields whose mapped column the table has, required ones first."""
    return [f for f in REQUIRED_FIELDS + OPTIONAL_FIELDS if mapping.column(f) in present]
