"""The SQLite engine's SQL pieces: what it learned of the table, and time windows in the column's encoding.

It exists so that the SQLite task source holds the questions and this module the SQL text they share:
quoted names, any stored time as epoch seconds, `start <= created_at < end` as an index-served range
wherever the encoding allows, the keyset sort key, the optional columns and the agent filter. Mapped
names are quoted here, never pasted.
"""

from __future__ import annotations

import time
from datetime import timedelta
from typing import Any

from .engine import duration_expression, raise_no_agent
from .source import SourceSchema
from .windows import Window

_DAY = timedelta(days=1)


class Learned:
    """What the SQLite engine learned of the table, and when (re-learned when the schema changes)."""

    def __init__(
        self, schema: SourceSchema, columns: dict[str, str], version: int, stamp: Any, indexed: set[str]
    ):
        self.schema = schema
        self.indexed = indexed  # columns some index starts with
        self.columns = columns  # our field -> quoted column, for the fields that exist
        self.version = version
        self.stamp = stamp
        self.at = time.monotonic()
        self.checked = self.at  # the last time a query confirmed it


def quote(name: str) -> str:
    """An SQL identifier, quoted: mapped names are data, never SQL text. In grave accents, not double
    quotes: SQLite reads a double-quoted name that names no column as a string literal, so a column
    dropped after the schema was learned would read as its own name in every row, not fail."""
    return "`" + name.replace("`", "``") + "`"


def shown_quote(name: str) -> str:
    """An identifier in standard SQL's double quotes, for statements we show the user to run."""
    return '"' + name.replace('"', '""') + '"'


def epoch_seconds_sql(column: str) -> str:
    """Any stored time (epoch s/ms number or digits, ISO text) as epoch seconds; NULL when unreadable."""
    n = f"CAST({column} AS REAL)"
    return (
        f"(CASE WHEN typeof({column}) IN ('integer', 'real') OR ({column} GLOB '[0-9]*' AND {column} NOT GLOB "
        f"'*[^0-9.]*') THEN {n} / (CASE WHEN {n} >= 1e11 THEN 1000.0 ELSE 1.0 END) "
        f"ELSE (julianday({column}) - 2440587.5) * 86400.0 END)"
    )


def numeric_sql(column: str) -> str:
    """A duration column as a number: NULL for text that is not one (SQLite would read it as 0)."""
    return f"(CASE WHEN typeof({column}) IN ('integer', 'real') THEN {column} WHEN {column} GLOB '[0-9]*' AND {column} NOT GLOB '*[^0-9.]*' THEN CAST({column} AS REAL) END)"


def window_sql(learned: Learned, window: Window, params: dict[str, Any], prefix: str = "w") -> str:
    """`start <= created_at < end`, index-served wherever the encoding allows."""
    column = learned.columns["created_at"]
    encoding = learned.schema.time.encoding
    if encoding.exact_range:
        params[f"{prefix}_lo"], params[f"{prefix}_hi"] = (
            encoding.bound(window.start),
            encoding.bound(window.end),
        )
        return f"{column} >= :{prefix}_lo AND {column} < :{prefix}_hi"
    params[f"{prefix}_lo"] = window.start.timestamp()
    params[f"{prefix}_hi"] = window.end.timestamp()
    exact = f"{epoch_seconds_sql(column)} >= :{prefix}_lo AND {epoch_seconds_sql(column)} < :{prefix}_hi"
    if encoding.kind == "iso_mixed":  # all text: a wider text range still narrows the scan by index
        params[f"{prefix}_wlo"] = (window.start.replace(tzinfo=None) - _DAY).strftime("%Y-%m-%d")
        params[f"{prefix}_whi"] = (window.end.replace(tzinfo=None) + 2 * _DAY).strftime("%Y-%m-%d")
        return f"{column} >= :{prefix}_wlo AND {column} < :{prefix}_whi AND {exact}"
    return exact


def sort_key(learned: Learned) -> str:
    """The keyset ordering value: the raw column where its encoding orders as time, else epoch seconds."""
    column = learned.columns["created_at"]
    return column if learned.schema.time.encoding.exact_range else epoch_seconds_sql(column)


def agent_sql(learned: Learned, agent: str | None, params: dict[str, Any]) -> str:
    if agent is None:
        return ""
    if "agent" not in learned.columns:
        raise_no_agent()
    params["agent"] = agent
    return f" AND {learned.columns['agent']} = :agent"


def or_null(learned: Learned, name: str) -> str:
    """An optional column under our name, or NULL where the table lacks it."""
    return f"{learned.columns[name]} AS {name}" if name in learned.columns else f"NULL AS {name}"


def duration_sql(learned: Learned) -> tuple[str, str] | None:
    """A task's duration in ms (the duration column, else finished_at - started_at) and its source."""
    c = learned.columns
    derived = (
        f"({epoch_seconds_sql(c['finished_at'])} - {epoch_seconds_sql(c['started_at'])}) * 1000.0"
        if "started_at" in c and "finished_at" in c
        else None
    )
    measured = numeric_sql(c["duration_ms"]) if "duration_ms" in c else None
    return duration_expression(measured, derived, lambda m, d: f"COALESCE({m}, {d})")
