"""Exact confidence interval for the ratio of two Poisson rates (events per task, after / before).

Method (conditional binomial, exact): with x1 events over exposure E1 before and x2 over E2 after,
independent Poisson counts, the after-count given the total n = x1 + x2 is
    x2 | n ~ Binomial(n, p),   p = E2·RR / (E1 + E2·RR),   RR = rate_after / rate_before,
so RR = (E1 / E2) · p / (1 - p). The Clopper–Pearson interval for p (beta quantiles
p_low = B(α/2; x2, n - x2 + 1), p_high = B(1 - α/2; x2 + 1, n - x2)) maps through that monotone
function to an interval for RR. Because it is exact for every n, it is conservative overall: coverage
is at least 95% for any rates and exposures, small counts included (tests check this by simulation).
Edges: x2 = 0 gives a lower bound of 0; x1 = 0 (x2 > 0) gives an unbounded upper bound (`math.inf`);
n = 0 gives [0, inf): no information. For failure *rates* (a task fails at most once) the Poisson
model overstates the variance a little, so the interval is slightly wider than a binomial one.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache

from .beta import beta_quantile

CONFIDENCE = 0.95


@lru_cache(maxsize=65_536)
def clopper_pearson(successes: int, trials: int, confidence: float = CONFIDENCE) -> tuple[float, float]:
    """Exact two-sided interval for a binomial proportion (cached: simulations repeat small counts)."""
    if trials < 0 or not 0 <= successes <= trials:
        raise ValueError(f"need 0 <= successes <= trials, got {successes} of {trials}")
    if trials == 0:
        return 0.0, 1.0
    alpha = 1.0 - confidence
    low = 0.0 if successes == 0 else beta_quantile(alpha / 2, successes, trials - successes + 1)
    high = 1.0 if successes == trials else beta_quantile(1 - alpha / 2, successes + 1, trials - successes)
    return low, high


@dataclass(frozen=True)
class RateRatio:
    """after/before rate ratio of events per task, with its exact interval."""

    events_before: int
    exposure_before: int
    events_after: int
    exposure_after: int
    estimate: float | None  # None when undefined (no events before, or no exposure)
    low: float
    high: float  # math.inf when unbounded
    confidence: float = CONFIDENCE

    @property
    def rate_before(self) -> float:
        return self.events_before / self.exposure_before if self.exposure_before else 0.0

    @property
    def rate_after(self) -> float:
        return self.events_after / self.exposure_after if self.exposure_after else 0.0


def rate_ratio(
    events_before: int,
    exposure_before: int,
    events_after: int,
    exposure_after: int,
    confidence: float = CONFIDENCE,
) -> RateRatio:
    """The ratio rate_after / rate_before with the conditional-binomial exact interval (module doc)."""
    x1, e1, x2, e2 = events_before, exposure_before, events_after, exposure_after
    if min(x1, e1, x2, e2) < 0:
        raise ValueError("counts and exposures cannot be negative")
    if e1 == 0 or e2 == 0 or x1 + x2 == 0:
        return RateRatio(x1, e1, x2, e2, None, 0.0, math.inf, confidence)
    p_low, p_high = clopper_pearson(x2, x1 + x2, confidence)
    scale = e1 / e2
    low = scale * p_low / (1.0 - p_low)
    high = math.inf if p_high >= 1.0 else scale * p_high / (1.0 - p_high)
    estimate = (x2 / e2) / (x1 / e1) if x1 else None
    return RateRatio(x1, e1, x2, e2, estimate, low, high, confidence)


def exposure_for_upper_bound_below_one(
    events_before: int, exposure_before: int, events_after: int, confidence: float = CONFIDENCE
) -> float:
    """The after-exposure beyond which the interval's upper bound drops below 1 if no more events occur.

    With n and x2 fixed, p_high is fixed and RR_high = (E1 / E2) · p_high / (1 - p_high) falls as E2
    grows, so the bound is E1 · p_high / (1 - p_high); infinite when x1 = 0 (nothing to improve on).
    """
    if events_before == 0:
        return math.inf
    _, p_high = clopper_pearson(events_after, events_before + events_after, confidence)
    return exposure_before * p_high / (1.0 - p_high)
