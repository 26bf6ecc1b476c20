"""Lifecycle states of an error signature, from its daily counts and its resolution marks.

States, in order of precedence:

- `regressed`: marked resolved (a merged fix judged fixed or improved) and failing again on a release
  that contains the fix. Where tasks carry releases, a failure after the merge on an older release
  (one without the fix, still running) is counted as "still on old release" and reopens nothing;
  without release data every failure after the merge counts, as before releases existed.
- `resolved`: marked resolved and not failing since on a release with the fix.
- `escalating`: the latest day's count is clearly above its forecast (rule below).
- `muted`: a reviewer called it noise (or closed its fix unmerged) and the mute has not expired. A
  muted signature that escalates shows as `escalating`: it comes back by itself.
- `new`: first seen within the last 7 days.
- `ongoing`: everything else.

Escalation rule (simple, robust to small counts): the forecast for day D is the mean daily count over
the 7 days before D (zeros included). D is escalating when its count c satisfies all of
  c >= 3,  c >= 2 * max(forecast, 0.5),  and  P(Poisson(max(forecast, 0.5)) >= c) < 0.01.
The floor of 0.5 per day keeps a signature that was quiet for a week from escalating on 1 or 2
occurrences; the Poisson tail keeps a noisy, frequent signature from escalating on ordinary variation.
The rule is checked for the last complete day and for the current day: a nightly run at 00:17 sees
almost nothing of "today", so yesterday carries the signal; an ad-hoc call in the afternoon sees today.
"""

from __future__ import annotations

import math
from datetime import date, datetime, timedelta

NEW_DAYS = 7
BASELINE_DAYS = 7
MIN_ESCALATING_COUNT = 3
FORECAST_FLOOR = 0.5
TAIL_PROBABILITY = 0.01

STATES = ("new", "ongoing", "escalating", "resolved", "regressed", "muted")


def poisson_tail(k: int, mean: float) -> float:
    """P(X >= k) for X ~ Poisson(mean), computed stably for small k."""
    if k <= 0:
        return 1.0
    term = math.exp(-mean)
    cumulative = term
    for i in range(1, k):
        term *= mean / i
        cumulative += term
    return max(0.0, 1.0 - cumulative)


def forecast(daily: dict[date, int], day: date) -> float:
    return sum(daily.get(day - timedelta(days=i), 0) for i in range(1, BASELINE_DAYS + 1)) / BASELINE_DAYS


def is_escalating_on(daily: dict[date, int], day: date) -> bool:
    count = daily.get(day, 0)
    expected = max(forecast(daily, day), FORECAST_FLOOR)
    return (
        count >= MIN_ESCALATING_COUNT
        and count >= 2 * expected
        and poisson_tail(count, expected) < TAIL_PROBABILITY
    )


def state_of(
    daily: dict[date, int],
    first_seen: datetime,
    last_seen: datetime,
    today: date,
    now: datetime,
    resolved_at: datetime | None = None,
    recurred: bool | None = None,
    muted_until: datetime | None = None,
) -> str:
    """The signature's state at `now`; `today` is `now`'s local day, `daily` keyed by local day.

    `recurred`: whether it failed after `resolved_at` on a release with the fix (None: no release data,
    so any failure after `resolved_at` counts). `muted_until`: the end of an active mute, if any.
    """
    if resolved_at is not None:
        if recurred is None:
            recurred = last_seen > resolved_at
        return "regressed" if recurred else "resolved"
    if any(is_escalating_on(daily, d) for d in (today - timedelta(days=1), today)):
        return "escalating"
    if muted_until is not None and now < muted_until:
        return "muted"
    if first_seen >= now - timedelta(days=NEW_DAYS):
        return "new"
    return "ongoing"
