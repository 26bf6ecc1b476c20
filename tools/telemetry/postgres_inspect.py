"""The full look `self-improver telemetry check` takes at a PostgreSQL table.

It exists apart from the PostgreSQL task source because the check reads what the questions never do:
every table the role can see with its columns (for guessing a mapping), the row count, every status, and
every created_at value (through a server-side cursor, so a large table streams instead of loading), and
it names the index to create when none starts with the time column.
"""

from __future__ import annotations

from typing import Any

from .engine import decode_time
from .mapping import TelemetryMapping
from .postgres_schema import detect, table_columns
from .postgres_windows import table_id
from .source import Inspection
from .table_checks import column_reports, scan_times, statuses_by_count


def inspect_table(conn: Any, mapping: TelemetryMapping, location: str) -> Inspection:
    """Everything `telemetry check` reports of the mapped table (scans the whole time column)."""
    from psycopg import sql

    present = table_columns(conn, mapping.table)
    tables = [
        r[0]
        for r in conn.execute(
            "SELECT CASE WHEN table_schema = current_schema() THEN table_name ELSE table_schema || '.' || "
            "table_name END FROM information_schema.tables WHERE table_schema NOT IN ('pg_catalog', "
            "'information_schema') ORDER BY 1 LIMIT 200"
        )
    ]
    found = Inspection(
        location, mapping.table, bool(present), tables, column_reports(mapping, present), list(present)
    )
    for name in tables:
        rows = conn.execute(
            "SELECT column_name FROM information_schema.columns WHERE table_schema || '.' || table_name = %s "
            "OR (table_schema = current_schema() AND table_name = %s) ORDER BY ordinal_position",
            (name, name),
        ).fetchall()
        found.table_columns[name] = [r[0] for r in rows]
    if not present:
        return found
    t = table_id(mapping.table)
    found.rows = conn.execute(sql.SQL("SELECT count(*) FROM {}").format(t)).fetchone()[0]
    status = mapping.column("status")
    if status in present:
        found.statuses = statuses_by_count(
            conn.execute(
                sql.SQL("SELECT {s}::text, count(*) FROM {t} GROUP BY 1 ORDER BY 2 DESC LIMIT 50").format(
                    s=sql.Identifier(status), t=t
                )
            )
        )
    created = mapping.column("created_at")
    if created in present:
        found.time = detect(conn, mapping, sql.Identifier(created), present[created])
        encoding = found.time.encoding
        with conn.cursor(name="self_improver_check") as cursor:
            cursor.itersize = 10_000
            cursor.execute(
                sql.SQL("SELECT {c} FROM {t} WHERE {c} IS NOT NULL").format(c=sql.Identifier(created), t=t)
            )
            found.unreadable_times, found.unreadable_example, found.first, found.last = scan_times(
                (value for (value,) in cursor), lambda value: decode_time(encoding, value)
            )
        found.time_indexes = [
            r[0]
            for r in conn.execute(
                sql.SQL(
                    "SELECT c.relname FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid JOIN pg_attribute a "
                    "ON a.attrelid = i.indrelid AND a.attnum = i.indkey[0] WHERE i.indrelid = to_regclass({}) "
                    "AND a.attname = %s"
                ).format(sql.Literal(t.as_string(conn))),
                (created,),
            )
        ]
        if not found.time_indexes:
            found.suggested_index = (
                sql.SQL("CREATE INDEX CONCURRENTLY {i} ON {t} ({c}{s});")
                .format(
                    i=sql.Identifier(f"idx_{mapping.table.split('.')[-1]}_{created}"),
                    t=t,
                    c=sql.Identifier(created),
                    s=sql.SQL(", {}").format(sql.Identifier(status)) if status in present else sql.SQL(""),
                )
                .as_string(conn)
            )
    return found
