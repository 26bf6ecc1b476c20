"""The error tools' answers: top error groups of a window, and one signature in detail.

Both first bring the signature store up to date (incremental, usually a no-op), then read counts
from it and evidence (messages, tracebacks) from the telemetry database.
"""

from __future__ import annotations

import asyncio
import json
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..support.problems import NotFoundError, ToolInputError
from ..telemetry.day_counts import window_status_counts
from ..telemetry.health import answer_warnings
from ..telemetry.source import TelemetryStore
from ..telemetry.windows import Window, trailing_window, utc_text
from .analyze import analyze_error
from .lifecycle import STATES
from .redact import redact_secrets
from .refresh import Progress, refresh_signatures
from .results import DayCount, ErrorCluster, ErrorGroup, FrameContext, RelatedSignature, TopErrors, Variant
from .signature_store import SignatureStore
from .source_context import MAX_FILE_BYTES, locate, read_context
from .states import SignatureDays, SignatureState, current_states, per_signature, states_window, within

if TYPE_CHECKING:
    from ..deploys.store import DeployStore

MAX_TEXT = 500
MAX_TRACEBACK = 6000


@dataclass(frozen=True)
class ErrorContext:
    """What the error reports need: the two stores and how to present text."""

    telemetry: TelemetryStore
    signatures: SignatureStore
    source_root: Path | None = None
    repo_root: Path | None = None
    redact_emails: bool = True
    deploys: DeployStore | None = None  # when releases went live (data_dir/deploys.db)
    fix_repos: dict[str, Path] = field(default_factory=dict)  # configured repo name -> checkout, for git

    def redact(self, text: str | None, limit: int = MAX_TEXT) -> str:
        return redact_secrets(text or "", redact_emails=self.redact_emails)[:limit]


@dataclass(frozen=True)
class WindowTotals:
    total: int
    failed: int
    unavailable: list[str]
    warnings: list[str]


async def window_totals(ctx: ErrorContext, window: Window, agent: str | None) -> WindowTotals:
    """Tasks and failed tasks of a window, what the table lacks, and what may make the answer wrong."""
    telemetry = ctx.telemetry
    schema = await telemetry.source.schema()
    if agent is not None and not schema.has("agent"):
        raise ToolInputError(
            "this telemetry table has no `agent` column: call again without agent, or map yours with "
            '[telemetry.columns] agent = "<your column>"'
        )
    counts = await window_status_counts(telemetry, window, agent)
    failed = sum(n for s, n in counts.items() if telemetry.mapping.is_failed(s))
    warnings = await answer_warnings(telemetry, window, counts)
    return WindowTotals(
        sum(counts.values()), failed, schema.unavailable(["agent", "error_type", "traceback"]), warnings
    )


async def _messages(ctx: ErrorContext, task_ids: list[Any], with_traceback: bool = False) -> dict[Any, Any]:
    found = await ctx.telemetry.source.messages(task_ids, with_traceback)
    return {
        k: {"error": m.error, "traceback": m.traceback, "trace": _trace_id(m.metadata)}
        for k, m in found.items()
    }


def _trace_id(metadata: str | None) -> str | None:
    """The OpenTelemetry trace id a task's metadata carries (spans received over OTLP), if any."""
    if not metadata or "trace_id" not in metadata:
        return None
    try:
        found = json.loads(metadata).get("trace_id")
    except (ValueError, AttributeError):
        return None
    return (
        found
        if isinstance(found, str) and len(found) == 32 and all(c in "0123456789abcdef" for c in found)
        else None
    )


