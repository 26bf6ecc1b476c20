"""The current lifecycle state of signatures, with what explains it (see `lifecycle` for the rules).

Daily counts come from the signature store, aggregated per local day. A resolved signature's failures
after its fix are split by release: on a release that contains the fix they reopen it (`regressed`);
on an older release, still running, they are "still on old release" and reopen nothing. A mute is
read from the store's marks; a muted signature that escalates has its mute lifted here.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from dataclasses import dataclass
from datetime import date, datetime
from typing import TYPE_CHECKING

from ..deploys.releases import Fix, release_book
from ..telemetry.windows import Window, local_midnight, parse_timestamp, trailing_window, utc_text
from .lifecycle import state_of
from .signature_marks import Mute

if TYPE_CHECKING:
    from .reports import ErrorContext


@dataclass
class SignatureDays:
    """One signature's occurrences in a window, per local day, aggregated by the store."""

    daily: Counter[date]
    daily_agents: dict[date, set[str]]

    @property
    def count(self) -> int:
        return sum(self.daily.values())

    @property
    def agents(self) -> set[str]:
        return set().union(*self.daily_agents.values()) if self.daily_agents else set()

    def only(self, days: set[date]) -> SignatureDays:
        return SignatureDays(
            Counter({d: n for d, n in self.daily.items() if d in days}),
            {d: a for d, a in self.daily_agents.items() if d in days},
        )


@dataclass(frozen=True)
class SignatureState:
    state: str
    old_release_failures: int | None = None  # failures since the fix on releases without it
    note: str | None = None  # mute reason and until, or why the state is what it is


def within(found: dict[str, SignatureDays], window: Window) -> dict[str, SignatureDays]:
    """The signatures seen in `window` (whole local days of a wider aggregation)."""
    days = set(window.days)
    kept = {name: entry.only(days) for name, entry in found.items()}
    return {name: entry for name, entry in kept.items() if entry.count}


async def per_signature(
    ctx: ErrorContext, window: Window, signature: str | None = None, agent: str | None = None
) -> dict[str, SignatureDays]:
    days = window.days
    starts = [utc_text(local_midnight(d, ctx.telemetry.tz)) for d in days[1:]]
    rows = await asyncio.to_thread(ctx.signatures.daily_counts, window, starts, signature, agent)
    found: dict[str, SignatureDays] = {}
    for row in rows:
        entry = found.setdefault(row["signature"], SignatureDays(Counter(), {}))
        day = days[min(row["day"], len(days) - 1)]
        entry.daily[day] += int(row["n"])
        entry.daily_agents.setdefault(day, set()).update(a for a in (row["agents"] or "").split(",") if a)
    return found


def states_window(ctx: ErrorContext) -> Window:
    return trailing_window(8, None, ctx.telemetry.tz, ctx.telemetry.now())


async def current_states(
    ctx: ErrorContext, names: set[str], recent: dict[str, SignatureDays] | None = None
) -> dict[str, SignatureState]:
    """Current lifecycle state of each signature (needs the last 8 days of daily counts, all agents)."""
    now = ctx.telemetry.now()
    window = states_window(ctx)
    recent = within(recent, window) if recent is not None else await per_signature(ctx, window)
    meta = await asyncio.to_thread(ctx.signatures.signatures, names)
    marks = ctx.signatures.marks
    mutes = {n: m for n, m in (await asyncio.to_thread(marks.mutes, list(meta))).items() if m.active(now)}
    resolved = {n: parse_timestamp(m["resolved_at"]) for n, m in meta.items() if m["resolved_at"]}
    after_fix = await after_fix_failures(ctx, resolved)
    today = now.astimezone(ctx.telemetry.tz).date()
    found: dict[str, SignatureState] = {}
    for name, m in meta.items():
        recurred, old = after_fix.get(name, (None, 0))
        mute = mutes.get(name)
        state = state_of(
            dict(recent[name].daily) if name in recent else {},
            parse_timestamp(m["first_seen"]),
            parse_timestamp(m["last_seen"]),
            today,
            now,
            resolved.get(name),
            recurred,
            mute.until if mute else None,
        )
        note = None
        if mute is not None and state == "escalating":
            await asyncio.to_thread(marks.lift, name, f"escalated on {today.isoformat()}", now)
            note = f"unmuted: it escalates (was muted until {_day(mute.until)}: {mute.reason})"
        elif mute is not None and state == "muted":
            note = mute_note(mute)
        elif old:
            note = f"{old} failure(s) since the fix ran on older releases without it (still on old release)"
        found[name] = SignatureState(state, old or None, note)
    return found


def mute_note(mute: Mute) -> str:
    return f"muted until {_day(mute.until)} by {mute.muted_by}: {mute.reason}"


def _day(moment: datetime) -> str:
    return utc_text(moment)[:10]


async def after_fix_failures(ctx: ErrorContext, resolved: dict[str, datetime]) -> dict[str, tuple[bool, int]]:
    """For each resolved signature: (did it fail after the fix on a release with the fix, or on an
    unknown one; how many failures after the fix ran on releases without it)."""
    if not resolved:
        return {}
    store = ctx.signatures
    fixes = await asyncio.to_thread(store.marks.fixes, list(resolved))
    rows = {n: await asyncio.to_thread(store.releases_since, n, at) for n, at in resolved.items()}
    with_release = any(r["release"] for found in rows.values() for r in found)
    book = await release_book(ctx.telemetry, ctx.deploys) if with_release else None
    result: dict[str, tuple[bool, int]] = {}
    for name, at in resolved.items():
        record = fixes.get(name)
        repo = ctx.fix_repos.get(record.repo) if record and record.repo else None
        fix = Fix(at, record.commit if record else None, repo or ctx.repo_root)
        recurred, old = False, 0
        for row in rows[name]:
            contains = book.contains(fix, row["release"]) if book is not None and row["release"] else None
            if contains is False:
                old += int(row["n"])
            else:
                recurred = True
        result[name] = (recurred, old)
    return result
