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
from collections import Counter
from collections.abc import Mapping, Sequence

Histogram = Mapping[float, int]  # value -> how many samples have it (durations come aggregated from SQL)


def histogram(values: Sequence[float]) -> dict[float, int]:
    return dict(Counter(values))


def size(hist: Histogram) -> int:
    return sum(hist.values())


def quantile(values: Sequence[float] | Histogram, q: float) -> float:
    """Linear interpolation between order statistics (numpy's default, 'type 7')."""
    hist = values if isinstance(values, Mapping) else histogram(values)
    n = size(hist)
    if not n:
        raise ValueError("quantile of no values")
    position = q * (n - 1)
    low = math.floor(position)
    high = min(low + 1, n - 1)
    lo_value = hi_value = None
    seen = 0
    for value in sorted(hist):
        seen += hist[value]
        if lo_value is None and seen > low:
            lo_value = value
        if seen > high:
            hi_value = value
            break
    assert lo_value is not None and hi_value is not None
    return lo_value + (hi_value - lo_value) * (position - low)


def _normal_upper_tail(z: float) -> float:
    return 0.5 * math.erfc(z / math.sqrt(2.0))


def mann_whitney_greater(now: Sequence[float] | Histogram, before: Sequence[float] | Histogram) -> float:
    """One-sided p-value for 'values in `now` tend to be larger than in `before`'.

    Works on value counts, so the cost is per distinct value, not per sample.
    """
    a = now if isinstance(now, Mapping) else histogram(now)
    b = before if isinstance(before, Mapping) else histogram(before)
    n1, n2 = size(a), size(b)
    if n1 == 0 or n2 == 0:
        return 1.0
    n = n1 + n2
    rank_sum, ties, below = 0.0, 0.0, 0
    for value in sorted(set(a) | set(b)):
        in_now, group = a.get(value, 0), a.get(value, 0) + b.get(value, 0)
        average_rank = below + (group + 1) / 2
        rank_sum += average_rank * in_now
        ties += group**3 - group
        below += group
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


def tail_exceedance_greater(
    now: Sequence[float] | Histogram, before: Sequence[float] | Histogram, q: float = 0.9
) -> float:
    """One-sided Fisher exact p-value that more of `now` lies above the pooled q-quantile."""
    a = now if isinstance(now, Mapping) else histogram(now)
    b = before if isinstance(before, Mapping) else histogram(before)
    if not a or not b:
        return 1.0
    pooled = Counter(a)
    pooled.update(b)
    threshold = quantile(pooled, q)
    above_now = sum(n for v, n in a.items() if v > threshold)
    above_before = sum(n for v, n in b.items() if v > threshold)
    return hypergeometric_upper_tail(above_now, size(a) + size(b), above_now + above_before, size(a))
