"""Bulk import of tasks from JSON Lines: good lines are kept, bad ones reported with line numbers.

One JSON object per line with at least `status`; `created_at` defaults to now and must be a time
SQLite understands. Unknown keys go into `metadata`, so nothing the exporter sent is lost.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from ..support.problems import ToolInputError
from .schema import OPTIONAL_COLUMNS, REQUIRED_COLUMNS, open_writable, task_columns
from .windows import parse_timestamp, utc_text

BATCH = 5000
_KNOWN = set(REQUIRED_COLUMNS) | set(OPTIONAL_COLUMNS)


@dataclass
class IngestReport:
    imported: int = 0
    bad_lines: list[tuple[int, str]] = field(default_factory=list)


def task_from_json(line: str) -> dict[str, Any]:
    """One JSONL line as a row for `tasks`; raises ValueError with a reason a person can fix."""
    try:
        record = json.loads(line)
    except json.JSONDecodeError as exc:
        raise ValueError(f"not valid JSON ({exc.msg} at column {exc.colno})") from exc
    if not isinstance(record, dict):
        raise ValueError("expected a JSON object per line")
    if not isinstance(record.get("status"), str) or not record["status"]:
        raise ValueError("missing `status` (a string such as 'done', 'failed' or 'running')")
    row = {k: v for k, v in record.items() if k in _KNOWN}
    extra = {k: v for k, v in record.items() if k not in _KNOWN}
    created = record.get("created_at")
    try:
        row["created_at"] = (
            utc_text(parse_timestamp(str(created))) if created else utc_text(datetime.now(UTC))
        )
    except ToolInputError as exc:
        raise ValueError(f"`created_at` {created!r} is not an ISO 8601 time") from exc
    metadata = row.get("metadata")
    if isinstance(metadata, str):
        try:
            metadata = json.loads(metadata)
        except json.JSONDecodeError:
            metadata = {"raw": metadata}
    if extra or metadata is not None:
        merged = {**(metadata if isinstance(metadata, dict) else {}), **extra}
        row["metadata"] = json.dumps(merged, default=str)
    return row


def ingest_jsonl(
    source: Path, db_path: Path, progress: Callable[[int, int], None] | None = None
) -> IngestReport:
    """Import `source` into the store at `db_path` (created with our schema if missing)."""
    try:
        raw = source.read_bytes()
    except OSError as exc:
        raise ToolInputError(f"cannot read {source}: {exc.strerror}; pass an existing JSONL file") from exc
    lines = raw.decode("utf-8", errors="replace").splitlines()
    report = IngestReport()
    conn = open_writable(str(db_path))
    try:
        columns = set(task_columns(conn))
        batch: list[tuple[int, dict[str, Any]]] = []
        for number, line in enumerate(lines, start=1):
            if not line.strip():
                continue
            try:
                batch.append((number, task_from_json(line)))
            except ValueError as exc:
                report.bad_lines.append((number, str(exc)))
            if len(batch) >= BATCH:
                _insert(conn, batch, columns, report)
                batch = []
            if progress and number % 1000 == 0:
                progress(number, len(lines))
        _insert(conn, batch, columns, report)
        report.bad_lines.sort()
        if progress:
            progress(len(lines), len(lines))
    finally:
        conn.close()
    return report


def _insert(
    conn: sqlite3.Connection,
    rows: Iterable[tuple[int, dict[str, Any]]],
    columns: set[str],
    report: IngestReport,
) -> None:
    with conn:
        for number, row in rows:
            values = {k: v for k, v in row.items() if k in columns}
            names = ", ".join(values)
            marks = ", ".join("?" for _ in values)
            try:
                conn.execute(f"INSERT INTO tasks ({names}) VALUES ({marks})", list(values.values()))
            except sqlite3.IntegrityError as exc:
                report.bad_lines.append((number, f"rejected by the database: {exc}"))
            else:
                report.imported += 1
