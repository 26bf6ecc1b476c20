"""Run caller-supplied SQL against telemetry with read-only enforced by SQLite itself.

Three independent guards, none of them string matching: the file is opened `mode=ro`, the
connection sets `PRAGMA query_only`, and an authorizer denies every action that is not a read
(writes, ATTACH/DETACH, state-changing pragmas, DDL, transactions).

Every query is bounded, so one caller cannot take the server's time or memory:
- time: a progress handler stops a query between VM steps, a timer thread calls
  `Connection.interrupt()` for long single steps, and the caller stops waiting shortly after the limit;
- size: SQLite refuses any string or blob over `MAX_VALUE_BYTES` (`SQLITE_LIMIT_LENGTH`; printf
  returns NULL past it), a result has at most `MAX_RESULT_COLUMNS` columns (or the widest table's),
  and rows stop at `MAX_RESULT_BYTES` of returned values as well as at `limit` rows
  (`truncated_reason` says which);
- concurrency: at most `MAX_CONCURRENT_QUERIES` run per database file, each in its own thread (never
  the shared worker pool); another caller waits up to `QUEUE_WAIT_SECONDS`, then gets a "busy, retry".
Text values are redacted and stripped of control characters before they leave.
"""

from __future__ import annotations

import asyncio
import sqlite3
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

from ..errors.redact import redact_secrets
from ..support.problems import ToolInputError, UnavailableError
from ..support.text import strip_control
from .models import QueryResult
from .schema import BUSY_TIMEOUT_MS

T = TypeVar("T")

MAX_VALUE_BYTES = 1_000_000  # largest string or blob SQLite may build or read (SQLITE_LIMIT_LENGTH)
MAX_RESULT_BYTES = 2_000_000  # returned values, summed over all rows
MAX_RESULT_COLUMNS = 100  # raised to the widest table's column count, so SELECT * always works
MAX_CONCURRENT_QUERIES = 2  # per database file
QUEUE_WAIT_SECONDS = 2.0  # how long a caller waits for a free slot before "busy, retry"
GRACE_SECONDS = 1.0  # after the time limit, how long the caller still waits for the query to stop


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


class _Watchdog:
    """Interrupts the connection at the deadline, also in the middle of one long SQLite step."""

    def __init__(self, conn: sqlite3.Connection, seconds: float):
        self._lock = threading.Lock()
        self._conn: sqlite3.Connection | None = conn
        self._timer = threading.Timer(seconds, self._fire)
        self._timer.daemon = True
        self._timer.start()

    def _fire(self) -> None:
        with self._lock:
            if self._conn is not None:
                self._conn.interrupt()

    def stop(self) -> None:
        """Called before the connection closes: an interrupt after that would hit a closed handle."""
        self._timer.cancel()
        with self._lock:
            self._conn = None


class _Oversized:
    """Stands in for a text value that did not fit in what is left of the result's byte budget."""


_OVERSIZED = _Oversized()


class _Budget:
    """Bytes of returned values so far. Text is counted as SQLite hands it over (a `text_factory`), so
    a value past the budget is dropped before Python builds a string of it."""

    def __init__(self, limit: int):
        self.limit = limit
        self.used = 0

    def text(self, data: bytes) -> object:
        if self.used + len(data) > self.limit:
            self.used = self.limit + 1
            return _OVERSIZED
        self.used += len(data)
        return data.decode("utf-8", "replace")

    def charge(self, value: object) -> object:
        """Count a non-text value, and turn blobs into something JSON can carry."""
        if isinstance(value, bytes):
            self.used += len(value)
            try:
                return value.decode("utf-8")
            except UnicodeDecodeError:
                return f"<blob of {len(value)} bytes: select hex(column) to read it>"
        if value is not None and not isinstance(value, str | _Oversized):
            self.used += 8
        return value

    @property
    def exceeded(self) -> bool:
        return self.used > self.limit


def _widest_table(conn: sqlite3.Connection) -> int:
    try:
        row = conn.execute(
            "SELECT max(n) FROM (SELECT count(*) AS n FROM sqlite_master AS m, pragma_table_info(m.name) "
            "WHERE m.type IN ('table', 'view') GROUP BY m.name)"
        ).fetchone()
    except sqlite3.DatabaseError:  # a broken view: the query itself will say what is wrong
        return 0
    return int(row[0] or 0)


def _limit(conn: sqlite3.Connection) -> None:
    """Size limits inside SQLite, so an oversized value fails at once instead of being built."""
    conn.setlimit(sqlite3.SQLITE_LIMIT_LENGTH, MAX_VALUE_BYTES)
    # After the schema is read (a lower limit would reject wide tables as malformed).
    conn.setlimit(sqlite3.SQLITE_LIMIT_COLUMN, max(MAX_RESULT_COLUMNS, _widest_table(conn)))


