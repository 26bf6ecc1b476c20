"""Turn a rate ratio and its interval into a verdict a report can state without hedging or guessing.

Rules, checked in this order (RR = rate after / rate before, [low, high] its 95% exact interval):

- `inconclusive` when a window has no tasks, or the events never occurred in either window.
- `fixed`: no occurrence after the merge, and enough exposure for that to mean something: both
  (a) expected events after at the before-rate, E2 · x1 / E1, is >= 3 (P(0 | unchanged) = e^-3 < 5%),
  and (b) the interval's upper bound is below 1 (this also accounts for the before-rate being an
  estimate; with x2 = 0 it implies (a), which is kept as the documented floor).
- `improved`: occurrences continue but high < 1.
- `worse`: low > 1.
- `no_change`: the interval contains 1 and is tight, within [0.5, 2].
- `inconclusive` otherwise, with the number of further tasks after the merge needed before `fixed` or
  `improved` becomes possible: the smallest E2 meeting (a) and (b) if no further occurrence happened
  (a lower bound: each new occurrence raises it). None when the events never occurred before (there is
  nothing to improve on).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

from .rate_ratio import RateRatio, exposure_for_upper_bound_below_one

Verdict = Literal["fixed", "improved", "worse", "no_change", "inconclusive"]
VERDICTS: tuple[Verdict, ...] = ("fixed", "improved", "worse", "no_change", "inconclusive")
MIN_EXPECTED_FOR_FIXED = 3.0
NO_CHANGE_LOW, NO_CHANGE_HIGH = 0.5, 2.0


@dataclass(frozen=True)
class Judgement:
    verdict: Verdict
    reason: str
    tasks_needed_after: int | None = None  # more tasks after the merge before fixed/improved is possible

    def __post_init__(self) -> None:
        object.__setattr__(self, "reason", self.reason[:1].upper() + self.reason[1:])


def tasks_needed_for_improvement(ratio: RateRatio) -> int | None:
    """More after-merge tasks needed before fixed/improved is reachable, assuming no new occurrence."""
    x1, e1, x2, e2 = ratio.events_before, ratio.exposure_before, ratio.events_after, ratio.exposure_after
    if x1 == 0 or e1 == 0:
        return None
    bound = exposure_for_upper_bound_below_one(x1, e1, x2, ratio.confidence)
    needed = math.floor(bound) + 1  # strictly above the bound
    if x2 == 0:
        needed = max(needed, math.ceil(MIN_EXPECTED_FOR_FIXED * e1 / x1))
    return max(0, needed - e2)


def interval_text(ratio: RateRatio) -> str:
    high = "unbounded" if math.isinf(ratio.high) else f"{ratio.high:.2f}"
    return f"{ratio.confidence:.0%} CI {ratio.low:.2f}–{high}"


def judge(ratio: RateRatio, what: str = "the signature") -> Judgement:
    """The verdict for `what` (e.g. 'the signature', 'failures') per the module's rules."""
    x1, e1, x2, e2 = ratio.events_before, ratio.exposure_before, ratio.events_after, ratio.exposure_after
    counts = f"{x1} in {e1} tasks before, {x2} in {e2} after"
    if e1 == 0:
        return Judgement(
            "inconclusive", f"no tasks were recorded before the merge, so there is no baseline ({counts})."
        )
    if x1 == 0 and x2 == 0:
        return Judgement(
            "inconclusive",
            f"{what} did not occur in either window ({counts}): there is nothing to measure.",
        )
    needed = tasks_needed_for_improvement(ratio)
    if e2 == 0:
        return Judgement(
            "inconclusive",
            f"no tasks were recorded after the merge yet ({counts}); at least {needed} are needed.",
            needed,
        )
    expected = e2 * x1 / e1
    ci = interval_text(ratio)
    if x2 == 0 and expected >= MIN_EXPECTED_FOR_FIXED and ratio.high < 1.0:
        return Judgement(
            "fixed",
            f"{what} has not occurred since the merge although {expected:.1f} occurrences were expected "
            f"at the earlier rate ({counts}; {ci}).",
        )
    if x2 > 0 and ratio.high < 1.0:
        return Judgement(
            "improved",
            f"{what} still occurs but its rate fell to {ratio.estimate:.2f}× the earlier rate ({counts}; {ci}).",
        )
    if ratio.low > 1.0:
        rise = f"{ratio.estimate:.2f}× the earlier rate" if ratio.estimate is not None else "from zero"
        return Judgement("worse", f"{what}'s rate rose to {rise} after the merge ({counts}; {ci}).")
    if NO_CHANGE_LOW <= ratio.low and ratio.high <= NO_CHANGE_HIGH:
        return Judgement(
            "no_change",
            f"{what}'s rate did not change measurably: the interval includes 1 and lies within "
            f"[{NO_CHANGE_LOW}, {NO_CHANGE_HIGH}] ({counts}; {ci}).",
        )
    more = (
        f"at least {needed} more tasks after the merge (with no further occurrence) are needed before "
        "an improvement could show"
        if needed is not None
        else "an improvement cannot show because it did not occur before the merge"
    )
    return Judgement("inconclusive", f"too little data to tell ({counts}; {ci}); {more}.", needed)
