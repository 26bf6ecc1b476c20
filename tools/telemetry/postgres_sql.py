"""`query_telemetry` on PostgreSQL: one plain read, proven by PostgreSQL's own parser, in a READ ONLY
transaction with a time limit, a row cap and a byte cap.

Three independent guards, none of them string matching:
- pglast (PostgreSQL's parser as a library) must show exactly one `SELECT` / `WITH ... SELECT` / `EXPLAIN`
  with no statement of any other kind inside (no data-modifying CTE, `SELECT INTO`, `FOR UPDATE`) and no
  call to a function that reaches files, large objects, other sessions or settings;
- the role must not be a superuser nor able to write the telemetry table (otherwise the refusal gives
  the SQL for a read-only role); the other tools keep working either way, read-only;
- the statement runs in a READ ONLY transaction with `SET LOCAL statement_timeout`.
"""

from __future__ import annotations

import re
import time
from typing import TYPE_CHECKING, Any

from ..errors.redact import redact_secrets
from ..support.problems import ToolInputError, UnavailableError
from .models import QueryResult

if TYPE_CHECKING:
    from .postgres_source import PostgresTaskSource

MAX_RESULT_BYTES = 2_000_000
RAW_QUERY_SLOTS = 2  # raw statements at once per source, so slow ones cannot starve the pool
BUSY_WAIT_SECONDS = 2.0
DENIED_FUNCTIONS = frozenset(
    """pg_read_file pg_read_binary_file pg_ls_dir pg_stat_file pg_file_write pg_file_rename pg_file_unlink
    pg_terminate_backend pg_cancel_backend pg_reload_conf pg_rotate_logfile pg_switch_wal pg_promote
    pg_create_restore_point pg_logical_emit_message set_config pg_notify dblink dblink_exec dblink_connect
    query_to_xml query_to_xml_and_xmlschema query_to_xmlschema cursor_to_xml cursor_to_xmlschema
    pg_advisory_lock pg_advisory_xact_lock pg_advisory_lock_shared pg_try_advisory_lock
    pg_import_system_collations pg_replication_origin_create pg_create_logical_replication_slot
    pg_create_physical_replication_slot pg_drop_replication_slot setval nextval txid_current
    pg_current_xact_id""".split()
)
DENIED_PREFIXES = ("lo_", "pg_ls_", "pg_read_", "pg_file_", "dblink")
READ_ONLY_ROLE_SQL = (
    "CREATE ROLE self_improver_reader LOGIN PASSWORD '<choose one>'; "
    "GRANT CONNECT ON DATABASE <db> TO self_improver_reader; "
    "GRANT USAGE ON SCHEMA <schema> TO self_improver_reader; "
    "GRANT SELECT ON <schema>.<table> TO self_improver_reader; "
    "ALTER ROLE self_improver_reader SET default_transaction_read_only = on;"
)


def check_statement(sql_text: str) -> None:
    """Raise ToolInputError unless `sql_text` is one plain read."""
    import pglast
    from pglast import ast
    from pglast.visitors import Visitor

    try:
        statements = pglast.parse_sql(_placeholders_as_parameters(sql_text))
    except pglast.parser.ParseError as exc:
        raise ToolInputError(
            f"PostgreSQL cannot parse the statement: {exc}. Fix the SQL and send it again"
        ) from exc
    if len(statements) != 1:
        raise ToolInputError(
            f"send exactly one statement (got {len(statements)}): one SELECT, WITH ... SELECT or EXPLAIN"
        )
    root = top = statements[0].stmt
    if isinstance(root, ast.ExplainStmt):
        root = root.query
    if not isinstance(root, ast.SelectStmt):
        raise ToolInputError(
            f"refused: {type(root).__name__.removesuffix('Stmt').upper()} is not a read; query_telemetry runs one "
            "SELECT, WITH ... SELECT or EXPLAIN"
        )
    problems: list[str] = []

    class Inspect(Visitor):  # type: ignore[misc]
        def visit(self, ancestors: Any, node: Any) -> None:
            name = type(node).__name__
            allowed = isinstance(node, ast.SelectStmt | ast.RawStmt) or node is top
            if name.endswith("Stmt") and not allowed:
                problems.append(f"a {name.removesuffix('Stmt').upper()} inside the statement")
            elif isinstance(node, ast.IntoClause):
                problems.append("SELECT INTO (it creates a table)")
            elif isinstance(node, ast.LockingClause):
                problems.append("FOR UPDATE/SHARE (it locks rows)")
            elif isinstance(node, ast.FuncCall):
                function = ".".join(getattr(part, "sval", str(part)) for part in node.funcname or ()).lower()
                short = function.rsplit(".", 1)[-1]
                if short in DENIED_FUNCTIONS or short.startswith(DENIED_PREFIXES):
                    problems.append(f"the function {short}() (it reaches files, sessions or settings)")

    Inspect()(statements[0])
    if problems:
        raise ToolInputError(
            f"refused: {problems[0]}; query_telemetry only reads the telemetry: send a SELECT over its tables"
        )


