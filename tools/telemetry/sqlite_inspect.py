"""The SQLite file's catalog (tables, indexes) and the full look `self-improver telemetry check` takes.

It exists apart from the SQLite task source because the check reads the whole table (row count, every
status, every created_at value) and every table's columns for guessing a mapping, which the answers to
the named questions never do; the source only learns which columns and indexes there are, through the
catalog helpers here.
"""

from __future__ import annotations

import sqlite3
from typing import Any

from .mapping import TelemetryMapping
from .source import Inspection
from .sqlite_windows import quote, shown_quote
from .table_checks import column_reports, scan_times, statuses_by_count
from .timestamps import Detection, decode_any, detect_encoding

SAMPLE = 1000  # values read from each end of the table to learn the time encoding


def table_columns(conn: sqlite3.Connection, table: str) -> list[str]:
    return [row[1] for row in conn.execute("SELECT * FROM pragma_table_info(?)", (table,))]


def tables(conn: sqlite3.Connection) -> list[str]:
    return [
        r[0]
        for r in conn.execute("SELECT name FROM sqlite_master WHERE type IN ('table', 'view') ORDER BY name")
    ]


def indexes(conn: sqlite3.Connection, table: str) -> dict[str, list[str]]:
    found = {}
    for row in conn.execute("SELECT name FROM pragma_index_list(?)", (table,)):
        found[row[0]] = [
            r[0] for r in conn.execute("SELECT name FROM pragma_index_info(?) ORDER BY seqno", (row[0],))
        ]
    return found


def indexed_first_columns(conn: sqlite3.Connection, table: str) -> set[str]:
    return {cols[0] for cols in indexes(conn, table).values() if cols}


def sample_times(conn: sqlite3.Connection, mapping: TelemetryMapping, column: str) -> Detection:
    """The encoding from the oldest and newest rows by rowid (each row once, however small the table)."""
    table = quote(mapping.table)
    sampled: dict[Any, Any] = {}
    try:
        for order in ("ASC", "DESC"):
            for rowid, value in conn.execute(
                f"SELECT rowid, {column} FROM {table} WHERE {column} IS NOT NULL ORDER BY rowid {order} LIMIT {SAMPLE}"
            ):
                sampled[rowid] = value
        values = list(sampled.values())
    except sqlite3.OperationalError:  # a view or WITHOUT ROWID table: take rows as they come
        values = [
            r[0]
            for r in conn.execute(
                f"SELECT {column} FROM {table} WHERE {column} IS NOT NULL LIMIT {2 * SAMPLE}"
            )
        ]
    return detect_encoding(values, mapping.timestamp_format)


def inspect_table(conn: sqlite3.Connection, mapping: TelemetryMapping, location: str) -> Inspection:
    """Everything `telemetry check` reports of the mapped table (may scan the whole table)."""
    table = mapping.table
    present = table_columns(conn, table)
    names = tables(conn)
    found = Inspection(location, table, bool(present), names, column_reports(mapping, present), present)
    found.table_columns = {name: table_columns(conn, name) for name in names[:500]}
    if not present:
        return found
    q = quote
    found.rows = conn.execute(f"SELECT COUNT(*) FROM {q(table)}").fetchone()[0]
    status = mapping.column("status")
    if status in present:
        found.statuses = statuses_by_count(
            conn.execute(f"SELECT {q(status)}, COUNT(*) FROM {q(table)} GROUP BY 1 ORDER BY 2 DESC LIMIT 50")
        )
    created = mapping.column("created_at")
    if created in present:
        found.time = sample_times(conn, mapping, q(created))
        kind = found.time.encoding.kind if found.time.encoding.kind in ("epoch_s", "epoch_ms") else None
        values = (
            value
            for (value,) in conn.execute(
                f"SELECT {q(created)} FROM {q(table)} WHERE {q(created)} IS NOT NULL"
            )
        )
        found.unreadable_times, found.unreadable_example, found.first, found.last = scan_times(
            values, lambda value: decode_any(value, kind)
        )
        found.time_indexes = [
            name for name, cols in indexes(conn, table).items() if cols and cols[0] == created
        ]
        if not found.time_indexes:
            found.suggested_index = (
                f"CREATE INDEX {shown_quote('idx_' + table + '_' + created)} ON {shown_quote(table)}"
                f"({shown_quote(created)}" + (f", {shown_quote(status)}" if status in present else "") + ");"
            )
    return found
