"""How a user's time column is encoded, learned from its values, so windows compare the raw column.

A window `[start, end)` becomes `column >= lo AND column < hi` with `lo`/`hi` converted to the column's
own encoding, which any index on the column serves and which costs no function call per row:

- epoch seconds or milliseconds (INTEGER, REAL, or digits stored as TEXT): bounds are numbers, or digit
  strings of the same width for TEXT;
- ISO 8601 text with one separator (space or `T`) and one UTC offset throughout (none, `Z`, `+00:00`, or
  any fixed offset such as `+02:00`): bounds are text in that separator at that offset, and text order
  is time order (fractional seconds and the offset suffix only extend the shared prefix);
- ISO text that mixes separators or offsets: no text range is exact, so the range is widened by a day on
  each side (still index-served) and `julianday()` decides exactly (SQLite) - correct, slower, and
  `telemetry check` says so.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any, Literal

TimestampFormat = Literal["auto", "iso", "epoch_s", "epoch_ms"]
# native / native_naive: a database time type (PostgreSQL timestamptz / timestamp, read as UTC).
Kind = Literal["iso", "iso_mixed", "mixed", "epoch_s", "epoch_ms", "native", "native_naive", "unknown"]

_ISO_RE = re.compile(
    r"^(\d{4}-\d{2}-\d{2})(?:([ T])(\d{2}:\d{2}(?::\d{2}(?:[.,]\d+)?)?))?\s*(Z|z|[+-]\d{2}:?\d{2}|UTC)?$"
)
_DIGITS_RE = re.compile(r"^\d+(?:\.\d+)?$")
# Epoch values at or above this are milliseconds (1e11 s is the year 5138; 1e11 ms is 1973).
_MS_FROM = 1e11
MAX_EPOCH_MS = 10**14  # ~ year 5138 in ms; larger numbers are not a time we read
_UTC_NAMES = {"Z", "z", "+00:00", "+0000", "-00:00", "-0000", "UTC", ""}


@dataclass(frozen=True)
class TimeEncoding:
    """A column's encoding: enough to turn an instant into a bound and a stored value into an instant."""

    kind: Kind
    storage: Literal["text", "number"] = "text"
    separator: str = " "  # iso: between date and time
    offset: timedelta | None = None  # iso: the one offset all values carry (None = naive, read as UTC)
    suffix: str = ""  # iso: how that offset is written ('', 'Z', '+02:00')
    digits: int = 0  # epoch stored as text: the width of the values

    @property
    def exact_range(self) -> bool:
        """True when `lo <= column < hi` on converted bounds is exact (no per-row function needed)."""
        return self.kind in ("iso", "epoch_s", "epoch_ms", "native", "native_naive")

    def describe(self) -> str:
        if self.kind == "iso":
            zone = f"offset {self.suffix}" if self.suffix and self.suffix not in _UTC_NAMES else "UTC"
            sep = "'T'" if self.separator == "T" else "a space"
            return f"ISO 8601 text ({sep} between date and time, {zone})"
        if self.kind == "iso_mixed":
            return "ISO 8601 text in mixed formats (separators or offsets differ between rows)"
        if self.kind == "mixed":
            return "a mix of epoch numbers and text (or of epoch units)"
        if self.kind == "native":
            return "a time type with its time zone (timestamptz)"
        if self.kind == "native_naive":
            return "a time type without time zone (read as UTC)"
        if self.kind in ("epoch_s", "epoch_ms"):
            unit = "seconds" if self.kind == "epoch_s" else "milliseconds"
            return f"Unix epoch {unit} stored as {'digit text' if self.storage == 'text' else 'numbers'}"
        return "unknown (no readable time values)"

    def bound(self, moment: datetime) -> Any:
        """`moment` in the column's encoding, for `column >= bound` / `column < bound`."""
        moment = moment.astimezone(UTC)
        if self.kind == "native":
            return moment
        if self.kind == "native_naive":
            return moment.replace(tzinfo=None)
        if self.kind in ("epoch_s", "epoch_ms"):
            seconds = moment.timestamp()
            value: float = seconds * 1000 if self.kind == "epoch_ms" else seconds
            if self.storage == "text":
                whole = int(value) if value == int(value) else value
                return str(whole).rjust(self.digits, "0")
            return int(value) if value == int(value) else value
        if self.kind == "iso":
            local = moment + (self.offset or timedelta(0))
            return local.strftime(f"%Y-%m-%d{self.separator}%H:%M:%S")
        return moment.strftime("%Y-%m-%d %H:%M:%S")  # iso_mixed / unknown: canonical UTC text

    def decode(self, value: Any) -> datetime | None:
        """A stored value as an aware UTC instant; None when it is not a time in this encoding."""
        return decode_any(value, self.kind if self.kind in ("epoch_s", "epoch_ms") else None)


def decode_any(value: Any, epoch_kind: str | None = None) -> datetime | None:
    """Read ISO text or epoch numbers (seconds or ms, by magnitude unless `epoch_kind` says)."""
    if isinstance(value, Decimal):  # PostgreSQL numeric
        value = float(value)
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    if isinstance(value, int | float):
        return _from_epoch(float(value), epoch_kind)
    text = str(value).strip()
    if _DIGITS_RE.match(text):
        return _from_epoch(float(text), epoch_kind)
    return parse_iso(text)


def _from_epoch(number: float, kind: str | None) -> datetime | None:
    if number < 0 or number >= MAX_EPOCH_MS:
        return None
    millis = kind == "epoch_ms" or (kind is None and number >= _MS_FROM)
    try:
        return datetime.fromtimestamp(number / 1000 if millis else number, UTC)
    except (OverflowError, OSError, ValueError):
        return None


