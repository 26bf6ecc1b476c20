"""The nightly report's sections about fixes and people: verdicts on merged fixes, pull requests, what
reviewers told us (merged, closed, muted, and why), and what a dry run left undone."""

from __future__ import annotations

from datetime import timedelta

from ..insights.results import RateComparison
from ..telemetry.windows import parse_timestamp, utc_text
from .models import NightData, VerdictRow
from .report_text import code, table

REVIEW_DAYS = 1  # the reviewers section covers the last day, like "opened in the last 24 h"


def ratio_text(c: RateComparison) -> str:
    if c.rate_ratio is None:
        return f"undefined (95% CI {c.ci_low:g}–{'∞' if c.ci_high is None else f'{c.ci_high:g}'})"
    high = "∞" if c.ci_high is None else f"{c.ci_high:g}"
    return f"{c.rate_ratio:g} (95% CI {c.ci_low:g}–{high})"


def verdicts_section(data: NightData) -> list[str]:
    lines = ["## Merged fixes and verdicts", ""]
    if not data.verdicts:
        step = next((s for s in data.steps if s.name in ("merged", "impact") and s.status != "ok"), None)
        reason = step.detail if step else "no fix was merged in the last 30 days"
        return lines + [f"No verdicts tonight: {reason}.", ""]
    measured = [v for v in data.verdicts if v.result is not None]
    if measured:
        rows = [_verdict_row(v) for v in measured]
        lines += table(
            [
                "PR",
                "signature",
                "merged (UTC)",
                "before: events / tasks",
                "after: events / tasks",
                "rate ratio",
                "verdict",
            ],
            rows,
            "lllrrll",
        )
        lines.append("")
        for v in measured:
            assert v.result is not None
            comment = f"Comment on the PR: {v.comment_note}." if v.comment_note else None
            note = "".join(f" {n}" for n in (v.memory_note, v.revert_note, comment) if n)
            if v.result.verdict == "inconclusive" and "stays open" not in v.result.reason:
                note += " The signature stays open."
            lines.append(f"- PR #{v.pull.number} ({v.pull.repo}): {v.result.reason}{note}")
        lines.append("")
    for v in data.verdicts:
        if v.result is None:
            lines.append(f"- PR #{v.pull.number} ({v.pull.repo}) not measured: {v.problem}")
    if len(measured) < len(data.verdicts):
        lines.append("")
    if data.resolved:
        lines += [f"Marked resolved tonight: {', '.join(f'`{s}`' for s in data.resolved)}.", ""]
    return lines


def _verdict_row(v: VerdictRow) -> list[str]:
    r = v.result
    assert r is not None
    s = r.signature_impact
    regressed = " (signature marked regressed)" if r.marked_regressed else ""
    return [
        f"#{v.pull.number}",
        f"`{r.signature}`",
        r.merged_at,
        f"{s.events_before} / {s.tasks_before}",
        f"{s.events_after} / {s.tasks_after}",
        ratio_text(s),
        f"**{r.verdict}**{regressed}",
    ]


def pulls_section(data: NightData) -> list[str]:
    lines = ["## Pull requests", ""]
    step = next((s for s in data.steps if s.name == "pulls"), None)
    if step is not None and step.status != "ok":
        return lines + [f"Not listed: {step.detail}.", ""]
    since = (data.now - timedelta(days=1)).isoformat()
    opened = [p for p in data.pulls if parse_timestamp(p.created_at) >= parse_timestamp(since)]
    open_now = [p for p in data.pulls if p.status == "open"]
    for label, pulls in (("Opened in the last 24 h", opened), ("Open", open_now)):
        lines += [f"{label}: {len(pulls)}", ""]
        if pulls:
            rows = [
                [
                    f"#{p.number}",
                    p.repo,
                    code(p.title, 80),
                    f"`{p.signature or '-'}`",
                    p.checks,
                    p.created_at,
                    p.url,
                ]
                for p in pulls
            ]
            lines += table(["PR", "repo", "title", "signature", "checks", "created", "url"], rows) + [""]
    return lines


def reviewers_section(data: NightData) -> list[str]:
    """What reviewers told us in the last day: fixes merged, pull requests closed unmerged, signatures
    muted as noise (or unmuted because they escalated), each with the reason when one was given."""
    since = data.now - timedelta(days=REVIEW_DAYS)
    lines = ["## What reviewers told us", ""]
    merged = [p for p in data.merged if p.merged_at and parse_timestamp(p.merged_at) >= since]
    closed = [p for p in data.pulls if p.status == "closed" and parse_timestamp(p.updated_at) >= since]
    reasons = {m.signature: m.reason for m in data.mutes}
    items = [f"- Merged: PR #{p.number} ({p.repo}), signature `{p.signature or '-'}`." for p in merged]
    for p in closed:
        why = reasons.get(p.signature or "")
        because = f" Why: {code(why, 300)}." if why else " No reason was recorded."
        items.append(
            f"- Closed without merging: PR #{p.number} ({p.repo}), signature `{p.signature or '-'}`.{because}"
        )
    for m in data.mutes:
        if m.lifted_at is not None:
            items.append(
                f"- Unmuted: `{m.signature}` ({code(m.lifted_reason or 'lifted', 200)}); it had been muted as "
                f"{code(m.reason, 300)}."
            )
        else:
            items.append(
                f"- Muted until {utc_text(m.until)[:10]} by {code(m.muted_by, 80)}: `{m.signature}`. "
                f"Why: {code(m.reason, 300)}."
            )
    if not items:
        return lines + ["Nothing in the last 24 h: no merge, no pull request closed, no signature muted.", ""]
    return lines + items + [""]


def dry_run_section(data: NightData) -> list[str]:
    if not data.dry_run:
        return []
    lines = [
        "## Dry run",
        "",
        "This was a dry run: nothing was written outside the data dir (no patch applied, no pull request "
        "opened, merged or reverted, no comment posted, no notification sent). It would have:",
        "",
    ]
    return lines + [f"- {w}" for w in data.would or ["nothing outside the data dir tonight."]] + [""]