_PLACEHOLDER = re.compile(r"%%|%\((\w+)\)s|%s")


def _placeholders_as_parameters(sql_text: str) -> str:
    """psycopg's %s / %(name)s as PostgreSQL's $n, so the parser sees the statement the server will run."""
    numbers: dict[str, int] = {}

    def replace(match: re.Match[str]) -> str:
        if match.group(0) == "%%":
            return "%"
        name = match.group(1) or f"#{len(numbers)}"
        return f"${numbers.setdefault(name, len(numbers) + 1)}"

    return _PLACEHOLDER.sub(replace, sql_text)


def _role_problem(conn: Any, source: PostgresTaskSource) -> str | None:
    from psycopg import sql

    superuser = conn.execute("SELECT rolsuper FROM pg_roles WHERE rolname = current_user").fetchone()
    if superuser and superuser[0]:
        return "the configured role is a superuser"
    table = source._table_id().as_string(conn)
    can_write = conn.execute(
        sql.SQL(
            "SELECT has_table_privilege(current_user, to_regclass({}), 'INSERT, UPDATE, DELETE, TRUNCATE')"
        ).format(sql.Literal(table))
    ).fetchone()
    if can_write and can_write[0]:
        return f"the configured role can write {table}"
    return None


def run_readonly_query(
    source: PostgresTaskSource, sql_text: str, params: Any, limit: int, time_limit: float
) -> QueryResult:
    check_statement(sql_text)
    if not source.raw_query_slots.acquire(timeout=BUSY_WAIT_SECONDS):
        raise UnavailableError(
            f"{RAW_QUERY_SLOTS} query_telemetry statements are already running on this database: retry in a "
            "moment (the other tools are not affected)"
        )
    try:
        return _run_checked(source, sql_text, params, limit, time_limit)
    finally:
        source.raw_query_slots.release()


def _run_checked(
    source: PostgresTaskSource, sql_text: str, params: Any, limit: int, time_limit: float
) -> QueryResult:
    import psycopg

    pool = source._pool_now()
    with pool.connection() as conn:
        problem = _role_problem(conn, source)
        if problem:
            raise ToolInputError(
                f"refused: {problem}, so a statement could change data; query_telemetry needs a read-only role "
                f"(the other tools keep working read-only). Create one and put it in the URL: {READ_ONLY_ROLE_SQL}"
            )
        started = time.perf_counter()
        try:
            with conn.transaction():
                conn.execute(f"SET LOCAL statement_timeout = {max(1, int(time_limit * 1000))}")
                cursor = conn.execute(sql_text, params if params else None)
                columns = [d.name for d in cursor.description or []]
                rows: list[list[Any]] = []
                size, truncated = 0, False
                while len(rows) <= limit:
                    chunk = cursor.fetchmany(min(100, limit + 1 - len(rows)))
                    if not chunk:
                        break
                    for row in chunk:
                        cells = [_cell(v) for v in row]
                        size += sum(len(str(c)) for c in cells)
                        if size > MAX_RESULT_BYTES:
                            truncated = True
                            break
                        rows.append(cells)
                    if truncated:
                        break
        except psycopg.errors.QueryCanceled as exc:
            raise ToolInputError(
                f"the query ran longer than the {time_limit:g} s limit and was stopped: narrow it with a time "
                "range on the indexed time column, a LIMIT, or fewer joins"
            ) from exc
        except psycopg.errors.ReadOnlySqlTransaction as exc:
            raise ToolInputError(f"refused by the server: {exc}; query_telemetry only reads") from exc
        except psycopg.errors.InsufficientPrivilege as exc:
            raise ToolInputError(f"refused by the server: {str(exc).splitlines()[0]}") from exc
        except psycopg.Error as exc:
            if isinstance(exc, psycopg.OperationalError):
                raise UnavailableError(
                    f"telemetry database {source.location}: {str(exc).splitlines()[0]}"
                ) from exc
            raise ToolInputError(
                f"PostgreSQL rejected the query: {str(exc).strip().splitlines()[0]}. Fix the SQL and send it again "
                "(parameters: a list for %s placeholders or an object for %(name)s)"
            ) from exc
    elapsed = (time.perf_counter() - started) * 1000
    return QueryResult(
        columns=columns,
        rows=rows[:limit],
        row_count=min(len(rows), limit),
        truncated=truncated or len(rows) > limit,
        truncated_reason=(
            f"the result passed {MAX_RESULT_BYTES // 1_000_000} MB"
            if truncated
            else f"more than {limit} rows"
            if len(rows) > limit
            else None
        ),
        elapsed_ms=round(elapsed, 2),
    )


def _cell(value: Any) -> Any:
    """JSON-ready and redacted: telemetry text may hold secrets."""
    from datetime import date, datetime
    from decimal import Decimal

    if isinstance(value, str):
        return redact_secrets(value)
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, bytes | memoryview):
        return f"<{len(bytes(value))} bytes>"
    if value is None or isinstance(value, int | float | bool):
        return value
    return redact_secrets(str(value))