async def top_errors(
    ctx: ErrorContext,
    days: int = 7,
    until: str | None = None,
    limit: int = 10,
    agent: str | None = None,
    states: list[str] | None = None,
    samples: int = 3,
    progress: Progress | None = None,
) -> TopErrors:
    unknown = sorted(set(states or []) - set(STATES))
    if unknown:
        raise ToolInputError(f"unknown state(s) {', '.join(unknown)}: use any of {', '.join(STATES)}")
    window = trailing_window(days, until, ctx.telemetry.tz, ctx.telemetry.now())
    # The window's counts depend on nothing else here: the telemetry database counts them (in the source's
    # thread, no GIL held while it steps) while the refresh and the signature store's aggregation run.
    counting = asyncio.ensure_future(window_totals(ctx, window, agent))
    try:
        await refresh_signatures(ctx.telemetry, ctx.signatures, _root(ctx), progress, since=window.start)
        by_sig, current = await _signature_counts(ctx, window, agent)
    except BaseException:
        counting.cancel()
        counting.add_done_callback(lambda task: task.cancelled() or task.exception())
        raise
    totals = await counting
    total, failed = totals.total, totals.failed
    unknown_state = SignatureState("ongoing")

    def shown_state(name: str) -> str:
        return current.get(name, unknown_state).state

    # muted signatures are hidden unless asked for by state
    wanted = [s for s in by_sig if (shown_state(s) in states if states else shown_state(s) != "muted")]
    ranked = sorted(wanted, key=lambda s: (-by_sig[s].count, s))
    shown = ranked[:limit]
    meta, newest = await asyncio.to_thread(
        lambda: (
            ctx.signatures.signatures(shown),
            {s: ctx.signatures.newest_tasks(s, window, samples) for s in shown},  # one thread hop, not 11
        )
    )
    messages = await _messages(ctx, [newest[s][0] for s in shown if newest[s]])
    groups = []
    for sig in shown:
        found = by_sig[sig]
        example = messages.get(newest[sig][0]) if newest[sig] else None
        m = meta[sig]
        groups.append(
            ErrorGroup(
                signature=sig,
                title=ctx.redact(m["title"], 200),
                error_type=m["error_type"],
                template=ctx.redact(m["template"]),
                example=ctx.redact(example["error"] if example else ""),
                count=found.count,
                tasks_affected=found.count,
                rate_per_1000=round(1000 * found.count / total, 2) if total else 0.0,
                agents=sorted(found.agents),
                first_seen=m["first_seen"],
                last_seen=m["last_seen"],
                state=shown_state(sig),
                old_release_failures=current.get(sig, unknown_state).old_release_failures,
                note=current.get(sig, unknown_state).note,
                trend=[DayCount(day=d.isoformat(), count=found.daily.get(d, 0)) for d in window.days],
                sample_task_ids=newest[sig],
            )
        )
    return TopErrors(
        window_start=utc_text(window.start),
        window_end=utc_text(window.end),
        total_tasks=total,
        failed_tasks=failed,
        groups=groups,
        has_more=len(ranked) > limit,
        unavailable_fields=totals.unavailable,
        warnings=totals.warnings,
    )


async def _signature_counts(
    ctx: ErrorContext, window: Window, agent: str | None
) -> tuple[dict[str, SignatureDays], dict[str, SignatureState]]:
    """Each signature's counts in the window, and its current state."""
    for_states = states_window(ctx)
    if agent is None and window.end == for_states.end:  # the usual call: one aggregation serves both
        first = min(window.first_day, for_states.first_day)
        union = Window(min(window.start, for_states.start), window.end, first, window.last_day)
        both = await per_signature(ctx, union)
        by_sig = within(both, window)
        return by_sig, await current_states(ctx, set(by_sig), both)
    by_sig = await per_signature(ctx, window, agent=agent)
    return by_sig, await current_states(ctx, set(by_sig))


def _root(ctx: ErrorContext) -> str | None:
    return str(ctx.source_root) if ctx.source_root else None


async def error_cluster(
    ctx: ErrorContext,
    signature: str,
    samples: int = 3,
    days: int = 14,
    progress: Progress | None = None,
) -> ErrorCluster:
    window = trailing_window(days, None, ctx.telemetry.tz, ctx.telemetry.now())
    await refresh_signatures(ctx.telemetry, ctx.signatures, _root(ctx), progress, since=window.start)
    meta = (await asyncio.to_thread(ctx.signatures.signatures, [signature])).get(signature)
    if meta is None:
        raise NotFoundError(
            f"no error signature {signature!r} is known: take a `signature` from top_errors "
            "(12 hex characters), or widen its window to find older problems"
        )
    task_ids = await asyncio.to_thread(ctx.signatures.task_ids, signature, 200)
    evidence = await _messages(ctx, task_ids, with_traceback=True)
    variants = Counter(ctx.redact(evidence[t]["error"]) for t in task_ids if t in evidence)
    representative = next((evidence[t] for t in task_ids if t in evidence and evidence[t]["traceback"]), None)
    newest = evidence.get(task_ids[0]) if task_ids else None
    parsed = analyze_error(
        (representative or newest or {"error": ""})["error"] or "",
        representative["traceback"] if representative else None,
        meta["error_type"],
        _root(ctx),
    )
    recent = (await per_signature(ctx, window, signature)).get(signature)
    per_day = recent.daily if recent else Counter()
    ever = (await per_signature(ctx, _all_time(ctx), signature)).get(signature)
    state = (await current_states(ctx, {signature}))[signature]
    totals = await window_totals(ctx, window, None)
    return ErrorCluster(
        signature=signature,
        title=ctx.redact(meta["title"], 200),
        error_type=meta["error_type"],
        template=ctx.redact(meta["template"]),
        state=state.state,
        note=state.note,
        first_seen=meta["first_seen"],
        last_seen=meta["last_seen"],
        occurrences=int(meta["occurrences"]),
        agents=sorted(ever.agents) if ever else [],
        per_day=[DayCount(day=d.isoformat(), count=per_day.get(d, 0)) for d in window.days],
        chain=list(parsed.chain),
        traceback=ctx.redact(representative["traceback"], MAX_TRACEBACK) if representative else None,
        in_app_frames=[_frame_context(f, ctx) for f in parsed.in_app_frames][-10:],
        variants=[Variant(message=m, count=n) for m, n in variants.most_common(samples + 2)],
        sample_task_ids=task_ids[:samples],
        sample_traces=[t for t in (evidence[i]["trace"] for i in task_ids[:samples] if i in evidence) if t],
        related=await _related(ctx, signature, meta),
        unavailable_fields=totals.unavailable,
        warnings=totals.warnings,
    )


