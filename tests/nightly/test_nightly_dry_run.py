"""`nightly --dry-run`: the same steps, nothing written outside the data dir, and the report says what
would have been done (the agent, a revert of a fix judged worse, the notification)."""

from __future__ import annotations

from pathlib import Path

from nightly.night_helpers import NIGHT, git, merge_a_worse_fix
from nightly.webhook_server import webhook
from self_improver.examples.demo_telemetry import DEMO_ANCHOR, build_demo_db
from self_improver.server.cli import main
from self_improver.server.context import AppResources
from self_improver.server.nightly import run_nightly_async
from self_improver.tools.nightly.runs import RunRecords


def _repo_state(repo: Path) -> tuple[str, str, str, list[str]]:
    return (
        git(repo, "rev-parse", "HEAD"),
        git(repo, "for-each-ref", "--format=%(refname) %(objectname)"),
        git(repo, "status", "--porcelain", "--untracked-files=all"),
        sorted(str(p.relative_to(repo)) for p in repo.rglob("*") if ".git" not in p.parts),
    )


async def test_a_dry_run_changes_nothing_in_the_users_repo_and_says_what_it_would_do(
    make_settings, worker_repo: Path, tmp_path: Path
) -> None:
    db = build_demo_db(tmp_path / "night.db").path
    fix = await merge_a_worse_fix(make_settings, worker_repo, db, embedding="offline")
    base, number = fix.base, fix.number

    marker = worker_repo / "AGENT_WAS_HERE"
    before = _repo_state(worker_repo)
    with webhook() as hook:
        tonight = make_settings(now=DEMO_ANCHOR, notify_url=hook.url, **base)
        result = await run_nightly_async(tonight, agent_cmd=f"touch {marker}", dry_run=True)
    assert _repo_state(worker_repo) == before and not marker.exists()
    assert hook.received == []  # no notification left

    report = result.report_path.read_text()
    assert report.startswith(f"# Nightly report {NIGHT} (DRY RUN)")
    assert "## Dry run" in report and "nothing was written outside the data dir" in report
    assert f"would open a pull request reverting PR #{number} (worker)" in report
    assert f"start the host agent (touch {marker})" in report
    assert "POST a summary of this run to notify_url" in report
    row = next(line for line in report.splitlines() if line.startswith(f"| #{number} |"))
    assert "**worse**" in row
    app = AppResources.from_settings(tonight)
    try:
        listed = await app.pulls.list_pull_requests("worker", state="all")
    finally:
        await app.close()
    assert [p.number for p in listed.pull_requests] == [number]  # no revert pull request
    record = RunRecords.in_dir(tonight.data_dir).get(result.run_id)
    assert record is not None and record.dry_run and record.notify == "dry run: no notification sent"
    assert next(s for s in record.steps if s["name"] == "agent")["status"] == "skipped"
    assert "dry run" in result.message


def test_the_cli_flag(night_settings, capsys) -> None:
    settings = night_settings()
    code = main(
        [
            "nightly",
            "--dry-run",
            "--data-dir",
            str(settings.data_dir),
            "--telemetry-db",
            str(settings.telemetry_db),
            "--now",
            DEMO_ANCHOR.isoformat(),
            "--agent-cmd",
            "false",
        ]
    )
    out, err = capsys.readouterr()
    assert code == 0, err
    report = Path(out.strip()).read_text()
    assert "(DRY RUN)" in report and "start the host agent (false)" in report
