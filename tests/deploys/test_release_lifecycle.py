"""Release-aware lifecycle and impact (issue #15), on a real SQLite telemetry file and a real git repo.

A fix merged ten days ago went live with v2 five days ago. Failures after the merge on v1 (deployed
before the merge) and on v1.1 (deployed after the merge from a branch without the fix: only git ancestry
can tell) are "still on old release" and reopen nothing; one failure on v2 regresses the signature.
measure_impact starts its after window at v2's deploy, not at the merge.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from deploys.releases_world import ERROR, MERGED, NOW, TIME, failures, make_repo, steady, write_tasks
from mcp import Client
from mcp_calls import call
from self_improver.server.app import build_server
from self_improver.server.cli import main
from self_improver.server.context import AppResources
from self_improver.server.nightly import run_nightly_async
from self_improver.tools.errors.reports import error_cluster, top_errors
from self_improver.tools.insights.impact import measure_impact
from self_improver.tools.telemetry.windows import utc_text

V1_AT, V2_AT, V11_AT = NOW - timedelta(days=20), NOW - timedelta(days=5), NOW - timedelta(days=2)


@pytest.fixture
def world(tmp_path: Path, make_settings):  # type: ignore[no-untyped-def]
    repo = make_repo(tmp_path)
    db = tmp_path / "telemetry.db"
    tasks = steady(V1_AT, V2_AT, "v1") + steady(V2_AT, NOW - timedelta(hours=2), "v2")
    tasks += steady(V11_AT, V11_AT + timedelta(days=1), "v1.1", per_day=20)
    tasks += failures(NOW - timedelta(days=12), MERGED, 30, "v1")  # before the merge
    tasks += failures(MERGED, V2_AT, 5, "v1")  # after the merge, the old release still runs
    tasks += failures(V11_AT, V11_AT + timedelta(days=1), 2, "v1.1")  # a later release without the fix
    write_tasks(db, tasks)
    settings = make_settings(
        telemetry_db=db,
        now=NOW,
        repos=[{"name": "worker", "path": str(repo.path)}],
        pr_provider="local",
        embedding="offline",
    )
    data_dir = str(settings.data_dir)
    for release, commit, at in (
        ("v1", repo.c1, V1_AT),
        ("v2", repo.c2, V2_AT),
        ("v1.1", repo.hotfix, V11_AT),
    ):
        args = ["deploy", "record", "--data-dir", data_dir, "--release", release, "--commit", commit]
        assert main([*args, "--at", at.isoformat()]) == 0
    return settings, repo, db


async def test_old_release_failures_do_not_regress_and_new_release_ones_do(world, capsys) -> None:
    settings, repo, db = world
    capsys.readouterr()
    app = AppResources.from_settings(settings)
    try:
        signature = (await top_errors(app.errors, days=14)).groups[0].signature
        result = await measure_impact(
            app.errors,
            signature=signature,
            pr_number=7,
            merged_at=MERGED,
            before_days=7,
            after_days=7,
            merge_commit=repo.fix,
            repo="worker",
        )
        # the after window starts at the first deploy that contains the fix: v2, not v1.1 (later but
        # without the fix) and not the merge
        assert result.deployed_in == "v2" and result.switch_at == utc_text(V2_AT)
        assert result.after.start == utc_text(V2_AT) and result.before.end == utc_text(V2_AT)
        assert result.verdict in ("fixed", "improved"), result.reason
        assert result.marked_resolved and result.signature_state == "resolved"

        top = await top_errors(app.errors, days=7)
        group = next(g for g in top.groups if g.signature == signature)
        assert group.state == "resolved"
        assert group.old_release_failures == 7  # 5 on v1 and 2 on v1.1, all after the merge
        assert "still on old release" in (group.note or "")
        cluster = await error_cluster(app.errors, signature)
        assert cluster.state == "resolved" and "still on old release" in (cluster.note or "")
    finally:
        await app.close()

    night = await run_nightly_async(settings)  # the report shows them as still on an old release
    report = night.report_path.read_text()
    assert f"`{signature}`: 7 failure(s) since its fix are still on an old release" in report

    write_tasks(db, [(NOW - timedelta(hours=1), ERROR, "v2")])  # the release with the fix fails
    app = AppResources.from_settings(settings)
    try:
        group = next(g for g in (await top_errors(app.errors, days=7)).groups if g.signature == signature)
        assert group.state == "regressed" and group.old_release_failures == 7
    finally:
        await app.close()


async def test_without_commits_a_release_first_seen_after_the_fix_deploy_contains_it(
    tmp_path: Path, make_settings
) -> None:
    """No deploy recorded, no commits: the first sighting of each release is its deploy, and a release
    first seen after the merge contains the fix."""
    db = tmp_path / "telemetry.db"
    tasks = steady(V1_AT, V2_AT, "v1") + steady(V2_AT, NOW - timedelta(hours=2), "v2")
    tasks += failures(NOW - timedelta(days=12), MERGED, 30, "v1") + failures(MERGED, V2_AT, 4, "v1")
    write_tasks(db, tasks)
    settings = make_settings(telemetry_db=db, now=NOW, embedding="offline")
    async with Client(build_server(settings)) as client:
        signature = (await call(client, "top_errors", days=14))["groups"][0]["signature"]
        result = await call(
            client, "measure_impact", signature=signature, merged_at=MERGED.isoformat(), before_days=7
        )
        assert result["deployed_in"] == "v2"
        # v2's first task is at V2_AT: the after window starts there
        assert result["after"]["start"] == utc_text(V2_AT) and result["verdict"] in ("fixed", "improved")
        top = await call(client, "top_errors", days=7)
        group = next(g for g in top["groups"] if g["signature"] == signature)
        assert group["state"] == "resolved" and group["old_release_failures"] == 4
        deploys = await client.read_resource("deploys://recent")
    text = deploys.contents[0].text  # type: ignore[union-attr]
    assert '"release":"v2"' in text and '"source":"first_seen"' in text

    write_tasks(db, [(NOW - timedelta(hours=1), ERROR, "v2")])
    async with Client(build_server(settings)) as client:
        top = await call(client, "top_errors", days=7)
    assert next(g for g in top["groups"] if g["signature"] == signature)["state"] == "regressed"


async def test_without_release_data_the_after_window_starts_at_the_merge_and_says_so(
    tmp_path: Path, make_settings
) -> None:
    db = tmp_path / "telemetry.db"
    tasks = steady(NOW - timedelta(days=14), NOW, None)
    tasks += failures(NOW - timedelta(days=14), MERGED, 30, None) + failures(
        NOW - timedelta(days=3), NOW, 1, None
    )
    write_tasks(db, tasks)
    settings = make_settings(telemetry_db=db, now=NOW, embedding="offline")
    async with Client(build_server(settings)) as client:
        signature = (await call(client, "top_errors", days=14))["groups"][0]["signature"]
        result = await call(
            client, "measure_impact", signature=signature, merged_at=MERGED.strftime(TIME), before_days=4
        )
        assert (
            result["switch_at"] == result["merged_at"] == utc_text(MERGED) and result["deployed_in"] is None
        )
        assert "No release data" in result["reason"] and "starts at the merge" in result["reason"]
        assert result["verdict"] == "fixed" and result["marked_resolved"]
        top = await call(client, "top_errors", days=7)
    group = next(g for g in top["groups"] if g["signature"] == signature)
    # without releases every failure after the merge counts, as before: resolved, then it failed again
    assert group["state"] == "regressed" and group["old_release_failures"] is None


def test_deploy_cli_records_and_lists(tmp_path: Path, capsys) -> None:
    data_dir = str(tmp_path / "data")
    assert (
        main(["deploy", "record", "--data-dir", data_dir, "--release", "v9", "--at", "2026-02-01T10:00:00Z"])
        == 0
    )
    assert main(["deploy", "record", "--data-dir", data_dir, "--release", "v9", "--commit", "abc123"]) == 0
    assert main(["deploy", "record", "--data-dir", data_dir, "--release", "v8", "--commit=-bad"]) == 2
    capsys.readouterr()
    db = tmp_path / "none.db"
    write_tasks(db, [])
    assert main(["deploy", "list", "--data-dir", data_dir, "--telemetry-db", str(db), "--json"]) == 0
    listed = capsys.readouterr().out
    assert '"release": "v9"' in listed and '"commit": "abc123"' in listed and '"source": "recorded"' in listed
    assert '"total": 1' in listed
