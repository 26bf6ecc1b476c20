"""The statistics behind the verdicts: the incomplete beta, exact intervals, verdict rules, rank tests."""

from __future__ import annotations

import math
import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from self_improver.tools.insights.beta import beta_quantile, regularized_beta
from self_improver.tools.insights.rank_tests import (
    hypergeometric_upper_tail,
    mann_whitney_greater,
    quantile,
    tail_exceedance_greater,
)
from self_improver.tools.insights.rate_ratio import clopper_pearson, rate_ratio
from self_improver.tools.insights.verdicts import judge, tasks_needed_for_improvement


def _binomial_upper_tail(k: int, n: int, p: float) -> float:
    """P(Bin(n, p) >= k), summed directly: an independent check of the beta function."""
    return sum(math.comb(n, i) * p**i * (1 - p) ** (n - i) for i in range(k, n + 1))


@pytest.mark.parametrize("x", [0.0, 0.1, 0.37, 0.5, 0.93, 1.0])
def test_regularized_beta_matches_closed_forms(x: float) -> None:
    assert regularized_beta(x, 1, 1) == pytest.approx(x, abs=1e-12)
    assert regularized_beta(x, 3, 1) == pytest.approx(x**3, abs=1e-12)
    assert regularized_beta(x, 1, 4) == pytest.approx(1 - (1 - x) ** 4, abs=1e-12)
    assert regularized_beta(0.5, 7.5, 7.5) == pytest.approx(0.5, abs=1e-12)


@pytest.mark.parametrize(("k", "n", "p"), [(1, 10, 0.05), (3, 20, 0.2), (13, 169, 0.08), (40, 60, 0.7)])
def test_regularized_beta_is_the_binomial_tail(k: int, n: int, p: float) -> None:
    assert regularized_beta(p, k, n - k + 1) == pytest.approx(_binomial_upper_tail(k, n, p), rel=1e-9)


@settings(max_examples=60, deadline=None)
@given(
    q=st.floats(0.001, 0.999),
    a=st.floats(0.5, 500),
    b=st.floats(0.5, 500),
)
def test_beta_quantile_inverts_the_cdf(q: float, a: float, b: float) -> None:
    assert regularized_beta(beta_quantile(q, a, b), a, b) == pytest.approx(q, abs=1e-9)


def test_clopper_pearson_known_values_and_edges() -> None:
    assert clopper_pearson(0, 10) == (0.0, pytest.approx(1 - 0.025**0.1, abs=1e-12))
    assert clopper_pearson(10, 10) == (pytest.approx(0.025**0.1, abs=1e-12), 1.0)
    low, high = clopper_pearson(13, 169)
    # Definition: the bounds are where the binomial tails are exactly 2.5%.
    assert _binomial_upper_tail(13, 169, low) == pytest.approx(0.025, rel=1e-7)
    assert 1 - _binomial_upper_tail(14, 169, high) == pytest.approx(0.025, rel=1e-7)
    assert 0.04 < low < 13 / 169 < high < 0.13


def test_seed_article_comparison_is_inconclusive_with_a_wide_interval() -> None:
    """13/169 failures one day vs 1/8 the next: the article 'had to explain away the rise'."""
    ratio = rate_ratio(13, 169, 1, 8)
    assert ratio.estimate == pytest.approx((1 / 8) / (13 / 169))
    assert ratio.low < 0.1 and ratio.high > 10
    verdict = judge(ratio, "failures")
    assert verdict.verdict == "inconclusive"
    assert verdict.tasks_needed_after == 79  # 87 tasks after the merge with no further failure
    assert "79 more tasks" in verdict.reason


def test_interval_edges_zero_before_zero_after_and_nothing() -> None:
    no_after = rate_ratio(20, 1000, 0, 1000)
    assert no_after.low == 0.0 and no_after.high < 1 and no_after.estimate == 0.0
    no_before = rate_ratio(0, 1000, 6, 1000)
    assert no_before.estimate is None and math.isinf(no_before.high) and no_before.low > 0
    nothing = rate_ratio(0, 1000, 0, 1000)
    assert (nothing.low, nothing.high) == (0.0, math.inf)
    assert judge(nothing).verdict == "inconclusive" and "did not occur" in judge(nothing).reason
    assert judge(no_before).verdict == "worse"  # 0 -> 6 in 1000 tasks is a real rise
    assert judge(rate_ratio(0, 1000, 2, 1000)).tasks_needed_after is None


@pytest.mark.parametrize(
    ("counts", "verdict"),
    [
        ((40, 1000, 0, 1000), "fixed"),
        ((40, 1000, 20, 1000), "improved"),
        ((40, 1000, 90, 1000), "worse"),
        ((400, 4000, 410, 4000), "no_change"),
        ((40, 1000, 2, 30), "inconclusive"),
        ((5, 1000, 5, 1000), "inconclusive"),  # CI includes 1 but far wider than [0.5, 2]
        ((40, 0, 0, 100), "inconclusive"),
        ((40, 1000, 0, 0), "inconclusive"),
    ],
)
def test_verdict_rules(counts: tuple[int, int, int, int], verdict: str) -> None:
    judgement = judge(rate_ratio(*counts))
    assert judgement.verdict == verdict, judgement.reason
    assert judgement.reason[0].isupper() and judgement.reason.endswith(".")


