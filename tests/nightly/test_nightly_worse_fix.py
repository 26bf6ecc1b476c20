"""A fix we merged under the auto-merge policy that made things worse: the next night opens its revert."""

from __future__ import annotations

from nightly.night_helpers import merge_a_worse_fix
from self_improver.examples.demo_telemetry import DEMO_ANCHOR, build_demo_db
from self_improver.server.context import AppResources
from self_improver.server.nightly import run_nightly_async


async def test_a_worse_fix_merged_by_us_gets_a_revert_pull_request(
    make_settings, worker_repo, tmp_path
) -> None:
    db = build_demo_db(tmp_path / "night.db").path
    fix = await merge_a_worse_fix(make_settings, worker_repo, db)
    number = fix.number
    tonight = make_settings(now=DEMO_ANCHOR, **fix.base)

    result = await run_nightly_async(tonight)
    report = result.report_path.read_text()
    row = next(line for line in report.splitlines() if line.startswith(f"| #{number} |"))
    assert "**worse**" in row
    assert "Revert opened: PR #2" in report
    app = AppResources.from_settings(tonight)
    try:
        listed = await app.pulls.list_pull_requests("worker")
    finally:
        await app.close()
    revert = next(p for p in listed.pull_requests if p.number == 2)
    assert revert.head == f"self-improver/revert-{number}"
