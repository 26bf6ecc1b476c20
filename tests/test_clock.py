"""The two text forms of an instant agree on the instant, whatever zone (or none) it came in."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from self_improver.tools.support.clock import iso_z, utc_text


def test_one_instant_in_any_zone_gives_one_text_in_each_form() -> None:
    plus_two = datetime(2026, 2, 16, 2, 17, 5, 900_000, tzinfo=timezone(timedelta(hours=2)))
    naive_utc = datetime(2026, 2, 16, 0, 17, 5)  # PyGithub's naive datetimes mean UTC
    for moment in (plus_two, naive_utc):
        assert utc_text(moment) == "2026-02-16 00:17:05"
        assert iso_z(moment) == "2026-02-16T00:17:05Z"


def test_a_drivers_own_utc_zone_and_the_far_past_format_like_the_rest() -> None:
    from zoneinfo import ZoneInfo

    assert utc_text(datetime(2026, 2, 16, 0, 17, 5, tzinfo=ZoneInfo("UTC"))) == "2026-02-16 00:17:05"
    assert (
        utc_text(datetime(2026, 2, 16, 1, 17, 5, tzinfo=ZoneInfo("Europe/Berlin"))) == "2026-02-16 00:17:05"
    )
    assert utc_text(datetime(999, 1, 2, 3, 4, 5)) == "0999-01-02 03:04:05"
