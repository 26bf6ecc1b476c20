"""Calendar days and multi-day windows in the configured timezone, as UTC instants.

Engines turn a window into a range on the raw time column in its own encoding (`timestamps`), so it
uses an index; `date(created_at) = ...`, as in the seed article, can use none and scans the whole table.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta, tzinfo

from ..support.clock import utc_text
from ..support.problems import ToolInputError

__all__ = ["utc_text"]  # re-exported: the telemetry modules import it from here

_DAY_RE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
TIME_FORMAT = "%Y-%m-%d %H:%M:%S"


@dataclass(frozen=True)
class Window:
    """A half-open interval [start, end) of UTC instants, with the local calendar days it covers."""

    start: datetime
    end: datetime
    first_day: date
    last_day: date

    @property
    def days(self) -> list[date]:
        count = (self.last_day - self.first_day).days + 1
        return [self.first_day + timedelta(days=i) for i in range(count)]


def parse_timestamp(value: str, tz: tzinfo = UTC, param: str | None = None) -> datetime:
    """Parse any supported created_at / since / until text; naive values are taken in `tz`.

    `param` names the argument the text came from, so an error says which one to correct.
    """
    text = value.strip()
    if text.endswith(("Z", "z")):
        text = text[:-1] + "+00:00"
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError as exc:
        raise ToolInputError(
            f"{param + ': ' if param else ''}cannot read {value!r} as a time: send ISO 8601 such as "
            "'2026-02-15', '2026-02-15 13:05:00' or '2026-02-15T13:05:00Z'"
        ) from exc
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=tz)


RELATIVE_DAYS = ("today", "yesterday")


def resolve_day(day: str, tz: tzinfo, now: datetime, param: str = "day") -> date:
    """'today', 'yesterday' or YYYY-MM-DD, in the configured timezone; `param` names the argument."""
    today = now.astimezone(tz).date()
    key = day.strip().lower()
    if key == "today":
        return today
    if key == "yesterday":
        return today - timedelta(days=1)
    if _DAY_RE.match(key):
        try:
            return date.fromisoformat(key)
        except ValueError:
            pass
    raise ToolInputError(f"{param} must be 'today', 'yesterday' or a date like '2026-02-15'; got {day!r}")


def day_window(day: date, tz: tzinfo) -> Window:
    return Window(
        start=local_midnight(day, tz),
        end=local_midnight(day + timedelta(days=1), tz),
        first_day=day,
        last_day=day,
    )


def trailing_window(days: int, until: str | None, tz: tzinfo, now: datetime) -> Window:
    """The `days` full local days before `until`'s day, plus that day up to `until`.

    `until` is a time, a date or 'today'/'yesterday' (the start of that day).
    With until=None this is the seed article's `date(created_at) >= date('now', '-7 days')` for days=7:
    the previous seven days and today so far. A date-only `until` means the start of that day (an
    exclusive end, like every `until`), so `until="2026-02-16"` with days=7 is Feb 9 to Feb 15 whole.
    """
    if days < 1:
        raise ToolInputError(f"days must be at least 1 (a positive number of days back); got {days}")
    if until is None:
        end = now
    elif _DAY_RE.match(until.strip()) or until.strip().lower() in RELATIVE_DAYS:
        end = local_midnight(resolve_day(until, tz, now, param="until"), tz)
    else:
        end = parse_timestamp(until, tz, param="until")
    local_end = end.astimezone(tz)
    if local_midnight(local_end.date(), tz) == end.astimezone(UTC):  # ends at midnight: whole days only
        last_day = local_end.date() - timedelta(days=1)
        first_day = last_day - timedelta(days=days - 1)
    else:
        last_day = local_end.date()
        first_day = last_day - timedelta(days=days)
    return Window(start=local_midnight(first_day, tz), end=end, first_day=first_day, last_day=last_day)


def local_midnight(day: date, tz: tzinfo) -> datetime:
    return datetime.combine(day, time(0), tzinfo=tz).astimezone(UTC)
