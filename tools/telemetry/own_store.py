"""Whether a telemetry location is self-improver's own store, the only kind it ever writes to.

`ingest` and the OTLP receiver write tasks; a user's own database (a PostgreSQL URL, a `[telemetry]`
mapping of their table, a SQLite file whose tables we did not create) is only ever read.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

from .locations import is_postgres, masked_url
from .mapping import TelemetryMapping
from .schema import SCHEMA_VERSION


def write_refusal(location: str, mapping: TelemetryMapping, what: str = "received spans") -> str | None:
    """Why `what` cannot be written at `location` under `mapping`, or None when it is (or will be) ours."""
    new_file = f"pass --telemetry-db with a new SQLite file for {what}"
    if is_postgres(location):
        return (
            f"the telemetry database is PostgreSQL ({masked_url(location)}), which self-improver only "
            f"reads; {what} go into a SQLite store of self-improver's own: {new_file}, or leave "
            "it unset for <data dir>/telemetry.db"
        )
    if mapping.table != "tasks" or mapping.columns:
        return (
            f"a [telemetry] mapping reads your own table {mapping.table!r}; {what} go into "
            f"self-improver's own tasks table: {new_file} and no [telemetry] mapping"
        )
    path = Path(location)
    if not path.exists():
        return None
    try:
        conn = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)
        try:
            version = conn.execute("PRAGMA user_version").fetchone()[0]
            tables = [
                r[0]
                for r in conn.execute(
                    "SELECT name FROM sqlite_master WHERE type IN ('table', 'view') AND name NOT LIKE 'sqlite_%'"
                )
            ]
        finally:
            conn.close()
    except sqlite3.Error as exc:
        return f"cannot write to the store {path}: it is not a SQLite database self-improver can read ({exc}); {new_file}"
    if version == 0 and "tasks" in tables:
        return (
            f"{path} has a tasks table that self-improver did not create: it is your own database, which "
            f"self-improver only reads; {new_file}"
        )
    if version == 0 and tables:
        return (
            f"{path} is not a self-improver store (it holds {', '.join(sorted(tables)[:5])}): it is your "
            f"own database; {new_file}"
        )
    if version > SCHEMA_VERSION:
        return f"{path} has schema version {version}, newer than this self-improver: upgrade self-improver"
    return None