def run_readonly_query(
    path: Path, sql: str, params: list[Any] | dict[str, Any] | None, limit: int, timeout_s: float
) -> QueryResult:
    if not path.is_file():
        raise UnavailableError(f"telemetry database not found at {path}: set SELF_IMPROVER_TELEMETRY_DB")
    conn = sqlite3.connect(
        f"{path.resolve().as_uri()}?mode=ro",
        uri=True,
        timeout=min(BUSY_TIMEOUT_MS / 1000, timeout_s),
        check_same_thread=False,
    )
    watchdog = _Watchdog(conn, timeout_s)
    try:
        deadline = time.monotonic() + timeout_s
        conn.set_progress_handler(lambda: int(time.monotonic() > deadline), _PROGRESS_EVERY)
        denied = _Denied()
        budget = _Budget(MAX_RESULT_BYTES)
        started = time.perf_counter()
        try:
            conn.execute("PRAGMA query_only = 1")
            _limit(conn)
            conn.text_factory = budget.text
            conn.set_authorizer(denied)
            cursor = conn.execute(sql, params or ())
            rows: list[list[Any]] = []
            reason = None
            while True:
                row = cursor.fetchone()
                if row is None:
                    break
                if len(rows) == limit:
                    reason = f"more rows than limit={limit}; raise limit (at most 1000) or narrow the query"
                    break
                cells = [budget.charge(v) for v in row]
                if budget.exceeded or any(c is _OVERSIZED for c in cells):
                    reason = (
                        f"the result reached {MAX_RESULT_BYTES // 1_000_000} MB after {len(rows)} row(s); "
                        "select fewer or shorter columns (length(col), substr(col, 1, 500)) or fewer rows"
                    )
                    break
                rows.append(cells)
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
            rows=[[_redacted(v) for v in r] for r in rows],
            row_count=len(rows),
            truncated=reason is not None,
            truncated_reason=reason,
            elapsed_ms=round(elapsed, 2),
        )
    finally:
        watchdog.stop()
        conn.close()


def _redacted(value: Any) -> Any:
    """Telemetry cells may hold secrets (tokens in error text) and terminal escapes: text is cleaned."""
    return redact_secrets(strip_control(value)) if isinstance(value, str) else value


def _explain(exc: sqlite3.DatabaseError, denied: _Denied, timeout_s: float) -> Exception:
    text = str(exc)
    if denied.reason or "not authorized" in text:
        return ToolInputError(
            f"refused: the statement tries to {denied.reason or 'do something other than read'}; "
            "query_telemetry is read-only (no INSERT/UPDATE/DELETE, DDL, ATTACH or state-changing PRAGMA). "
            "Send a SELECT instead"
        )
    if "interrupted" in text:
        return _too_slow(timeout_s)
    if "too big" in text:
        return ToolInputError(
            f"refused: a value would be larger than {MAX_VALUE_BYTES // 1_000_000} MB, the limit of one string "
            "or blob (zeroblob, randomblob, replace, || or group_concat that large, or a stored value that "
            "large; printf that large gives NULL). Select length(column) or a shorter expression instead"
        )
    if "too many columns" in text:
        return ToolInputError(
            f"refused: {text}; a result has at most {MAX_RESULT_COLUMNS} columns (or as many as the widest "
            "table). Select fewer columns"
        )
    if "readonly" in text or "read-only" in text:
        return ToolInputError(f"refused: {text}; query_telemetry only reads. Send a SELECT instead")
    if "locked" in text or "busy" in text:
        return UnavailableError("telemetry database is locked by another process; retry in a moment")
    return ToolInputError(f"SQLite rejected the query: {text}. Fix the SQL and send it again")


def _too_slow(timeout_s: float) -> ToolInputError:
    return ToolInputError(
        f"the query ran longer than the {timeout_s:g} s limit and was stopped: narrow it with a "
        "created_at range (e.g. created_at >= '2026-02-09'), a LIMIT, or fewer joins"
    )


_gates: dict[str, threading.BoundedSemaphore] = {}
_gates_lock = threading.Lock()


def _gate(path: Path) -> threading.BoundedSemaphore:
    key = str(path.resolve())
    with _gates_lock:
        return _gates.setdefault(key, threading.BoundedSemaphore(MAX_CONCURRENT_QUERIES))


async def _acquire(gate: threading.BoundedSemaphore, wait_s: float) -> None:
    """Take a slot without holding a thread while waiting (a blocked thread would starve other tools)."""
    give_up = time.monotonic() + wait_s
    while not gate.acquire(blocking=False):
        if time.monotonic() >= give_up:
            raise UnavailableError(
                f"query_telemetry is busy: {MAX_CONCURRENT_QUERIES} queries are already running on this "
                "database. Retry in a few seconds, one query at a time, and narrow slow queries with a "
                "created_at range or a LIMIT"
            )
        await asyncio.sleep(0.05)


def _in_own_thread(fn: Callable[[], T], release: Callable[[], None]) -> asyncio.Future[T]:
    """Run `fn` in a new daemon thread (not the shared pool); `release` runs when it ends, whatever
    happens to the caller meanwhile (a stuck SQLite step keeps its slot, not a pool worker)."""
    loop = asyncio.get_running_loop()
    future: asyncio.Future[T] = loop.create_future()

    def settle(outcome: Callable[[], None]) -> None:
        if not future.done():
            outcome()

    def run() -> None:
        try:
            result = fn()
        except BaseException as exc:  # handed to the caller as is
            error = exc
            deliver: Callable[[], None] = lambda: future.set_exception(error)  # noqa: E731
        else:
            deliver = lambda: future.set_result(result)  # noqa: E731
        finally:
            release()
        try:
            loop.call_soon_threadsafe(settle, deliver)
        except RuntimeError:  # the loop is closed: nobody waits for the answer any more
            pass

    try:
        threading.Thread(target=run, name="query_telemetry", daemon=True).start()
    except BaseException:
        release()
        raise
    return future


async def query_telemetry(
    path: Path,
    sql: str,
    params: list[Any] | dict[str, Any] | None = None,
    limit: int = 200,
    timeout_s: float = 5.0,
) -> QueryResult:
    """Run in a thread of its own so a slow query never blocks the server's event loop or its workers."""
    gate = _gate(path)
    await _acquire(gate, QUEUE_WAIT_SECONDS)
    future = _in_own_thread(lambda: run_readonly_query(path, sql, params, limit, timeout_s), gate.release)
    try:
        return await asyncio.wait_for(future, timeout_s + GRACE_SECONDS)
    except TimeoutError:
        raise _too_slow(timeout_s) from None
