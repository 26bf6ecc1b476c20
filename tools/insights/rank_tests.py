"""Two one-sided tests that durations got larger, in pure Python, valid for the sample sizes we flag at.

- Mann–Whitney U (`mann_whitney_greater`): are durations now stochastically larger than before? Normal
  approximation with tie correction and continuity correction; accurate for n >= 20 per group, the
  minimum `slow_operations` requires before it flags anything.
- Tail exceedance (`tail_exceedance_greater`): a p95 can rise while the median does not (a slow tail),
  which a rank test can miss. Count each sample's values above the pooled q-quantile and apply Fisher's
  exact test (hypergeometric upper tail). The threshold is a symmetric function of the pooled data, so
  under "same distribution" the count is exactly hypergeometric given the pooled count.
"""

from __future__ import annotations

import math
from collections.abc import Sequence


def quantile(values: Sequence[float], q: float) -> float:
    """Linear interpolation between order statistics (numpy's default, 'type 7')."""
    if not values:
        raise ValueError("quantile of no values")
    ordered = sorted(values)
    position = q * (len(ordered) - 1)
    low = math.floor(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def _normal_upper_tail(z: float) -> float:
    return 0.5 * math.erfc(z / math.sqrt(2.0))


def mann_whitney_greater(now: Sequence[float], before: Sequence[float]) -> float:
    """One-sided p-value for 'values in `now` tend to be larger than in `before`'."""
    n1, n2 = len(now), len(before)
    if n1 == 0 or n2 == 0:
        return 1.0
    pooled = sorted([(v, 0) for v in now] + [(v, 1) for v in before])
    rank_sum, ties, i, n = 0.0, 0.0, 0, n1 + n2
    while i < n:
        j = i
        while j + 1 < n and pooled[j + 1][0] == pooled[i][0]:
            j += 1
        average_rank = (i + j) / 2 + 1
        group = j - i + 1
        rank_sum += average_rank * sum(1 for k in range(i, j + 1) if pooled[k][1] == 0)
        ties += group**3 - group
        i = j + 1
    u = rank_sum - n1 * (n1 + 1) / 2
    mean = n1 * n2 / 2
    variance = n1 * n2 / 12 * ((n + 1) - ties / (n * (n - 1)))
    if variance <= 0:
        return 1.0
    return _normal_upper_tail((u - mean - 0.5) / math.sqrt(variance))


def _log_comb(n: int, k: int) -> float:
    return math.lgamma(n + 1) - math.lgamma(k + 1) - math.lgamma(n - k + 1)


def hypergeometric_upper_tail(k: int, population: int, successes: int, draws: int) -> float:
    """P(X >= k) for X ~ Hypergeometric(population, successes, draws)."""
    low, high = max(0, draws - (population - successes)), min(draws, successes)
    if k <= low:
        return 1.0
    if k > high:
        return 0.0
    total = _log_comb(population, draws)
    return min(
        1.0,
        sum(
            math.exp(_log_comb(successes, x) + _log_comb(population - successes, draws - x) - total)
            for x in range(k, high + 1)
        ),
    )


def tail_exceedance_greater(now: Sequence[float], before: Sequence[float], q: float = 0.9) -> float:
    """One-sided Fisher exact p-value that more of `now` lies above the pooled q-quantile."""
    if not now or not before:
        return 1.0
    threshold = quantile([*now, *before], q)
    above_now = sum(1 for v in now if v > threshold)
    above_before = sum(1 for v in before if v > threshold)
    return hypergeometric_upper_tail(above_now, len(now) + len(before), above_now + above_before, len(now))
