"""Learning from reviewers: a finding called noise, or a fix's pull request closed without merging,
mutes the finding's signature for a while (`mute_days`).

The mute lives next to the signatures (`errors.signature_marks`): `top_errors` shows a muted signature
only when asked (`states=["muted"]`), with the reason and the end of the mute, and the nightly run does
not put it on its watch list. A muted signature that escalates comes back by itself (the lifecycle lifts
the mute). The finding keeps the verdict as metadata (`status = "noise"`, `noise_reason`,
`muted_until`), so `recall_findings` shows why; recalled findings of a signature muted for another
reason (a closed pull request) carry that reason too (`annotate_mutes`).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from ..errors.signature_marks import Mute
from ..errors.signature_store import SignatureStore
from ..support.problems import ToolInputError
from ..support.threads import in_thread
from ..telemetry.windows import utc_text
from .models import Finding, RecallResult
from .store import MemoryStore

MAX_REASON = 500
NOISE = "noise"


def _reason(reason: str | None, what: str) -> str:
    text = " ".join((reason or "").split())
    if not text:
        raise ToolInputError(f"{what} needs a reason: say why, e.g. reason='expected when a user cancels'")
    return text[:MAX_REASON]


def mute_signature(
    signatures: SignatureStore,
    signature: str,
    reason: str,
    until: datetime,
    now: datetime,
    by: str = "pull request closed without merging",
) -> Mute:
    """Mute `signature` until `until` (the pull-request side calls this for a PR closed unmerged)."""
    if until <= now:
        raise ToolInputError(
            f"until {utc_text(until)} UTC is not in the future: a mute needs an end after now"
        )
    return signatures.marks.mute(signature, _reason(reason, "a mute"), until, now, by)


def mark_noise_sync(
    memory: MemoryStore,
    signatures: SignatureStore,
    finding_id: str,
    reason: str | None,
    mute_days: int,
    now: datetime,
    actor: str,
) -> Finding:
    """Record a reviewer's "this is noise" on the finding and mute its signature for `mute_days`."""
    why = _reason(reason, 'status="noise"')
    until = now + timedelta(days=mute_days)
    finding = memory.get(finding_id)
    signature = finding.metadata.get("signature")
    changes = {"status": NOISE, "noise_reason": why, "muted_until": utc_text(until)}
    updated = memory.update(finding_id, changes, actor=actor)
    if isinstance(signature, str) and signature:
        signatures.marks.mute(signature, why, until, now, actor)
    return updated


def annotate_mutes_sync(result: RecallResult, signatures: SignatureStore, now: datetime) -> RecallResult:
    """Recalled findings of a muted signature carry the mute's reason and end (`mute_reason`,
    `muted_until`), whoever muted it."""
    names = {f.metadata.get("signature") for f in result.findings}
    wanted = [n for n in names if isinstance(n, str) and n]
    if not wanted:
        return result
    mutes = {n: m for n, m in signatures.marks.mutes(wanted).items() if m.active(now)}
    if not mutes:
        return result
    findings = []
    for f in result.findings:
        mute = mutes.get(str(f.metadata.get("signature")))
        if mute is not None:
            extra = {"mute_reason": mute.reason, "muted_until": utc_text(mute.until)}
            f = f.model_copy(update={"metadata": {**f.metadata, **extra}})
        findings.append(f)
    return result.model_copy(update={"findings": findings})


# The async forms the MCP tools await: the same work in a worker thread.
mark_noise = in_thread(mark_noise_sync)
annotate_mutes = in_thread(annotate_mutes_sync)


async def recall_annotated(
    memory: MemoryStore, signatures: SignatureStore, now: datetime, **query: Any
) -> RecallResult:
    """`service.recall_findings(memory, **query)`, each finding of a muted signature carrying its mute."""
    from . import service

    return await annotate_mutes(await service.recall_findings(memory, **query), signatures, now)


async def update_or_mute(
    memory: MemoryStore,
    signatures: SignatureStore,
    finding_id: str,
    metadata: dict[str, Any],
    confidence: float | None,
    actor: str,
    mute_days: int,
    now: datetime,
) -> Finding:
    """`service.update_finding`; metadata `{"status": "noise", "reason": ...}` instead marks the finding as
    noise and mutes its signature for `mute_days` (the other keys sent are updated as usual)."""
    from . import service

    if metadata.get("status") != NOISE:
        return await service.update_finding(memory, finding_id, metadata, confidence=confidence, actor=actor)
    rest = {k: v for k, v in metadata.items() if k not in ("status", "reason")}
    if rest or confidence is not None:
        await service.update_finding(memory, finding_id, rest or None, confidence=confidence, actor=actor)
    reason = metadata.get("reason")
    why = reason if isinstance(reason, str) else None
    return await mark_noise(memory, signatures, finding_id, why, mute_days, now, actor)
