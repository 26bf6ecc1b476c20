"""One word for a commit's checks, from both of GitHub's systems: commit statuses and check runs.

CI services report through either (or both), so looking at one alone can call a red commit green.
"""

from __future__ import annotations

from collections.abc import Iterable

from .models import Checks

_FAILED_STATUS = {"failure", "error"}
_FAILED_CONCLUSION = {"failure", "timed_out", "cancelled", "action_required", "startup_failure", "stale"}
_PASSED_CONCLUSION = {"success", "neutral", "skipped"}


def combine(statuses: Iterable[str], check_runs: Iterable[tuple[str, str | None]]) -> Checks:
    """`statuses`: state of each commit status (latest per context); `check_runs`: (status, conclusion)."""
    outcomes: list[Checks] = []
    for state in statuses:
        outcomes.append(
            "failing" if state in _FAILED_STATUS else "passing" if state == "success" else "pending"
        )
    for status, conclusion in check_runs:
        if status != "completed":
            outcomes.append("pending")
        elif conclusion in _FAILED_CONCLUSION:
            outcomes.append("failing")
        elif conclusion in _PASSED_CONCLUSION:
            outcomes.append("passing")
        else:
            outcomes.append("pending")
    if not outcomes:
        return "none"
    for verdict in ("failing", "pending"):
        if verdict in outcomes:
            return verdict  # type: ignore[return-value]
    return "passing"
