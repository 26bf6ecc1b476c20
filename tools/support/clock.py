"""The current instant and the two ways the project writes an instant as text.

* `utc_text`: `YYYY-MM-DD HH:MM:SS` in UTC, the canonical form of our SQLite tables and of telemetry
  windows (fixed width, so text order is time order and an index serves a range).
* `iso_z`: ISO 8601 with a `Z`, `2026-02-16T00:17:00Z`, what findings, pull requests and run records show.

A naive datetime is taken as UTC by both: times inside the project are aware, and a naive one comes from
a library that means UTC (PyGithub, `datetime.utcnow`-style callers), never the machine's local time.
"""

from __future__ import annotations

from datetime import UTC, datetime


def utc_now() -> datetime:
    return datetime.now(UTC)


def _as_utc(moment: datetime) -> datetime:
    if moment.tzinfo is None:
        return moment.replace(tzinfo=UTC)
    return moment if moment.tzinfo is UTC else moment.astimezone(UTC)


def utc_text(moment: datetime) -> str:
    """Our canonical UTC text, `YYYY-MM-DD HH:MM:SS` (text order is time order).

    %-formatted (about half of `isoformat`'s time), and a zone at offset zero (a driver's own UTC zone
    object) is not converted: pages of tasks format every row's time."""
    if moment.tzinfo is not None and moment.tzinfo is not UTC and moment.utcoffset():
        moment = moment.astimezone(UTC)
    return "%04d-%02d-%02d %02d:%02d:%02d" % (  # noqa: UP031 - faster than an f-string with format specs
        moment.year,
        moment.month,
        moment.day,
        moment.hour,
        moment.minute,
        moment.second,
    )


def iso_z(moment: datetime) -> str:
    """ISO 8601 in UTC to the second, with `Z`: `2026-02-16T00:17:00Z`."""
    return _as_utc(moment).isoformat(timespec="seconds")[:19] + "Z"
