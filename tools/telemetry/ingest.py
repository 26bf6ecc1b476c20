"""Bulk import of tasks from JSON Lines: every good line is kept, every bad one reported by number.

One JSON object per line with at least `status`. Values are taken as exporters really send them:

- `error` is text or an object (an API error body); an object is stored as its compact JSON text and,
  when the line has no `error_type`, the object's `type` fills it. `traceback` is text or a list of lines.
- `created_at`, `started_at`, `finished_at` are ISO 8601 text (any offset, `Z`, space or `T`) or Unix
  epoch seconds or milliseconds (numbers or digit strings); all are stored as UTC `YYYY-MM-DD HH:MM:SS`.
  `created_at` defaults to now.
- An object or list in a text column is stored as JSON text; numbers become text. A value that cannot be
  read (a list as `status`, `duration_ms` of "fast", a time that is not one) makes the line bad, with a
  reason that names the field and what to send instead.
- Unknown keys go into `metadata`, so nothing the exporter sent is lost.

Rows are written in batches, one transaction each; a row the database rejects is reported and the rest of
its batch is still written. If the database stops accepting writes altogether (locked, disk full), the
import stops there and every line not written is reported with the reason. Nothing raises past
`ingest_jsonl` except `ToolInputError` (file or store unusable), so the command never ends in a traceback.
"""

from __future__ import annotations

import json
import math
import re
import sqlite3
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from ..support.line_files import IngestReport, count_lines, import_lines
from ..support.problems import ToolInputError
from .mapping import TIME_FIELDS
from .schema import OPTIONAL_COLUMNS, REQUIRED_COLUMNS, open_writable, task_columns
from .timestamps import decode_any
from .windows import utc_text

BATCH = 5000
_KNOWN = set(REQUIRED_COLUMNS) | set(OPTIONAL_COLUMNS)
_TEXT_FIELDS = ("error", "error_type", "traceback", "agent", "task_name", "release")
_INT64 = 2**63
_SURROGATE_RE = re.compile("[\ud800-\udfff]")
_GENERIC_TYPES = frozenset({"", "error", "exception"})
# Errors that concern one row only: the statement is undone, the transaction goes on.
_ROW_ERRORS = (
    sqlite3.IntegrityError,
    sqlite3.DataError,
    sqlite3.InterfaceError,
    sqlite3.ProgrammingError,
    OverflowError,
    ValueError,
)
TIME_HINT = "send ISO 8601 such as '2026-02-15T13:05:00Z' or Unix epoch seconds or milliseconds"


class _TransactionLost(Exception):
    """The database undid the whole open transaction (a `RAISE(ROLLBACK)` trigger, for one)."""


def task_from_json(line: str) -> dict[str, Any]:
    """One JSONL line as a row for `tasks`; raises ValueError with a reason a person can fix."""
    try:
        record = json.loads(line)
    except json.JSONDecodeError as exc:
        raise ValueError(f"not valid JSON ({exc.msg} at column {exc.colno})") from exc
    except RecursionError as exc:
        raise ValueError("not valid JSON (nested too deeply)") from exc
    if not isinstance(record, dict):
        raise ValueError(f"expected a JSON object per line, got {_describe(record)}")
    status = record.get("status")
    if status is None or (isinstance(status, str) and not status.strip()):
        raise ValueError("missing `status` (a string such as 'done', 'failed' or 'running')")
    if not isinstance(status, str):
        raise ValueError(f"`status` must be a string such as 'done' or 'failed', got {_describe(status)}")
    row: dict[str, Any] = {"status": _clean(status.strip())}
    extra = {k: v for k, v in record.items() if k not in _KNOWN}
    if record.get("id") is not None:
        task_id = _integer(record["id"])
        if task_id is None:
            extra["id"] = record["id"]  # an id of another system (a UUID): kept, our store numbers the row
        else:
            row["id"] = task_id
    for name in _TEXT_FIELDS:
        row[name] = _text(record.get(name))
    if isinstance(record.get("traceback"), list):
        row["traceback"] = _joined_lines(record["traceback"])
    if row["error_type"] is None and isinstance(record.get("error"), dict):
        row["error_type"] = _object_type(record["error"])
    for name in TIME_FIELDS:
        row[name] = _time(name, record.get(name))
    if row["created_at"] is None:
        row["created_at"] = utc_text(datetime.now(UTC))
    row["duration_ms"] = _duration(record.get("duration_ms"))
    metadata = _metadata(record.get("metadata"))
    if extra or metadata is not None:
        row["metadata"] = _clean(json.dumps({**(metadata or {}), **extra}, default=str))
    return {k: v for k, v in row.items() if v is not None}


def ingest_jsonl(
    source: Path, db_path: Path, progress: Callable[[int, int], None] | None = None
) -> IngestReport:
    """Import `source` into the store at `db_path` (created with our schema if missing)."""
    total = count_lines(source, "JSONL file")
    report = IngestReport()
    conn = _open_store(db_path)
    try:
        columns = set(task_columns(conn))
        if "status" not in columns:
            raise ToolInputError(
                f"the `tasks` table in {db_path} has no `status` column (it has: "
                f"{', '.join(sorted(columns)) or 'none'}); pass --telemetry-db with a new file to import into"
            )
        import_lines(
            source,
            total,
            report,
            _read_line,
            lambda batch: _write(conn, batch, columns, report),
            progress,
            batch=BATCH,
            every=1000,
        )
    finally:
        conn.close()
    return report


def _read_line(number: int, line: str) -> list[dict[str, Any]] | str:
    try:
        return [task_from_json(line)]
    except ValueError as exc:
        return str(exc)


