"""A measure_impact verdict as a pull-request comment a reviewer reads in ten seconds:

    Fixed: 42 failures in 1,520 tasks before the merge, 0 in 1,610 after; the failure rate fell by at
    least 93% (95% interval).

The counts are the signature's (insights' `signature_impact`); the percentage comes from the bound of
the exact 95% interval of the rate ratio that makes the claim safe (its upper bound for a fall, its
lower bound for a rise). A hidden marker names the verdict, so a reader (or a later run) can tell.
"""

from __future__ import annotations

import math
from typing import Protocol

HEADINGS = {
    "fixed": "Fixed",
    "improved": "Improved",
    "worse": "Worse",
    "no_change": "No change",
    "inconclusive": "Inconclusive",
}


class Comparison(Protocol):
    """What the comment reads of insights' RateComparison."""

    @property
    def events_before(self) -> int: ...
    @property
    def events_after(self) -> int: ...
    @property
    def tasks_before(self) -> int: ...
    @property
    def tasks_after(self) -> int: ...
    @property
    def ci_low(self) -> float: ...
    @property
    def ci_high(self) -> float | None: ...
    @property
    def tasks_needed_after(self) -> int | None: ...


class ImpactVerdict(Protocol):
    """What the comment reads of insights' ImpactResult."""

    @property
    def verdict(self) -> str: ...
    @property
    def signature(self) -> str: ...
    @property
    def reason(self) -> str: ...
    @property
    def deployed_in(self) -> str | None: ...
    @property
    def signature_impact(self) -> Comparison: ...


def _failures(n: int) -> str:
    return f"{n:,} failure" + ("" if n == 1 else "s")


def _percent(value: float) -> str:
    return f"{max(0, math.floor(round(value * 100, 6))):d}%"  # round first: 1 - 0.07 is 0.9299…


def headline(result: ImpactVerdict) -> str:
    impact = result.signature_impact
    moment = f"the fix shipped in {result.deployed_in}" if result.deployed_in else "the merge"
    counts = (
        f"{_failures(impact.events_before)} in {impact.tasks_before:,} tasks before {moment}, "
        f"{impact.events_after:,} in {impact.tasks_after:,} after"
    )
    high = impact.ci_high
    verdict = result.verdict
    if verdict in ("fixed", "improved") and high is not None:
        change = f"the failure rate fell by at least {_percent(1 - high)} (95% interval)"
    elif verdict == "worse":
        change = f"the failure rate rose by at least {_percent(impact.ci_low - 1)} (95% interval)"
    elif verdict == "no_change":
        upper = f"+{_percent(high - 1)}" if high is not None else "an unbounded rise"
        change = f"the failure rate moved between -{_percent(1 - impact.ci_low)} and {upper} (95% interval)"
    else:
        more = impact.tasks_needed_after
        change = "too few tasks to tell yet" + (
            f"; about {more:,} more tasks after {moment} are needed" if more else ""
        )
    return f"{HEADINGS.get(verdict, verdict)}: {counts}; {change}."


def verdict_comment(result: ImpactVerdict) -> str:
    return (
        f"{headline(result)}\n\n"
        f"<sub>self-improver impact check of signature `{result.signature}`: {result.reason}</sub>\n"
        f"<!-- self-improver:verdict={result.verdict} -->\n"
    )