def parse_iso(text: str) -> datetime | None:
    if len(text) >= 19 and text[4] == "-" and text[10] in " T":  # the common forms: the C parser, fast
        try:
            parsed = datetime.fromisoformat(text)
        except ValueError:
            pass
        else:
            return parsed if parsed.tzinfo else _as_utc(text, parsed)
    match = _ISO_RE.match(text.strip())
    if not match:
        return None
    date_part, _, time_part, zone = match.groups()
    normal = date_part + ("T" + time_part.replace(",", ".") if time_part else "")
    if zone and zone not in ("Z", "z", "UTC"):
        normal += zone if ":" in zone else f"{zone[:3]}:{zone[3:]}"
    try:
        parsed = datetime.fromisoformat(normal)
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _as_utc(text: str, naive: datetime) -> datetime:
    """`naive.replace(tzinfo=UTC)` for the naive `naive` parsed from `text`: parsing the text again with
    `+00:00` appended is the same instant at an eighth of the cost of `replace`'s keyword call."""
    try:
        return datetime.fromisoformat(text + "+00:00")
    except ValueError:
        return naive.replace(tzinfo=UTC)


@dataclass(frozen=True)
class Detection:
    """What a sample of a time column says: the encoding, and the values that are not times."""

    encoding: TimeEncoding
    sampled: int
    unreadable: int
    unreadable_example: str | None
    storage_types: dict[str, int]


def detect_encoding(values: Iterable[Any], override: TimestampFormat = "auto") -> Detection:
    """The encoding of a time column from a sample of its values (`override` forces the kind)."""
    shapes: Counter[tuple[Any, ...]] = Counter()
    types: Counter[str] = Counter()
    unreadable, example, sampled = 0, None, 0
    for value in values:
        if value is None:
            continue
        sampled += 1
        shape = _shape(value)
        types[_storage(value)] += 1
        if shape is None:
            unreadable += 1
            example = example or str(value)[:80]
        else:
            shapes[shape] += 1
    return Detection(_encoding_from(shapes, override), sampled, unreadable, example, dict(types))


def _storage(value: Any) -> str:
    if isinstance(value, Decimal):
        return "real"
    if isinstance(value, int | float) and not isinstance(value, bool):
        return "integer" if isinstance(value, int) else "real"
    return "text"


def _shape(value: Any) -> tuple[Any, ...] | None:
    """A value's encoding family: ('epoch', unit, storage, width) or ('iso', separator, suffix)."""
    if isinstance(value, bool):
        return None
    if isinstance(value, Decimal):
        value = float(value)
    if isinstance(value, int | float):
        if not 0 <= value < MAX_EPOCH_MS:
            return None
        return ("epoch", "ms" if value >= _MS_FROM else "s", "number", 0)
    text = str(value).strip()
    if _DIGITS_RE.match(text):
        number = float(text)
        if number >= MAX_EPOCH_MS:
            return None
        return ("epoch", "ms" if number >= _MS_FROM else "s", "text", len(text.split(".")[0]))
    match = _ISO_RE.match(text)
    if not match or parse_iso(text) is None:
        return None
    separator = match.group(2) or "date"  # date-only values: no text range is exact at sub-day bounds
    zone = match.group(4) or ""
    return ("iso", separator, "" if zone in _UTC_NAMES else zone)


def _encoding_from(shapes: Counter[tuple[Any, ...]], override: TimestampFormat) -> TimeEncoding:
    if override in ("epoch_s", "epoch_ms"):
        texts = [s for s in shapes if s[0] == "epoch" and s[2] == "text"]
        widths = {s[3] for s in texts}
        all_text = bool(texts) and len(texts) == sum(1 for s in shapes if s[0] == "epoch")
        return TimeEncoding(override, "text" if all_text else "number", digits=max(widths) if widths else 0)
    if not shapes:
        return TimeEncoding("iso" if override == "iso" else "unknown")
    epochs = [s for s in shapes if s[0] == "epoch"]
    isos = [s for s in shapes if s[0] == "iso"]
    if epochs and not isos and override != "iso":
        units = {s[1] for s in epochs}
        storages = {s[2] for s in epochs}
        widths = {s[3] for s in epochs if s[2] == "text"}
        kind: Kind = "epoch_ms" if units == {"ms"} else "epoch_s"
        if len(units) > 1 or len(storages) > 1 or len(widths) > 1:
            # Mixed units, storage or widths: no single range is exact; fall back to the exact per-row read.
            return TimeEncoding("mixed")
        storage = storages.pop()
        return TimeEncoding(kind, storage, digits=widths.pop() if widths else 0)  # type: ignore[arg-type]
    if isos and not epochs:
        kinds = {(s[1], s[2]) for s in isos}
        if len(kinds) == 1 and next(iter(kinds))[0] != "date":
            separator, suffix = kinds.pop()
            return TimeEncoding("iso", "text", separator, _offset(suffix), suffix)
        return TimeEncoding("iso_mixed")
    return TimeEncoding("mixed")


def _offset(suffix: str) -> timedelta | None:
    if not suffix:
        return None
    sign = -1 if suffix[0] == "-" else 1
    digits = suffix[1:].replace(":", "")
    return sign * timedelta(hours=int(digits[:2]), minutes=int(digits[2:4]))


def fixed_zone(encoding: TimeEncoding) -> timezone:
    return timezone(encoding.offset or timedelta(0))