def _write(
    conn: sqlite3.Connection,
    rows: list[tuple[int, dict[str, Any]]],
    columns: set[str],
    report: IngestReport,
) -> str | None:
    """Write a batch in one transaction; returns why the database stopped taking writes, if it did.

    A rejected row is reported and skipped. When the transaction as a whole fails, the batch is written
    again row by row, so a bad row never costs the good ones their place.
    """
    imported, bad = 0, []
    try:
        with conn:
            for number, row in rows:
                try:
                    _insert(conn, row, columns)
                except _ROW_ERRORS as exc:
                    if not conn.in_transaction:
                        raise _TransactionLost from exc
                    bad.append((number, _rejected(exc)))
                else:
                    imported += 1
    except (sqlite3.Error, _TransactionLost):
        return _write_one_by_one(conn, rows, columns, report)
    report.imported += imported
    report.bad_lines.extend(bad)
    return None


def _write_one_by_one(
    conn: sqlite3.Connection,
    rows: list[tuple[int, dict[str, Any]]],
    columns: set[str],
    report: IngestReport,
) -> str | None:
    for index, (number, row) in enumerate(rows):
        try:
            with conn:
                _insert(conn, row, columns)
        except _ROW_ERRORS as exc:
            report.bad_lines.append((number, _rejected(exc)))
        except sqlite3.Error as exc:
            reason = (
                f"not written: the database stopped accepting writes at line {number} ({exc}); "
                f"fix that and import the lines from {number} on again"
            )
            report.bad_lines.extend((n, reason) for n, _ in rows[index:])
            return reason
        else:
            report.imported += 1
    return None


def _insert(conn: sqlite3.Connection, row: dict[str, Any], columns: set[str]) -> None:
    values = {k: v for k, v in row.items() if k in columns}
    names = ", ".join(f'"{name}"' for name in values)
    marks = ", ".join("?" for _ in values)
    conn.execute(f"INSERT INTO tasks ({names}) VALUES ({marks})", list(values.values()))


def _rejected(exc: BaseException) -> str:
    return f"rejected by the database: {exc}"


def _open_store(db_path: Path) -> sqlite3.Connection:
    try:
        return open_writable(str(db_path))
    except (sqlite3.Error, RuntimeError, OSError) as exc:
        raise ToolInputError(
            f"cannot write to the store {db_path}: {exc}; pass --telemetry-db with a writable SQLite "
            "file (it is created if missing)"
        ) from exc


def _describe(value: Any) -> str:
    if isinstance(value, dict):
        return "an object"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, bool):
        return f"the boolean {json.dumps(value)}"
    if isinstance(value, str):
        shown = value if len(value) <= 40 else value[:39] + "…"
        return f"the text {shown!r}"
    return f"the number {value!r}" if isinstance(value, int | float) else repr(value)[:40]


def _clean(text: str) -> str:
    """Text SQLite can store: a lone surrogate (from a `\\ud800` escape) becomes U+FFFD."""
    if text.isascii():
        return text
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return _SURROGATE_RE.sub("\ufffd", text)
    return text


def _text(value: Any) -> str | None:
    """A value for a text column: text as is, numbers as text, objects and lists as compact JSON."""
    if value is None:
        return None
    if isinstance(value, str):
        return _clean(value)
    if isinstance(value, bool):
        return json.dumps(value)
    if isinstance(value, int | float):
        return str(value)
    return _clean(json.dumps(value, separators=(",", ":"), ensure_ascii=False, default=str))


def _joined_lines(lines: list[Any]) -> str | None:
    """A traceback sent as a list of lines (`traceback.format_exception`'s result) as one text."""
    if not lines or not all(isinstance(line, str) for line in lines):
        return _text(lines)
    joiner = "" if all(line.endswith("\n") for line in lines) else "\n"
    return _clean(joiner.join(lines))


def _object_type(error: dict[str, Any]) -> str | None:
    """The type named by an error object: `{"type": ...}` or `{"error": {"type": ...}}`."""
    inner = error.get("error")
    for candidate in (inner.get("type") if isinstance(inner, dict) else None, error.get("type")):
        if isinstance(candidate, str) and candidate.strip().lower() not in _GENERIC_TYPES:
            return _clean(candidate.strip())
    return None


def _integer(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value if -_INT64 <= value < _INT64 else None
    if isinstance(value, str) and value.strip().isdigit():
        return _integer(int(value.strip()))
    return None


def _time(name: str, value: Any) -> str | None:
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if isinstance(value, bool | dict | list):
        raise ValueError(f"`{name}` must be a time, got {_describe(value)}: {TIME_HINT}")
    moment = decode_any(value)
    if moment is None:
        raise ValueError(f"`{name}` {_describe(value)} is not a time: {TIME_HINT}")
    return utc_text(moment)


def _duration(value: Any) -> int | None:
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    number: float | None = None
    if isinstance(value, int | float) and not isinstance(value, bool):
        number = float(value)
    elif isinstance(value, str):
        try:
            number = float(value.strip())
        except ValueError:
            number = None
    if number is None or not math.isfinite(number) or abs(number) >= _INT64:
        raise ValueError(
            f"`duration_ms` must be a number of milliseconds such as 1520, got {_describe(value)}"
        )
    return round(number)


def _metadata(value: Any) -> dict[str, Any] | None:
    """The line's own `metadata` as an object: JSON text is read, anything else kept under `raw`."""
    if value is None:
        return None
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except (json.JSONDecodeError, RecursionError):
            return {"raw": value}
    return value if isinstance(value, dict) else {"raw": value}
