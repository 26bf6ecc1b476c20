"""`self-improver ingest --format otlp FILE`: OTLP JSON as the OpenTelemetry Collector's file exporter writes
it, one ExportTraceServiceRequest per line (hex ids, integer enums).

Reported like the JSONL import: a line that is not an OTLP request is skipped with its number and the
reason, a line with task spans that cannot be stored (ids of the wrong length, no start time) keeps its
good spans and is reported with why the others were skipped, and when the store stops accepting writes
the import stops and every line not written is reported. Spans stored before (the same trace and span
id) are counted as duplicates, never stored twice, so a file can be imported again safely.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from ..support.line_files import count_lines, numbered_lines
from ..telemetry.ingest import IngestReport
from .decode import DecodeError, parse_json
from .mapping import Row, map_request
from .store import insert_rows, open_store

BATCH = 5000


@dataclass
class OtlpIngestReport(IngestReport):
    spans: int = 0  # spans read from the good lines
    not_tasks: int = 0  # spans that are not tasks (chat calls, HTTP spans...), left out by design
    duplicates: int = 0  # task spans already in the store


def ingest_otlp(
    source: Path, db_path: Path, progress: Callable[[int, int], None] | None = None
) -> OtlpIngestReport:
    """Import the OTLP JSON lines of `source` into our store at `db_path` (created if missing)."""
    total = count_lines(source, "OTLP JSON file")
    report = OtlpIngestReport()
    conn = open_store(db_path)
    rows: list[Row] = []
    lines: list[int] = []  # line numbers of the rows waiting in `rows`
    stopped: str | None = None
    number = 0
    try:
        for number, text in numbered_lines(source):
            if progress and number % 100 == 0:
                progress(number, max(total, number))
            if not text.strip():
                continue
            try:
                request = parse_json(text)
            except DecodeError as exc:
                report.bad_lines.append((number, str(exc)))
                continue
            mapped = map_request(request)
            report.spans += mapped.spans
            report.not_tasks += mapped.not_tasks
            if mapped.rejected:
                report.bad_lines.append((number, mapped.rejection_message()))
            if stopped is not None:
                if mapped.rows:
                    report.bad_lines.append((number, stopped))
                continue
            if mapped.rows:
                rows.extend(mapped.rows)
                lines.append(number)
            if len(rows) >= BATCH:
                stopped = _write(conn, rows, lines, report)
                rows, lines = [], []
        if rows and stopped is None:
            stopped = _write(conn, rows, lines, report)
        if progress:
            progress(max(total, number), max(total, number))
    finally:
        conn.close()
    report.bad_lines.sort()
    report.stopped = stopped
    return report


def _write(
    conn: sqlite3.Connection, rows: list[Row], lines: list[int], report: OtlpIngestReport
) -> str | None:
    try:
        inserted = insert_rows(conn, rows)
    except sqlite3.Error as exc:
        reason = (
            f"not written: the database stopped accepting writes at line {lines[0]} ({exc}); fix that and "
            f"import the file again (spans already stored are not stored twice)"
        )
        report.bad_lines.extend((n, reason) for n in lines)
        return reason
    report.imported += inserted
    report.duplicates += len(rows) - inserted
    return None