def _all_time(ctx: ErrorContext) -> Window:
    """Every occurrence ever stored, counted as one bucket (first_day = last_day)."""
    now = ctx.telemetry.now()
    return Window(datetime(1970, 1, 2, tzinfo=now.tzinfo), now + timedelta(days=1), now.date(), now.date())


def _frame_context(frame: Any, ctx: ErrorContext) -> FrameContext:
    """A frame with the lines around it from the repo; telemetry text and source lines are redacted, and
    denied or secret files (`.env`, `.git/`, keys) are never read (see source_context). When no lines
    can be shown, `source_note` says why, so the host knows whether to configure, fetch or look elsewhere."""
    root = ctx.repo_root.resolve() if ctx.repo_root else None
    found = locate(frame.file, root) if root else None
    source = read_context(found, frame.line, redact_emails=ctx.redact_emails) if found else []
    note = None
    if root is None:
        note = "no repo_root is configured: set repo_root to a local checkout of this code to see its lines"
    elif found is None:
        note = (
            "the file is not under repo_root (no ending of its path exists there; secret and denied files are "
            "never read): check that repo_root is a checkout of the code that failed, or use read_source"
        )
    elif not source and frame.line is None:
        note = "the traceback gives no line number for this frame"
    elif not source:
        try:
            size = found.stat().st_size
            lines = None if size > MAX_FILE_BYTES else len(found.read_bytes().splitlines())
        except OSError as exc:
            note = f"the file could not be read ({exc.strerror or type(exc).__name__})"
        else:
            if lines is None:
                note = f"the file is larger than {MAX_FILE_BYTES // 1_000_000} MB and is not read"
            elif not 1 <= frame.line <= lines:
                note = (
                    f"line {frame.line} is out of range: the file in repo_root has {lines} lines, so it is "
                    "another version than the one that failed (check out the deployed release)"
                )
            else:
                note = "the file is not shown: it is binary or holds a private key"
    return FrameContext(
        file=ctx.redact(frame.file),
        line=frame.line,
        function=ctx.redact(frame.function, 200),
        code=ctx.redact(frame.code) if frame.code is not None else None,
        repo_path=str(found.relative_to(root)) if found and root else None,
        source=source,
        source_note=note if not source else None,
    )


def _words(template: str) -> set[str]:
    return {w for w in template.lower().replace("<", " ").replace(">", " ").split() if len(w) > 2}


async def _related(ctx: ErrorContext, signature: str, meta: Any, limit: int = 5) -> list[RelatedSignature]:
    """Signatures that share the exception type or most of the message's words."""
    mine = _words(meta["template"])
    related = []
    for other in await asyncio.to_thread(ctx.signatures.all_signatures):
        if other["signature"] == signature:
            continue
        theirs = _words(other["template"])
        overlap = len(mine & theirs) / max(1, len(mine | theirs))
        if overlap >= 0.5:
            reason = f"similar message ({overlap:.0%} of words shared)"
        elif meta["error_type"] and other["error_type"] == meta["error_type"]:
            reason = f"same exception type {meta['error_type']}"
        else:
            continue
        related.append(
            (
                overlap,
                RelatedSignature(
                    signature=other["signature"],
                    title=ctx.redact(other["title"], 200),
                    reason=reason,
                    occurrences=int(other["occurrences"]),
                ),
            )
        )
    related.sort(key=lambda pair: (-pair[0], -pair[1].occurrences))
    return [r for _, r in related[:limit]]
