"""A fix we merged under the auto-merge policy that made things worse: the next night opens its revert."""

from __future__ import annotations

from datetime import timedelta

from nightly.night_helpers import MERGED_AT, commit, failures_after_merge, git
from self_improver.examples.demo_telemetry import DEMO_ANCHOR, build_demo_db
from self_improver.server.context import AppResources
from self_improver.server.nightly import run_nightly_async
from self_improver.tools.errors.reports import top_errors
from self_improver.tools.pulls.merge_policy import AutoMergePolicy


async def test_a_worse_fix_merged_by_us_gets_a_revert_pull_request(
    make_settings, worker_repo, tmp_path
) -> None:
    db = build_demo_db(tmp_path / "night.db").path
    policy = AutoMergePolicy(enabled=True, allowed_paths=["worker/*", "tests/*"])
    base = {
        "telemetry_db": db,
        "repos": [{"name": "worker", "path": str(worker_repo)}],
        "pr_provider": "local",
        "auto_merge": policy,
    }
    tonight = make_settings(now=DEMO_ANCHOR, **base)
    app = AppResources.from_settings(tonight)
    try:
        group = (await top_errors(app.errors, days=7, limit=3)).groups[
            2
        ]  # the AttributeError (2 occurrences)
        signature, example = group.signature, group.example
    finally:
        await app.close()
    failures_after_merge(db, example, 25)

    branch = f"self-improver/{signature}-x"
    git(worker_repo, "checkout", "-q", "-b", branch, "main")
    commit(worker_repo, "worker/agent.py", "CONTEXT = {}\n", "fix")
    commit(worker_repo, "tests/test_agent.py", "def test_context():\n    assert True\n", "test")
    git(worker_repo, "checkout", "-q", "main")
    app = AppResources.from_settings(make_settings(now=MERGED_AT - timedelta(hours=1), **base))
    try:
        opened = await app.pulls.open_pull_request(
            "worker", branch, "Fix it", "A fix.", signature, draft=False
        )
        number = opened.pull_request.number
        await app.pulls.set_local_checks("worker", number, "passing")
    finally:
        await app.close()
    app = AppResources.from_settings(make_settings(now=MERGED_AT, **base))
    try:
        merged = await app.pulls.merge_pull_request("worker", number, policy)
    finally:
        await app.close()
    assert merged.merged, merged

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
