"""Reading line-oriented import files (JSON Lines, OTLP JSON) the same forgiving way everywhere."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from .problems import ToolInputError


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
