"""What the PostgreSQL engine learns of the mapped table: its columns and their types, the indexes that
start with a column, and how created_at is stored.

It exists apart from the PostgreSQL task source because learning reads the catalog (`pg_attribute`,
`pg_index`) and samples the time column, which the questions never do; the source calls `learn` once and
again every few minutes, and `telemetry check` reuses the catalog reads and the time detection.
"""

from __future__ import annotations

from typing import Any

from .mapping import TelemetryMapping
from .postgres_windows import NUMERIC, Learned, table_id
from .source import SourceSchema
from .table_checks import check_required, found_columns, learn_warnings, no_table
from .timestamps import Detection, TimeEncoding, detect_encoding

SAMPLE = 1000  # values read from each end of the table to learn the time encoding


def table_columns(conn: Any, table: str) -> dict[str, str]:
    """The table's columns and their types (format_type), in order; {} when the role sees no such table."""
    rows = _catalog(
        conn,
        table,
        "SELECT a.attname, format_type(a.atttypid, a.atttypmod) FROM pg_attribute a "
        "WHERE a.attrelid = to_regclass({}) AND a.attnum > 0 AND NOT a.attisdropped ORDER BY a.attnum",
    )
    return {name: kind for name, kind in rows}


def indexed_first(conn: Any, table: str) -> set[str]:
    """The columns some index of the table starts with."""
    rows = _catalog(
        conn,
        table,
        "SELECT a.attname FROM pg_index i JOIN pg_attribute a ON a.attrelid = i.indrelid "
        "AND a.attnum = i.indkey[0] WHERE i.indrelid = to_regclass({})",
    )
    return {r[0] for r in rows}


def _catalog(conn: Any, table: str, query: str) -> list[Any]:
    """A catalog query about the table, its `{}` the table's name as a literal for `to_regclass`."""
    from psycopg import sql

    return conn.execute(sql.SQL(query).format(sql.Literal(table_id(table).as_string(conn)))).fetchall()  # type: ignore[no-any-return]


def detect(conn: Any, mapping: TelemetryMapping, column: Any, kind: str) -> Detection:
    """How created_at is stored: its type where that says it, else a sample from both ends of the table."""
    from psycopg import sql

    if kind.startswith("timestamp with time zone"):
        return Detection(TimeEncoding("native"), 0, 0, None, {"timestamptz": 1})
    if kind.startswith("timestamp") or kind == "date":
        return Detection(TimeEncoding("native_naive"), 0, 0, None, {kind: 1})
    values: list[Any] = []
    for order in (sql.SQL("ASC"), sql.SQL("DESC")):
        values += [
            r[0]
            for r in conn.execute(
                sql.SQL("SELECT {c} FROM {t} WHERE {c} IS NOT NULL ORDER BY ctid {o} LIMIT {n}").format(
                    c=column, t=table_id(mapping.table), o=order, n=sql.Literal(SAMPLE)
                )
            )
        ]
    detection = detect_encoding(values, mapping.timestamp_format)
    if kind in NUMERIC and detection.encoding.kind in ("epoch_s", "epoch_ms"):
        encoding = TimeEncoding(detection.encoding.kind, "number")
        return Detection(encoding, detection.sampled, detection.unreadable, detection.unreadable_example, {})
    return detection


def learn(conn: Any, mapping: TelemetryMapping, location: str) -> Learned:
    """The table as the questions need it; refuses a missing table or missing required columns."""
    from psycopg import sql

    present = table_columns(conn, mapping.table)
    if not present:
        tables = [
            r[0]
            for r in conn.execute(
                "SELECT table_schema || '.' || table_name FROM information_schema.tables WHERE table_schema NOT IN "
                "('pg_catalog', 'information_schema') ORDER BY 1 LIMIT 30"
            )
        ]
        raise no_table(location, mapping.table, tables, seen=" the role can see")
    check_required(mapping, location, present)
    fields = found_columns(mapping, present)
    columns = {f: sql.Identifier(mapping.column(f)) for f in fields}
    types = {f: present[mapping.column(f)] for f in fields}
    detection = detect(conn, mapping, columns["created_at"], types["created_at"])
    warnings = learn_warnings(
        mapping,
        present,
        columns,
        detection,
        time_types="timestamptz, ISO 8601",
        one_format="store one format (timestamptz is best)",
    )
    indexed_columns = indexed_first(conn, mapping.table)
    indexed = {f for f in fields if mapping.column(f) in indexed_columns}
    schema = SourceSchema(
        fields=frozenset(fields),
        time=detection,
        time_indexed="created_at" in indexed,
        warnings=tuple(warnings),
    )
    return Learned(schema, columns, types, indexed)
