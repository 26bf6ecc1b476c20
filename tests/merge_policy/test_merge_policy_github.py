"""merge_pull_request against the fake GitHub API: one squash-merge call when allowed, none when refused."""

from __future__ import annotations

from mcp import Client
from mcp_calls import call
from merge_policy.merge_setup import Verdict
from pull_requests.git_setup import git, snapshot
from self_improver.server.app import build_server
from self_improver.server.context import AppResources

MERGE = r"/repos/acme/worker/pulls/\d+/merge"


async def _open(client: Client, checkout, name: str) -> dict:
    fix = checkout.fixes[name]
    opened = await call(
        client,
        "open_pull_request",
        repo="worker",
        branch=fix.branch,
        title=f"Fix {name}",
        body="IMAP logins time out under load; this raises the limit and tests it.",
        signature=fix.signature,
        draft=False,
    )
    return opened["pull_request"]


async def test_allowed_pull_request_is_squash_merged_once(
    github_settings, fake_github, checkout, github_remote
):
    head = checkout.fixes["good"].head
    fake_github.add_status("acme/worker", head, "success", "ci/tests")
    fake_github.add_check_run("acme/worker", head, "lint", "completed", "success")
    before_main = git(github_remote, "rev-parse", "refs/heads/main")
    async with Client(build_server(github_settings())) as client:
        pr = await _open(client, checkout, "good")
        before = snapshot(checkout.path)
        merged = await call(client, "merge_pull_request", number=pr["number"], repo="worker")
    assert snapshot(checkout.path) == before

    assert merged["merged"] is True and merged["provider"] == "github", merged["evaluation"]
    assert fake_github.count("PUT", MERGE) == 1
    [sent] = [q for m, p, q in fake_github.requests if m == "PUT"]
    main = git(github_remote, "rev-parse", "refs/heads/main")
    assert merged["before_sha"] == before_main and merged["merge_commit"] == main != before_main
    assert git(github_remote, "rev-parse", f"{main}^") == before_main  # a squash: one parent
    assert "TIMEOUT = 60" in git(github_remote, "show", "main:worker/imap.py")
    assert "test_timeout" in git(github_remote, "show", "main:tests/test_imap.py")
    stored = fake_github.pulls("acme/worker")[0]["pr"]
    assert stored["merge_method"] == "squash" and stored["merged_at"] is not None
    assert merged["pull_request"]["status"] == "merged" and merged["audit"]["outcome"] == "merged"
    assert (merged["audit"]["provider"], merged["audit"]["after_sha"]) == ("github", main)

    # a worse verdict: the squash commit is reverted on a new branch and a labelled pull request opened
    resources = AppResources.from_settings(github_settings())
    try:
        opened = await resources.pulls.open_revert_pull_request(
            "worker", pr["number"], Verdict(pr_number=pr["number"])
        )
    finally:
        await resources.close()
    revert = git(github_remote, "rev-parse", f"refs/heads/self-improver/revert-{pr['number']}")
    assert git(github_remote, "rev-parse", f"{revert}^") == main
    assert git(github_remote, "rev-parse", f"{revert}^{{tree}}") == git(
        github_remote, "rev-parse", f"{before_main}^{{tree}}"
    )
    [_, created] = fake_github.pulls("acme/worker")
    assert (
        created["labels"] == ["self-improver", "revert"] and created["pr"]["head"] == opened.pull_request.head
    )
    assert "### Verdict: worse" in created["body"] and opened.provider == "github"
    assert fake_github.count("PUT", MERGE) == 1


async def test_refusal_never_calls_the_merge_endpoint(github_settings, fake_github, checkout, github_remote):
    before_main = git(github_remote, "rev-parse", "refs/heads/main")
    fake_github.add_status("acme/worker", checkout.fixes["pyproject"].head, "success", "ci/tests")
    async with Client(build_server(github_settings())) as client:
        unchecked = await _open(client, checkout, "good")  # no status, no check run: checks 'none'
        dependency = await _open(client, checkout, "pyproject")
        first = await call(client, "merge_pull_request", number=unchecked["number"], repo="worker")
        second = await call(client, "merge_pull_request", number=dependency["number"], repo="worker")
    assert first["merged"] is False and first["evaluation"]["failed"] == ["checks_passing"]
    assert second["merged"] is False
    assert second["evaluation"]["failed"] == ["allowed_paths", "no_dependency_or_ci_changes"]
    assert fake_github.count("PUT", MERGE) == 0
    assert git(github_remote, "rev-parse", "refs/heads/main") == before_main
    assert [second["audit"]["outcome"], second["audit"]["provider"]] == ["refused", "github"]
