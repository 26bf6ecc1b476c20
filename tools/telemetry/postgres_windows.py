"""The PostgreSQL engine's SQL pieces: what it learned of the table, time windows in the column's own type,
and the values that come back.

It exists so that the PostgreSQL task source holds the questions and this module the composed SQL they
share: any time column as epoch seconds, `start <= created_at < end` against the raw column with bounds
of its own type (so any index on it serves the window), the keyset sort key, parameters cast to a
column's type, optional columns, the agent filter; and the way values return (ids and cursor keys as
JSON-able values, times as aware UTC instants). Mapped names are `psycopg.sql.Identifier`s, never pasted.
"""

from __future__ import annotations

import time
from datetime import datetime
from typing import Any

from .engine import duration_expression, raise_no_agent
from .source import SourceSchema
from .windows import Window

NUMERIC = ("smallint", "integer", "bigint", "numeric", "real", "double precision")


class Learned:
    """What the PostgreSQL engine learned of the table, and when (re-learned every RELEARN_SECONDS)."""

    def __init__(
        self, schema: SourceSchema, columns: dict[str, Any], types: dict[str, str], indexed: set[str]
    ):
        self.schema = schema
        self.columns = columns  # our field -> sql.Identifier, for the fields that exist
        self.types = types  # our field -> the column's type (format_type)
        self.indexed = indexed  # our fields some index starts with
        self.at = time.monotonic()
        self.checked = self.at  # the last time a query confirmed it
        self.page_sql: dict[Any, str] = {}  # find_tasks' statement per filter shape (postgres_pages)


def table_id(table: str) -> Any:
    """The mapped table as an identifier (`schema.table` names both)."""
    from psycopg import sql

    return sql.Identifier(*table.split(".", 1)) if "." in table else sql.Identifier(table)


def seconds(learned: Learned, field: str) -> Any:
    """A time column as epoch seconds, whatever it holds; NULL where it does not read."""
    from psycopg import sql

    column, kind = learned.columns[field], learned.types[field]
    if kind.startswith("timestamp with time zone"):
        return sql.SQL("extract(epoch from {})").format(column)
    if kind.startswith("timestamp") or kind == "date":
        return sql.SQL("extract(epoch from {}::timestamp AT TIME ZONE 'UTC')").format(column)
    text = sql.SQL("{}::text").format(column)
    return sql.SQL(
        "(CASE WHEN {t} ~ '^[0-9]+(\\.[0-9]+)?$' THEN {t}::float8 / (CASE WHEN {t}::float8 >= 1e11 THEN 1000.0 "
        "ELSE 1.0 END) WHEN {t} ~ '^\\d{{4}}-\\d{{2}}-\\d{{2}}' THEN extract(epoch from {t}::timestamptz) END)"
    ).format(t=text)


def sort_key(learned: Learned) -> Any:
    """The keyset ordering value: the raw column where its encoding orders as time, else epoch seconds."""
    if learned.schema.time.encoding.exact_range:
        return learned.columns["created_at"]
    return seconds(learned, "created_at")


def window_sql(learned: Learned, span: Window, params: dict[str, Any], prefix: str = "w") -> Any:
    """`start <= created_at < end` with bounds in the column's own type."""
    from psycopg import sql

    window_params(learned, span, params, prefix)
    return sql.SQL("{k} >= {lo} AND {k} < {hi}").format(
        k=sort_key(learned), lo=sql.Placeholder(f"{prefix}_lo"), hi=sql.Placeholder(f"{prefix}_hi")
    )


def window_params(learned: Learned, span: Window, params: dict[str, Any], prefix: str = "w") -> None:
    """The bounds `window_sql` compares with, in the column's own type."""
    encoding = learned.schema.time.encoding
    if encoding.exact_range:
        params[f"{prefix}_lo"], params[f"{prefix}_hi"] = encoding.bound(span.start), encoding.bound(span.end)
    else:
        params[f"{prefix}_lo"], params[f"{prefix}_hi"] = span.start.timestamp(), span.end.timestamp()


def agent_sql(learned: Learned, name: str | None, params: dict[str, Any]) -> Any:
    from psycopg import sql

    if name is None:
        return sql.SQL("")
    if "agent" not in learned.columns:
        raise_no_agent()
    params["agent"] = name
    return sql.SQL(" AND {} = %(agent)s").format(learned.columns["agent"])


def or_null(learned: Learned, field: str, as_text: bool = True) -> Any:
    """An optional column (as text unless told), or NULL where the table lacks it."""
    from psycopg import sql

    if field not in learned.columns:
        return sql.SQL("NULL")
    return sql.SQL("{}::text").format(learned.columns[field]) if as_text else learned.columns[field]


def typed(learned: Learned, field: str, name: str) -> Any:
    """A parameter cast to the column's own type (cursor values arrive as JSON text or numbers)."""
    from psycopg import sql

    kind = (
        "float8"
        if field == "created_at" and not learned.schema.time.encoding.exact_range
        else learned.types[field]
    )
    return sql.SQL("CAST({} AS {})").format(sql.Placeholder(name), sql.SQL(kind))


def duration(learned: Learned) -> tuple[Any, str] | None:
    """A task's duration in ms (the duration column, else finished_at - started_at) and its source."""
    from psycopg import sql

    c = learned.columns
    derived = None
    if "started_at" in c and "finished_at" in c:
        derived = sql.SQL("(({f}) - ({s})) * 1000.0").format(
            f=seconds(learned, "finished_at"), s=seconds(learned, "started_at")
        )
    measured = None
    if "duration_ms" in c:
        measured = (
            sql.SQL("{}::float8").format(c["duration_ms"])
            if learned.types["duration_ms"] in NUMERIC
            else sql.SQL("(CASE WHEN {d}::text ~ '^[0-9]+(\\.[0-9]+)?$' THEN {d}::text::float8 END)").format(
                d=c["duration_ms"]
            )
        )
    return duration_expression(measured, derived, lambda m, d: sql.SQL("COALESCE({}, {})").format(m, d))


def plain(value: Any) -> Any:
    """A value that travels in a JSON cursor: datetimes as ISO text, numerics as numbers."""
    from decimal import Decimal

    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, Decimal):
        return float(value)
    return value


def plain_id(value: Any) -> Any:
    """Task ids as JSON-able values (uuid -> text), the same on every engine."""
    return value if isinstance(value, int | str) else str(value)
