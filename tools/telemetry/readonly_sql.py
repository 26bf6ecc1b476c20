"""Run caller-supplied SQL against telemetry with read-only enforced by SQLite itself.

Three independent guards, none of them string matching: the file is opened `mode=ro`, the
connection sets `PRAGMA query_only`, and an authorizer denies every action that is not a read
(writes, ATTACH/DETACH, state-changing pragmas, DDL, transactions). A progress handler ends queries
that run past the time limit.
"""

from __future__ import annotations

import asyncio
import sqlite3
import time
from pathlib import Path
from typing import Any

from ..errors.redact import redact_secrets
from ..support.problems import ToolInputError, UnavailableError
from .models import QueryResult
from .schema import BUSY_TIMEOUT_MS

_ALLOWED_ACTIONS = {
    sqlite3.SQLITE_SELECT,
    sqlite3.SQLITE_READ,
    sqlite3.SQLITE_FUNCTION,
    sqlite3.SQLITE_RECURSIVE,
}
# Pragmas that only report. Those in the first set take a table or index name; the others must be
# given no value at all (`PRAGMA user_version = 3` writes, `PRAGMA user_version` reads).
_NAMED_READ_PRAGMAS = {
    "table_info",
    "table_xinfo",
    "index_list",
    "index_info",
    "index_xinfo",
    "foreign_key_list",
}
_READ_PRAGMAS = {
    "table_list",
    "database_list",
    "user_version",
    "schema_version",
    "page_count",
    "page_size",
    "freelist_count",
    "journal_mode",
    "compile_options",
    "collation_list",
    "function_list",
    "pragma_list",
}
_ACTION_NAMES = {
    getattr(sqlite3, f"SQLITE_{n}"): n.lower().replace("_", " ")
    for n in (
        "CREATE_INDEX",
        "CREATE_TABLE",
        "CREATE_TEMP_INDEX",
        "CREATE_TEMP_TABLE",
        "CREATE_TEMP_TRIGGER",
        "CREATE_TEMP_VIEW",
        "CREATE_TRIGGER",
        "CREATE_VIEW",
        "DELETE",
        "DROP_INDEX",
        "DROP_TABLE",
        "DROP_TEMP_INDEX",
        "DROP_TEMP_TABLE",
        "DROP_TEMP_TRIGGER",
        "DROP_TEMP_VIEW",
        "DROP_TRIGGER",
        "DROP_VIEW",
        "INSERT",
        "PRAGMA",
        "TRANSACTION",
        "UPDATE",
        "ATTACH",
        "DETACH",
        "ALTER_TABLE",
        "REINDEX",
        "ANALYZE",
        "CREATE_VTABLE",
        "DROP_VTABLE",
        "SAVEPOINT",
    )
}
_PROGRESS_EVERY = 10_000  # SQLite VM instructions between time checks


class _Denied:
    """Authorizer that remembers why it refused, so the error can say it."""

    def __init__(self) -> None:
        self.reason: str | None = None

    def __call__(
        self, action: int, arg1: str | None, arg2: str | None, db: str | None, _src: str | None
    ) -> int:
        if action in _ALLOWED_ACTIONS:
            return sqlite3.SQLITE_OK
        if action == sqlite3.SQLITE_PRAGMA:
            name = (arg1 or "").lower()
            if name in _NAMED_READ_PRAGMAS or (name in _READ_PRAGMAS and arg2 is None):
                return sqlite3.SQLITE_OK
        what = _ACTION_NAMES.get(action, str(action))
        target = f" {arg1}" if arg1 else ""
        self.reason = f"{what}{target}"
        return sqlite3.SQLITE_DENY


def run_readonly_query(
    path: Path, sql: str, params: list[Any] | dict[str, Any] | None, limit: int, timeout_s: float
) -> QueryResult:
    if not path.is_file():
        raise UnavailableError(f"telemetry database not found at {path}: set SELF_IMPROVER_TELEMETRY_DB")
    conn = sqlite3.connect(
        f"{path.resolve().as_uri()}?mode=ro",
        uri=True,
        timeout=BUSY_TIMEOUT_MS / 1000,
        check_same_thread=False,
    )
    try:
        conn.execute("PRAGMA query_only = 1")
        denied = _Denied()
        conn.set_authorizer(denied)
        deadline = time.monotonic() + timeout_s
        conn.set_progress_handler(lambda: int(time.monotonic() > deadline), _PROGRESS_EVERY)
        started = time.perf_counter()
        try:
            cursor = conn.execute(sql, params or ())
            rows = cursor.fetchmany(limit + 1)
        except (sqlite3.ProgrammingError, sqlite3.Warning) as exc:
            raise ToolInputError(
                f"the statement could not run: {exc}. Send exactly one SELECT (or WITH ... SELECT) statement, "
                "with parameters as a list for ? placeholders or an object for :name placeholders"
            ) from exc
        except sqlite3.DatabaseError as exc:
            raise _explain(exc, denied, timeout_s) from exc
        elapsed = (time.perf_counter() - started) * 1000
        columns = [d[0] for d in cursor.description or []]
        return QueryResult(
            columns=columns,
            rows=[[_redacted(v) for v in r] for r in rows[:limit]],
            row_count=min(len(rows), limit),
            truncated=len(rows) > limit,
            elapsed_ms=round(elapsed, 2),
        )
    finally:
        conn.close()


def _redacted(value: Any) -> Any:
    """Telemetry cells may hold secrets (tokens in error text); text is redacted before it leaves."""
    return redact_secrets(value) if isinstance(value, str) else value


def _explain(exc: sqlite3.DatabaseError, denied: _Denied, timeout_s: float) -> Exception:
    text = str(exc)
    if denied.reason or "not authorized" in text:
        return ToolInputError(
            f"refused: the statement tries to {denied.reason or 'do something other than read'}; "
            "query_telemetry is read-only (no INSERT/UPDATE/DELETE, DDL, ATTACH or state-changing PRAGMA). "
            "Send a SELECT instead"
        )
    if "interrupted" in text:
        return ToolInputError(
            f"the query ran longer than the {timeout_s:g} s limit and was stopped: narrow it with a "
            "created_at range (e.g. created_at >= '2026-02-09'), a LIMIT, or fewer joins"
        )
    if "readonly" in text or "read-only" in text:
        return ToolInputError(f"refused: {text}; query_telemetry only reads. Send a SELECT instead")
    if "locked" in text or "busy" in text:
        return UnavailableError("telemetry database is locked by another process; retry in a moment")
    return ToolInputError(f"SQLite rejected the query: {text}. Fix the SQL and send it again")


async def query_telemetry(
    path: Path,
    sql: str,
    params: list[Any] | dict[str, Any] | None = None,
    limit: int = 200,
    timeout_s: float = 5.0,
) -> QueryResult:
    """Run in a worker thread so a slow query never blocks the server's event loop."""
    return await asyncio.to_thread(run_readonly_query, path, sql, params, limit, timeout_s)
