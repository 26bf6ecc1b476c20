"""Reading line-oriented import files (JSON Lines, OTLP JSON) the same forgiving way everywhere."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar

from .problems import ToolInputError

R = TypeVar("R")


@dataclass
class IngestReport:
    imported: int = 0
    bad_lines: list[tuple[int, str]] = field(default_factory=list)
    # Why the database stopped taking writes part-way (the lines after it are in bad_lines), if it did.
    stopped: str | None = None


def count_lines(source: Path, what: str) -> int:
    """Lines in `source` (for progress); `what` names the expected file in the error."""
    try:
        with source.open("rb") as handle:
            return sum(chunk.count(b"\n") for chunk in iter(lambda: handle.read(1 << 20), b""))
    except OSError as exc:
        raise ToolInputError(f"cannot read {source}: {exc.strerror or exc}; pass an existing {what}") from exc


def numbered_lines(source: Path) -> Iterator[tuple[int, str]]:
    """(number, text) of each line; bytes that are not UTF-8 become U+FFFD, a leading BOM is dropped."""
    try:
        with source.open("rb") as handle:
            for number, raw in enumerate(handle, start=1):
                if number == 1 and raw.startswith(b"\xef\xbb\xbf"):
                    raw = raw[3:]
                yield number, raw.decode("utf-8", errors="replace").rstrip("\r\n")
    except OSError as exc:
        raise ToolInputError(f"cannot read {source}: {exc.strerror or exc}") from exc


def import_lines(
    source: Path,
    total: int,
    report: IngestReport,
    read: Callable[[int, str], list[R] | str],
    write: Callable[[list[tuple[int, R]]], str | None],
    progress: Callable[[int, int], None] | None = None,
    *,
    batch: int,
    every: int,
) -> None:
    """Import `source` (`total` lines, from count_lines) into `report`, line by line in batches.

    `read(number, text)` gives the rows of a non-blank line, or why the line is bad. `write` stores a
    batch of (line number, row) and returns why the store stopped taking writes, if it did: from then on
    every line with rows is reported with that reason instead. `progress` hears every `every` lines.
    """
    pending: list[tuple[int, R]] = []
    stopped: str | None = None
    number = 0
    for number, text in numbered_lines(source):
        if progress and number % every == 0:
            progress(number, max(total, number))
        if not text.strip():
            continue
        rows = read(number, text)
        if isinstance(rows, str):
            report.bad_lines.append((number, rows))
            continue
        if stopped is not None:
            if rows:
                report.bad_lines.append((number, stopped))
            continue
        pending.extend((number, row) for row in rows)
        if len(pending) >= batch:
            stopped = write(pending)
            pending = []
    if pending and stopped is None:
        stopped = write(pending)
    if progress:
        progress(max(total, number), max(total, number))
    report.bad_lines.sort()
    report.stopped = stopped