@pytest.mark.parametrize(("x1", "e1"), [(1, 50), (3, 100), (13, 169), (40, 1000), (200, 10_000)])
def test_tasks_needed_is_exactly_when_fixed_becomes_possible(x1: int, e1: int) -> None:
    needed = tasks_needed_for_improvement(rate_ratio(x1, e1, 0, 5))
    assert needed is not None and needed > 0
    assert judge(rate_ratio(x1, e1, 0, 5 + needed)).verdict == "fixed"
    assert judge(rate_ratio(x1, e1, 0, 5 + needed - 1)).verdict == "inconclusive"
    # "fixed" always needs at least 3 expected occurrences at the earlier rate.
    assert (5 + needed) * x1 / e1 >= 3


def test_tasks_needed_for_improved_when_occurrences_continue() -> None:
    needed = tasks_needed_for_improvement(rate_ratio(60, 1000, 4, 40))
    assert needed is not None
    assert judge(rate_ratio(60, 1000, 4, 40 + needed)).verdict == "improved"
    assert judge(rate_ratio(60, 1000, 4, 40 + needed - 1)).verdict != "improved"


def _poisson(rng: random.Random, mean: float) -> int:
    """Knuth's multiplication sampler (means here stay below 100, so exp(-mean) does not underflow)."""
    limit, count, product = math.exp(-mean), 0, rng.random()
    while product > limit:
        count += 1
        product *= rng.random()
    return count


@pytest.mark.parametrize(
    ("true_ratio", "rate", "exposure_before", "exposure_after", "moderate"),
    [
        (1.0, 0.002, 1000, 1000, False),  # ~2 events a window
        (0.3, 0.01, 500, 300, False),  # ~5 before, ~1 after
        (2.0, 0.004, 1500, 400, False),
        (0.5, 0.03, 1000, 1000, True),  # ~30 before, ~15 after
        (1.0, 0.05, 800, 1200, True),
        (1.8, 0.02, 2000, 1000, True),
    ],
)
def test_interval_coverage_on_simulated_poisson_counts(
    true_ratio: float, rate: float, exposure_before: int, exposure_after: int, moderate: bool
) -> None:
    rng = random.Random(f"{true_ratio}-{rate}-{exposure_before}-{exposure_after}")
    draws, covered = 2000, 0
    for _ in range(draws):
        x1 = _poisson(rng, rate * exposure_before)
        x2 = _poisson(rng, rate * true_ratio * exposure_after)
        ratio = rate_ratio(x1, exposure_before, x2, exposure_after)
        covered += ratio.low <= true_ratio <= ratio.high
    coverage = covered / draws
    assert coverage >= 0.94, coverage
    if moderate:
        assert coverage <= 0.995, coverage


def test_quantile_interpolates_like_numpy_default() -> None:
    assert quantile([1, 2, 3, 4], 0.5) == 2.5
    assert quantile(list(range(1, 101)), 0.95) == pytest.approx(95.05)
    assert quantile([7.0], 0.95) == 7.0


def test_hypergeometric_tail_sums_to_exact_values() -> None:
    # 10 balls, 4 marked, draw 5: P(X >= 3) = (C(4,3)C(6,2) + C(4,4)C(6,1)) / C(10,5)
    assert hypergeometric_upper_tail(3, 10, 4, 5) == pytest.approx((4 * 15 + 6) / 252)
    assert hypergeometric_upper_tail(0, 10, 4, 5) == 1.0
    assert hypergeometric_upper_tail(5, 10, 4, 5) == 0.0


def test_rank_tests_detect_a_shift_and_keep_their_level_under_the_null() -> None:
    rng = random.Random(7)
    before = [rng.lognormvariate(7, 0.4) for _ in range(40)]
    slower = [2 * rng.lognormvariate(7, 0.4) for _ in range(40)]
    assert mann_whitney_greater(slower, before) < 1e-6
    assert mann_whitney_greater(before, slower) > 0.99
    slow_tail = [rng.lognormvariate(7, 0.4) * (4 if i % 4 == 0 else 1) for i in range(200)]
    baseline = [rng.lognormvariate(7, 0.4) for _ in range(200)]
    assert tail_exceedance_greater(slow_tail, baseline) < 0.001
    false_alarms = 0
    for _ in range(300):
        a = [rng.lognormvariate(7, 0.5) for _ in range(25)]
        b = [rng.lognormvariate(7, 0.5) for _ in range(30)]
        false_alarms += min(1.0, 2 * min(mann_whitney_greater(a, b), tail_exceedance_greater(a, b))) < 0.05
    assert false_alarms / 300 <= 0.08
