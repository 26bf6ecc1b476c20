"""The report of `self-improver telemetry check`: what one table looks like under a mapping, the verdict
and exit code, the `[telemetry]` block to paste, as JSON and as text.

It exists apart from the check itself (`doctor`) so that how the findings are shown (the JSON answer, the
text a user reads, the TOML block) changes apart from how they are found.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from .health import _looks_failed
from .mapping import FIELDS, REQUIRED_FIELDS, TelemetryMapping
from .source import Inspection
from .windows import utc_text

OK, WARNINGS, UNREADABLE = 0, 1, 2


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
        f"failed_statuses = {toml_list(mapping.failed_statuses)}",
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


def toml_list(values: list[str]) -> str:
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
        lines.append(f"  statuses in {status!r} (failed_statuses = {toml_list(mapping.failed_statuses)}):")
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
