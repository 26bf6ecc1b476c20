"""Which operations got slower: p50/p95 duration now vs a baseline, flagged only when large and real.

An operation is a (task_name, agent) pair. `now` is the last `days` full days plus today so far (as in
the other tools); the baseline is the `baseline_days` before it. An operation is flagged only when all
hold:
- enough samples: at least 20 in each window;
- a large change: p95 now / p95 baseline >= 1.5 and p95 rose by at least 100 ms;
- a real change: p < 0.01, where p is the smaller of a one-sided Mann–Whitney test (the bulk got
  slower) and a Fisher exact test on exceedances of the pooled p90 (the tail got slower), times 2
  (Bonferroni), see `rank_tests`.
"""

from __future__ import annotations

from datetime import timedelta

from ..support.problems import ToolInputError
from ..telemetry.health import answer_warnings
from ..telemetry.source import TelemetryStore
from ..telemetry.windows import trailing_window, utc_text
from .duration_cache import DurationCache, Operations, Progress, as_values, durations_by_day, merge
from .rank_tests import Histogram, mann_whitney_greater, quantile, size, tail_exceedance_greater
from .results import DurationStats, SlowOperation, SlowOperations

MIN_SAMPLES = 20
MIN_P95_RATIO = 1.5
MIN_P95_INCREASE_MS = 100.0
MAX_P_VALUE = 0.01
METHOD = (
    f"Flagged when >= {MIN_SAMPLES} samples in each window, p95 ratio >= {MIN_P95_RATIO}, p95 increase >= "
    f"{MIN_P95_INCREASE_MS:.0f} ms and p < {MAX_P_VALUE} (2 × the smaller one-sided p of Mann–Whitney U and "
    "Fisher's exact test on values above the pooled p90). Quantiles by linear interpolation."
)


OperationKey = tuple[str | None, str | None]  # (task_name, agent)


def _stats(values: Histogram) -> DurationStats:
    if not values:
        return DurationStats(count=0, p50_ms=None, p95_ms=None)
    return DurationStats(
        count=size(values), p50_ms=round(quantile(values, 0.5), 1), p95_ms=round(quantile(values, 0.95), 1)
    )


def _ratio(now: float | None, before: float | None) -> float | None:
    if now is None or before is None or before <= 0:
        return None
    return round(now / before, 3)


def assess(key: OperationKey, now: Histogram, baseline: Histogram) -> SlowOperation:
    """Stats, tests and the flag for one operation, with a reason in one sentence."""
    current, before = _stats(now), _stats(baseline)
    p95_ratio = _ratio(current.p95_ms, before.p95_ms)
    increase = (
        round(current.p95_ms - before.p95_ms, 1)
        if current.p95_ms is not None and before.p95_ms is not None
        else None
    )
    p_value = None
    flagged = False
    if current.count < MIN_SAMPLES or before.count < MIN_SAMPLES:
        reason = (
            f"Not assessed: {current.count} samples now and {before.count} in the baseline, fewer than "
            f"{MIN_SAMPLES} in a window."
        )
    else:
        p_value = min(
            1.0, 2 * min(mann_whitney_greater(now, baseline), tail_exceedance_greater(now, baseline))
        )
        large = (
            p95_ratio is not None
            and p95_ratio >= MIN_P95_RATIO
            and increase is not None
            and increase >= MIN_P95_INCREASE_MS
        )
        flagged = large and p_value < MAX_P_VALUE
        change = f"p95 {before.p95_ms:.0f} -> {current.p95_ms:.0f} ms ({p95_ratio}x), p = {p_value:.3g}"
        if flagged:
            reason = f"Slower: {change}, over {current.count} samples now and {before.count} before."
        elif not large:
            reason = f"No large change: {change}; a flag needs p95 x{MIN_P95_RATIO} and +{MIN_P95_INCREASE_MS:.0f} ms."
        else:
            reason = f"Large but not significant: {change}; a flag needs p < {MAX_P_VALUE}."
    return SlowOperation(
        task_name=key[0],
        agent=key[1],
        now=current,
        baseline=before,
        p50_ratio=_ratio(current.p50_ms, before.p50_ms),
        p95_ratio=p95_ratio,
        p95_increase_ms=increase,
        p_value=None if p_value is None else round(p_value, 6),
        flagged=flagged,
        reason=reason,
    )


async def slow_operations(
    store: TelemetryStore,
    days: int = 7,
    baseline_days: int = 28,
    limit: int = 10,
    only_flagged: bool = False,
    cache: DurationCache | None = None,
    progress: Progress | None = None,
) -> SlowOperations:
    if not 1 <= days <= 30 or not 1 <= baseline_days <= 90:
        raise ToolInputError(f"days must be 1..30 and baseline_days 1..90; got {days} and {baseline_days}")
    window = trailing_window(days, None, store.tz, store.now())
    baseline_start = window.start - timedelta(days=baseline_days)
    first_day = baseline_start.astimezone(store.tz).date()
    per_day = await durations_by_day(store, first_day, window.end, cache, progress)
    now: Operations = {}
    baseline: Operations = {}
    for day, histogram in per_day.items():
        merge(now if day >= window.first_day else baseline, histogram.operations)
    origin = next((h.source for h in per_day.values() if h.source), None)
    schema = await store.source.schema()
    now_values, baseline_values = as_values(now), as_values(baseline)
    keys = set(now) | set(baseline)
    assessed = [assess(k, now_values.get(k, {}), baseline_values.get(k, {})) for k in keys]
    assessed.sort(
        key=lambda op: (
            not op.flagged,
            -(op.p95_increase_ms if op.p95_increase_ms is not None else float("-inf")),
            op.task_name or "",
            op.agent or "",
        )
    )
    flagged = [op for op in assessed if op.flagged]
    shown = flagged if only_flagged else assessed
    note = None
    if origin is None:
        note = "no durations: this tasks table has neither duration_ms nor started_at and finished_at"
    elif not keys:
        note = "no task in these windows has a duration"
    return SlowOperations(
        window_start=utc_text(window.start),
        window_end=utc_text(window.end),
        baseline_start=utc_text(baseline_start),
        duration_source=origin,
        operations=shown[:limit],
        flagged_count=len(flagged),
        has_more=len(shown) > limit,
        unavailable_fields=schema.unavailable(
            ["task_name", "agent", "duration_ms", "started_at", "finished_at"]
        ),
        warnings=await answer_warnings(store, None, None),
        note=note,
        method=METHOD,
    )
