"""Keep each impact verdict in memory as a finding, once: later nights recall what a fix achieved.

A verdict is identified by signature, merge time, scope (agent or all) and verdict. The first time it
is reached it is remembered as a finding (content = the sentence with the numbers of that night);
when the same verdict is reached again, the stored finding's metadata is updated with the latest
numbers instead (an unchanged update writes nothing), so repeated runs never pile up duplicates.
A new verdict for the same fix (inconclusive -> fixed) is a new finding.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from typing import Any

from ..memory.recall import recall
from ..memory.store import MemoryStore
from ..support.problems import UnavailableError
from .results import ImpactResult

KIND = "impact_verdict"
SOURCE = "self-improver"
CONFIDENCE = {"fixed": 0.95, "improved": 0.95, "worse": 0.95, "no_change": 0.9, "inconclusive": 0.5}


def _identity(result: ImpactResult) -> dict[str, Any]:
    return {
        "kind": KIND,
        "merged_at": result.merged_at,
        "scope": result.agent or "all",
        "verdict": result.verdict,
    }


def _numbers(result: ImpactResult) -> dict[str, Any]:
    s = result.signature_impact
    return {
        "rate_ratio": s.rate_ratio,
        "ci_low": s.ci_low,
        "ci_high": s.ci_high,  # null (absent) = unbounded
        "occurrences": s.events_after,
        "events_before": s.events_before,
        "events_after": s.events_after,
        "tasks_before": s.tasks_before,
        "tasks_after": s.tasks_after,
        "tasks_needed_after": s.tasks_needed_after,
        "regressed": result.marked_regressed,
    }


def verdict_finding(result: ImpactResult) -> dict[str, Any]:
    """The finding for a verdict: `content`, `confidence` and `metadata` as remember_finding takes them."""
    pr = f"PR #{result.pr_number}" if result.pr_number is not None else "The fix"
    scope = f" for agent {result.agent}" if result.agent else ""
    content = (
        f"{pr} (merged {result.merged_at}) on signature {result.signature} ({result.title}){scope}: "
        f"verdict {result.verdict}. {result.reason}"
    )
    metadata: dict[str, Any] = {
        "signature": result.signature,
        "pr_number": result.pr_number,
        **({"pr_status": "merged"} if result.pr_number is not None else {}),
        **_identity(result),
        **_numbers(result),
    }
    return {"content": content, "confidence": CONFIDENCE[result.verdict], "metadata": metadata}


def remember_verdict_sync(store: MemoryStore, result: ImpactResult) -> str:
    """Store the verdict once (see module doc); returns the finding id. Raises UnavailableError."""
    found = recall(store, signature=result.signature, where=_identity(result), top_k=1)
    existing = [f for f in found.findings if f.match == "signature"]
    if existing:
        store.update(existing[0].id, _numbers(result), actor=SOURCE)
        return existing[0].id
    finding = verdict_finding(result)
    drafted = store.draft(finding["content"], finding["confidence"], finding["metadata"], source=SOURCE)
    return store.remember(drafted).id


async def remember_verdict(store: MemoryStore, result: ImpactResult) -> str:
    return await asyncio.to_thread(remember_verdict_sync, store, result)


async def measure_and_record(memory: MemoryStore, measure: Awaitable[ImpactResult]) -> ImpactResult:
    """Measure a merged fix, then keep its verdict in memory: the tool and the nightly run share this.

    Memory being down does not lose the verdict: the result says why it was not stored instead.
    """
    result = await measure
    try:
        finding_id = await remember_verdict(memory, result)
    except UnavailableError as exc:
        return result.model_copy(update={"memory_note": f"verdict not stored in memory: {exc}"})
    return result.model_copy(update={"memory_finding_id": finding_id})
