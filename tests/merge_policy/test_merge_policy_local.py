"""merge_pull_request and the revert on the local provider: a real checkout, a bare remote, pulls.db."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from mcp import Client
from mcp_calls import call
from merge_policy.merge_setup import Checkout, Verdict, policy
from pull_requests.git_setup import git, snapshot
from self_improver.server.app import build_server
from self_improver.server.context import AppResources
from self_improver.tools.support.problems import ToolInputError


def _remote(settings) -> Path:
    return settings.data_dir / "remotes" / "worker.git"


async def _open(client: Client, checkout: Checkout, name: str) -> int:
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
    return opened["pull_request"]["number"]


async def _opened_with_checks(settings, checkout: Checkout, checks: dict[str, str]) -> dict[str, int]:
    """Open one pull request per fix name and record its checks as CI would."""
    async with Client(build_server(settings)) as client:
        numbers = {name: await _open(client, checkout, name) for name in checks}
    resources = AppResources.from_settings(settings)
    try:
        for name, state in checks.items():
            await resources.pulls.set_local_checks("worker", numbers[name], state)  # type: ignore[arg-type]
    finally:
        await resources.close()
    return numbers


async def test_disabled_policy_refuses_and_the_refusal_is_audited(local_settings, checkout) -> None:
    settings = local_settings(auto_merge=policy(enabled=False))
    numbers = await _opened_with_checks(settings, checkout, {"good": "passing"})
    async with Client(build_server(settings)) as client:
        result = await call(
            client, "merge_pull_request", number=numbers["good"], repo="worker", actor="nightly"
        )
    assert result["merged"] is False and result["evaluation"]["failed"] == ["policy_enabled"]
    [rule] = [r for r in result["evaluation"]["rules"] if not r["passed"]]
    assert "auto-merge is disabled" in rule["detail"]
    audit = result["audit"]
    assert (audit["action"], audit["outcome"], audit["actor"], audit["number"]) == (
        "merge",
        "refused",
        "nightly",
        1,
    )
    assert audit["failed_rules"][0].startswith("policy_enabled: ") and audit["after_sha"] is None
    assert result["pull_request"]["status"] == "open" and result["merge_commit"] is None
    assert git(_remote(settings), "for-each-ref", "refs/heads/main") == ""  # nothing reached main


async def test_dependency_change_missing_test_and_failing_checks_are_refused(
    local_settings, checkout
) -> None:
    settings = local_settings(auto_merge=policy(allowed_paths=["worker/", "tests/", "pyproject.toml"]))
    numbers = await _opened_with_checks(
        settings, checkout, {"pyproject": "passing", "no_test": "passing", "good": "failing"}
    )
    async with Client(build_server(settings)) as client:
        results = {
            name: await call(client, "merge_pull_request", number=number, repo="worker")
            for name, number in numbers.items()
        }
    assert {name: r["evaluation"]["failed"] for name, r in results.items()} == {
        "pyproject": ["no_dependency_or_ci_changes"],
        "no_test": ["changes_a_test"],
        "good": ["checks_passing"],
    }
    assert not any(r["merged"] for r in results.values())
    assert "pyproject.toml" in results["pyproject"]["audit"]["failed_rules"][0]
    assert git(_remote(settings), "for-each-ref", "refs/heads/main") == ""
    resources = AppResources.from_settings(settings)
    try:
        rows = resources.pulls.merge_audit().entries(repo="worker")
    finally:
        await resources.close()
    assert sorted((r.number, r.outcome) for r in rows) == [(n, "refused") for n in sorted(numbers.values())]


@pytest.mark.parametrize("remote_has_main", [False, True])
async def test_allowed_pull_request_is_merged_on_the_remote_only_and_audited(
    local_settings, checkout, remote_has_main
) -> None:
    settings = local_settings()
    numbers = await _opened_with_checks(settings, checkout, {"good": "passing"})
    head, remote = checkout.fixes["good"].head, _remote(settings)
    main_before = git(checkout.path, "rev-parse", "main") if remote_has_main else None
    if remote_has_main:
        git(checkout.path, "push", "-q", str(remote), "refs/heads/main:refs/heads/main")
    before = snapshot(checkout.path)
    async with Client(build_server(settings)) as client:
        merged = await call(client, "merge_pull_request", number=numbers["good"], repo="worker")
        again = await call(client, "merge_pull_request", number=numbers["good"], repo="worker")
        listed = await call(client, "list_pull_requests", state="merged")
    assert snapshot(checkout.path) == before  # working tree, index, HEAD, refs: byte for byte

    assert merged["merged"] is True and merged["evaluation"]["allowed"], merged["evaluation"]
    main = git(remote, "rev-parse", "refs/heads/main")
    assert merged["merge_commit"] == main and merged["head_sha"] == head
    assert git(remote, "rev-list", "--parents", "-n", "1", main).split()[1:] == [
        git(checkout.path, "rev-parse", "main"),
        head,
    ]
    git(remote, "merge-base", "--is-ancestor", head, "refs/heads/main")  # raises unless contained
    assert "TIMEOUT = 60" in git(remote, "show", "main:worker/imap.py")
    assert ("the remote had no 'main' yet" in (merged["note"] or "")) is not remote_has_main
    audit = merged["audit"]
    assert (audit["outcome"], audit["before_sha"], audit["after_sha"], audit["head_sha"]) == (
        "merged",
        main_before,
        main,
        head,
    )
    assert merged["before_sha"] == main_before
    assert merged["pull_request"]["status"] == "merged" and merged["history"] == []
    assert [(p["number"], p["status"], p["recorded_status"]) for p in listed["pull_requests"]] == [
        (numbers["good"], "merged", "merged")
    ]
    # a second call is refused (no longer open) and sees the merge in its history
    assert again["merged"] is False and again["evaluation"]["failed"][0] == "open"
    assert [h["outcome"] for h in again["history"]] == ["merged"]
    assert git(remote, "rev-parse", "refs/heads/main") == main


async def test_worse_verdict_opens_a_revert_pull_request(local_settings, checkout) -> None:
    settings = local_settings()
    numbers = await _opened_with_checks(settings, checkout, {"good": "passing", "no_test": "passing"})
    number, remote = numbers["good"], _remote(settings)
    async with Client(build_server(settings)) as client:
        merged = await call(client, "merge_pull_request", number=number, repo="worker")
    before = snapshot(checkout.path)
    resources = AppResources.from_settings(settings)
    try:
        pulls = resources.pulls
        with pytest.raises(ToolInputError, match="only a 'worse' verdict"):
            await pulls.open_revert_pull_request("worker", number, Verdict(verdict="improved"))
        await pulls.set_local_state("worker", numbers["no_test"], "merged")  # a person merged this one
        with pytest.raises(ToolInputError, match="not merged by self-improver"):
            await pulls.open_revert_pull_request(
                "worker", numbers["no_test"], Verdict(pr_number=numbers["no_test"])
            )
        opened = await pulls.open_revert_pull_request("worker", number, Verdict(pr_number=number))
        again = await pulls.open_revert_pull_request("worker", number, Verdict(pr_number=number))
        nightly = [
            await pulls.revert_if_worse("worker", number, Verdict(verdict="fixed")),
            await pulls.revert_if_worse("worker", numbers["no_test"], Verdict(pr_number=None)),
            await pulls.revert_if_worse("worker", number, Verdict(pr_number=number)),
        ]
        audit = pulls.merge_audit().entries(repo="worker", number=number, action="revert")
    finally:
        await resources.close()
    assert snapshot(checkout.path) == before

    pr = opened.pull_request
    assert not opened.deduplicated and pr.head == f"self-improver/revert-{number}" and pr.base == "main"
    assert pr.labels == ["self-improver", "revert"] and pr.status == "open" and not pr.draft
    assert pr.signature == "a1a1a1a1a1a1"
    revert = git(remote, "rev-parse", f"refs/heads/{pr.head}")
    main = git(remote, "rev-parse", "refs/heads/main")
    assert git(remote, "rev-parse", f"{revert}^") == main == merged["merge_commit"]
    assert git(remote, "rev-parse", f"{revert}^{{tree}}") == git(remote, "rev-parse", f"{main}^1^{{tree}}")
    assert "TIMEOUT = 30" in git(remote, "show", f"{revert}:worker/imap.py")
    assert again.deduplicated and again.pull_request.number == pr.number
    assert nightly[:2] == [None, None] and nightly[2] is not None and nightly[2].deduplicated
    [row] = audit
    assert (row.outcome, row.after_sha, row.branch) == ("opened", revert, pr.head)
    assert f"#{pr.number}" in (row.detail or "") and "RR 3.33" in (row.detail or "")
    assert not list((settings.data_dir / "merges" / "worktrees").iterdir())  # the worktree is gone
    with sqlite3.connect(settings.data_dir / "pulls.db") as conn:
        (body,) = conn.execute("SELECT body FROM pull_requests WHERE number = ?", (pr.number,)).fetchone()
    assert f"Reverts #{number}" in body and "### Verdict: worse" in body and "RR 3.33" in body
    assert "fnd_0123456789abcdef01234567" in body and "<!-- self-improver:signature=a1a1a1a1a1a1 -->" in body


async def test_checks_of_an_older_head_do_not_count(local_settings, checkout) -> None:
    settings = local_settings()
    numbers = await _opened_with_checks(settings, checkout, {"good": "passing"})
    remote, branch = _remote(settings), checkout.fixes["good"].branch
    tree = git(remote, "rev-parse", f"refs/heads/{branch}^{{tree}}")
    pushed = git(remote, "commit-tree", tree, "-p", f"refs/heads/{branch}", "-m", "pushed later")
    git(remote, "update-ref", f"refs/heads/{branch}", pushed)  # someone pushed after CI reported
    async with Client(build_server(settings)) as client:
        result = await call(client, "merge_pull_request", number=numbers["good"], repo="worker")
    assert result["merged"] is False and result["evaluation"]["failed"] == ["checks_passing"]
    [rule] = [r for r in result["evaluation"]["rules"] if r["rule"] == "checks_passing"]
    assert "checks were recorded for" in rule["detail"] and result["head_sha"] == pushed
