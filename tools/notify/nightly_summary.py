"""The nightly run in a few lines for a chat channel: outcome, new and escalating signatures, pull
requests opened, verdicts on merged fixes, and warnings. Titles were redacted by the tools that
returned them; the webhook redacts the whole message again."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from ..nightly.models import NightData
from ..telemetry.windows import parse_timestamp

MAX_ITEMS = 5


def nightly_payload(data: NightData, outcome: str, report_path: str | None = None) -> dict[str, Any]:
    """JSON for the webhook: `text` for people (Slack-compatible), the same facts as fields for machines."""
    watch = data.watch.groups if data.watch else []
    new = [g for g in watch if g.state == "new"]
    escalating = [g for g in watch if g.state == "escalating"]
    since = data.now - timedelta(days=1)
    opened = [p for p in data.pulls if parse_timestamp(p.created_at) >= since]
    verdicts = [v for v in data.verdicts if v.result is not None]
    warnings = [w.line() for w in data.warnings]
    dry = " (dry run)" if data.dry_run else ""
    lines = [f"self-improver nightly {data.night.isoformat()}{dry}: {outcome}"]
    if data.yesterday is not None:
        y = data.yesterday
        lines.append(f"Yesterday: {y.total} tasks, {y.failed} failed ({y.failure_rate * 100:.1f}%).")
    for label, groups in (("New", new), ("Escalating", escalating)):
        if groups:
            shown = "; ".join(f"{g.signature} {g.title[:80]} ({g.count}x)" for g in groups[:MAX_ITEMS])
            more = f" and {len(groups) - MAX_ITEMS} more" if len(groups) > MAX_ITEMS else ""
            lines.append(f"{label}: {shown}{more}.")
    if opened:
        lines.append(f"Pull requests opened: {', '.join(p.url for p in opened[:MAX_ITEMS])}.")
    for v in verdicts[:MAX_ITEMS]:
        assert v.result is not None
        lines.append(f"PR #{v.pull.number}: {v.result.verdict}.")
    if warnings:
        lines.append(f"{len(warnings)} telemetry warning(s): the numbers may be wrong.")
    failed = [s.name for s in data.steps if s.status == "failed"]
    if failed:
        lines.append(f"Failed steps: {', '.join(failed)}.")
    if report_path:
        lines.append(f"Report: {report_path}")
    return {
        "text": "\n".join(lines),
        "night": data.night.isoformat(),
        "outcome": outcome,
        "dry_run": data.dry_run,
        "new": [g.signature for g in new],
        "escalating": [g.signature for g in escalating],
        "prs_opened": [p.url for p in opened],
        "verdicts": [
            {"pr": v.pull.number, "signature": v.result.signature, "verdict": v.result.verdict}
            for v in verdicts
            if v.result is not None
        ],
        "warnings": warnings[:MAX_ITEMS],
    }
