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
from functools import partial
from pathlib import Path

from ..support.line_files import IngestReport, count_lines, import_lines
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

    def read(number: int, text: str) -> list[Row] | str:
        try:
            request = parse_json(text)
        except DecodeError as exc:
            return str(exc)
        mapped = map_request(request)
        report.spans += mapped.spans
        report.not_tasks += mapped.not_tasks
        if mapped.rejected:
            report.bad_lines.append((number, mapped.rejection_message()))
        return mapped.rows

    conn = open_store(db_path)
    try:
        write = partial(_write, conn, report=report)
        import_lines(source, total, report, read, write, progress, batch=BATCH, every=100)
    finally:
        conn.close()
    return report


def _write(conn: sqlite3.Connection, batch: list[tuple[int, Row]], report: OtlpIngestReport) -> str | None:
    rows = [row for _, row in batch]
    try:
        inserted = insert_rows(conn, rows)
    except sqlite3.Error as exc:
        lines = list(dict.fromkeys(number for number, _ in batch))
        reason = (
            f"not written: the database stopped accepting writes at line {lines[0]} ({exc}); fix that and "
            f"import the file again (spans already stored are not stored twice)"
        )
        report.bad_lines.extend((n, reason) for n in lines)
        return reason
    report.imported += inserted
    report.duplicates += len(rows) - inserted
    return None
