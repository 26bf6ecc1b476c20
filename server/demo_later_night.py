"""The demo's later night: the fixes are merged, three weeks pass, and the nightly job judges them.

A reviewer merges both pull requests on Feb 16 at 10:00 (the local provider records it); the telemetry
then gains three weeks of traffic in which the fixed failures no longer occur; `self-improver nightly`
runs at 00:17 on Mar 9 without any LLM and reports each fix's verdict with its numbers. Honest
statistics mean a fix with few occurrences before the merge can still be `inconclusive`.
"""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from ..examples.demo_telemetry import extend_demo_db
from .config import Settings, load_settings
from .context import AppResources
from .nightly import NightlyResult, run_nightly

MERGE_DELAY = timedelta(hours=9, minutes=43)  # 00:17 + 9:43 = 10:00, the reviewer's morning
LATER = timedelta(days=21)


async def _merge(settings: Settings, repo: str, numbers: list[int]) -> None:
    resources = AppResources.from_settings(settings)
    try:
        for number in numbers:
            await resources.pulls.set_local_checks(repo, number, "passing")
            await resources.pulls.set_local_state(repo, number, "merged")
    finally:
        await resources.close()


def _section(report: str, heading: str) -> str:
    start = report.find(heading)
    if start < 0:
        return ""
    end = report.find("\n## ", start + len(heading))
    return report[start : end if end >= 0 else len(report)].strip()


def run_later_night(
    config: Path, telemetry_db: Path, data_dir: Path, night: datetime, opened: list[dict[str, Any]], repo: str
) -> NightlyResult:
    merged_at = night + MERGE_DELAY
    merge_settings = load_settings(config, telemetry_db=telemetry_db, data_dir=data_dir, now=merged_at)
    asyncio.run(_merge(merge_settings, repo, [pr["number"] for pr in opened]))
    print(
        f"\nA reviewer merges PRs {', '.join('#' + str(pr['number']) for pr in opened)} "
        f"on {merged_at:%b %d at %H:%M} UTC."
    )
    later = night + LATER
    added = extend_demo_db(telemetry_db, later)
    print(f"Three weeks pass: {added} more tasks, and the fixed failures stop.")
    settings = load_settings(config, telemetry_db=telemetry_db, data_dir=data_dir, now=later)
    result = run_nightly(settings, now=later, config_file=config)
    print(
        f"\n`self-improver nightly` at {later:%Y-%m-%d %H:%M} UTC: {result.outcome}. It wrote a markdown report "
        f"with {len(result.chart_paths)} SVG chart(s), {result.report_path}; its verdicts:\n"
    )
    if result.report_path and result.report_path.is_file():
        report = result.report_path.read_text(encoding="utf-8")
        print(_section(report, "## Merged fixes and verdicts"))
    return result
