"""A fix merged through the local provider: its verdict is reported, and its signature is marked resolved
only when the verdict is fixed or improved (an inconclusive one leaves it open)."""

from __future__ import annotations

from pathlib import Path

from nightly.night_helpers import add_fix_branch
from self_improver.server.context import AppResources
from self_improver.server.nightly import run_nightly_async
from self_improver.tools.errors.reports import top_errors
from self_improver.tools.nightly.runs import RunRecords

MERGED_AT = "2026-02-12T12:00:00Z"


def _comments(settings, number: int) -> list[str]:  # type: ignore[no-untyped-def]
    """The comments the local provider holds on the pull request, as a reviewer would read them."""
    app = AppResources.from_settings(settings)
    try:
        repo = app.pulls.repo_config("worker")
        return app.pulls.provider_for(repo).comments(repo, number)  # type: ignore[no-any-return]
    finally:
        app.pulls.close()


async def test_a_merged_fix_resolves_its_signature_and_gets_a_verdict(
    night_settings, worker_repo: Path
) -> None:
    repos = [{"name": "worker", "path": str(worker_repo)}]
    tonight = night_settings(repos=repos, pr_provider="local")
    app = AppResources.from_settings(tonight)
    try:
        signature = (await top_errors(app.errors, days=7, limit=1)).groups[0].signature  # the gateway timeout
    finally:
        await app.close()
    branch = add_fix_branch(worker_repo, signature)
    app = AppResources.from_settings(night_settings(repos=repos, pr_provider="local", now=MERGED_AT))
    try:
        opened = await app.pulls.open_pull_request(
            "worker", branch, "Raise the gateway timeout", "Gateway calls time out under load.", signature
        )
        number = opened.pull_request.number
        await app.pulls.set_local_state("worker", number, "merged")
    finally:
        await app.close()

    result = await run_nightly_async(tonight)

    assert result.outcome == "ok", result.steps
    assert result.counts["merged_prs"] == 1 and result.counts["verdicts"] == 1
    app = AppResources.from_settings(tonight)
    try:
        meta = app.errors.signatures.signatures([signature])[signature]
        fix = app.errors.signatures.marks.fixes([signature])[signature]
    finally:
        await app.close()
    assert fix.fixed_by == f"PR #{number}" and fix.repo == "worker"
    report = result.report_path.read_text()
    row = next(line for line in report.splitlines() if line.startswith(f"| #{number} | `{signature}`"))
    cells = [c.strip() for c in row.split("|")[1:-1]]
    verdict = cells[6].strip("*").split("*")[0]
    assert verdict in {"fixed", "improved", "no_change", "worse", "inconclusive"}
    assert "95% CI" in cells[5] and "/" in cells[3] and "/" in cells[4]
    assert f"- PR #{number} (worker): " in report
    if verdict in ("fixed", "improved"):
        assert result.counts["resolved"] == 1 and f"Marked resolved tonight: `{signature}`" in report
        assert meta["resolved_at"] == "2026-02-12 12:00:00" and meta["resolved_by"].startswith(
            f"PR #{number}"
        )
    else:  # the merge alone resolves nothing
        assert result.counts["resolved"] == 0 and "Marked resolved tonight" not in report
        assert meta["resolved_at"] is None or verdict == "worse"
    assert "Open: 0" in report  # merged, so no longer open
    assert "PR #1" in (result.report_path.parent / "nightly-2026-02-16-failure-rate.svg").read_text()

    assert f"Comment on the PR: posted verdict {verdict!r} on #{number}." in report
    assert len(_comments(tonight, number)) == 1

    again = await run_nightly_async(tonight)  # a second run the same night does not re-mark it
    assert again.counts["resolved"] == 0 and again.counts["verdicts"] == 1
    comments = _comments(tonight, number)  # nor comment the same verdict again
    assert len(comments) == 1 and f"self-improver:verdict={verdict}" in comments[0]
    assert "was already posted" in again.report_path.read_text()
    assert [r.outcome for r in RunRecords.in_dir(tonight.data_dir).recent()] == ["ok", "ok"]

    # The same verdict from the tool with the pull request's number alone: its merge time and signature
    # come from the records.
    from mcp import Client
    from mcp_calls import call
    from self_improver.server.app import build_server

    async with Client(build_server(tonight)) as client:
        by_number = await call(client, "measure_impact", pr_number=number)
    assert by_number["signature"] == signature and by_number["merged_at"] == "2026-02-12 12:00:00"
    assert by_number["verdict"] == verdict
