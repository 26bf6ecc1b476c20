"""Durations as histogram bins: exact milliseconds below 100 ms, then bins 1% wide.

Comparing weeks of durations needs their distribution, not every value: a 1%-wide bin keeps p50/p95
within 0.5% and the rank tests valid (values in one bin are ties), while a day of a busy operation
shrinks from hundreds of thousands of values to a few hundred bins that cache and merge cheaply.
Engines compute the bin key in SQL (`duration_bin_sql`) or in Python (`duration_bin`), the same key.
"""

from __future__ import annotations

import math

EXACT_BELOW_MS = 100
LOG_STEP = math.log(1.01)
BIN_OFFSET = 100_000  # keys from here on are log bins; below, whole milliseconds


def duration_bin(ms: float) -> int:
    """The bin key of a duration in ms (>= 0)."""
    if ms < EXACT_BELOW_MS:
        return int(round(ms))
    return BIN_OFFSET + int(math.log(ms) / LOG_STEP)


def duration_bin_sql(column: str) -> str:
    """`duration_bin` in SQL (needs SQLite's math functions, on by default since 3.35)."""
    return (
        f"CASE WHEN {column} < {EXACT_BELOW_MS} THEN CAST(ROUND({column}) AS INTEGER) "
        f"ELSE {BIN_OFFSET} + CAST(ln({column}) / {LOG_STEP!r} AS INTEGER) END"
    )


def bin_value(key: int) -> float:
    """The duration a bin stands for: its ms, or the geometric middle of a log bin."""
    if key < BIN_OFFSET:
        return float(key)
    return round(math.exp((key - BIN_OFFSET + 0.5) * LOG_STEP), 1)
