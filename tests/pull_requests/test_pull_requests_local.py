"""The local provider through the MCP tools: a bare remote, pull requests in pulls.db, the same rules."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from mcp import Client
from mcp_calls import call, call_error, remember
from pull_requests.git_setup import BRANCH, SIGNATURE, add_fix_branch, commit_file, git, snapshot
from self_improver.server.app import build_server
from self_improver.server.context import AppResources


async def _open(client: Client, **overrides: object) -> dict:
    arguments = {
        "repo": "worker",
        "branch": BRANCH,
        "title": "Raise the IMAP login timeout to 60s",
        "body": "IMAP logins time out after 30s under load; this raises the limit.",
        "signature": SIGNATURE,
    } | overrides
    return await call(client, "open_pull_request", **arguments)


def _remote(settings) -> Path:
    return settings.data_dir / "remotes" / "worker.git"


async def test_open_list_dedup_and_the_user_repo_is_untouched(local_settings, user_repo) -> None:
    settings = local_settings(now="2026-02-16T03:00:00Z")
    before = snapshot(user_repo.path)
    async with Client(build_server(settings)) as client:
        opened = await _open(client, labels=["bug"], draft=False)
        again = await _open(client, title="Same signature, other words")
        listed = await call(client, "list_pull_requests")
    assert snapshot(user_repo.path) == before  # working tree, index, HEAD, refs, config: byte for byte
    pr = opened["pull_request"]
    assert opened["provider"] == "local" and not opened["deduplicated"]
    assert (pr["number"], pr["url"], pr["status"], pr["checks"], pr["draft"]) == (
        1,
        "local://worker/pulls/1",
        "open",
        "pending",
        False,
    )
    assert pr["labels"] == ["self-improver", "bug"] and pr["head"] == BRANCH and pr["base"] == "main"
    assert pr["created_at"] == "2026-02-16T03:00:00Z"
    assert opened["pushed_to"] == str(_remote(settings))
    assert git(_remote(settings), "rev-parse", f"refs/heads/{BRANCH}") == user_repo.head
    assert (
        again["deduplicated"] and again["pull_request"]["number"] == 1 and "already exists" in again["note"]
    )
    assert [(r["number"], r["signature"], r["checks"]) for r in listed["pull_requests"]] == [
        (1, SIGNATURE, "pending")
    ]
    assert not opened["evidence_included"]  # the demo night does not know this signature


async def test_caps_per_run_and_open_in_total(local_settings, user_repo) -> None:
    second = "bbbbbbbbbbb2"
    add_fix_branch(user_repo.path, f"self-improver/{second}-fix", "worker/other.py", "X = 1\n")
    async with Client(build_server(local_settings(max_prs_per_run=1))) as client:
        await _open(client)
        refused = await call_error(
            client,
            "open_pull_request",
            repo="worker",
            branch=f"self-improver/{second}-fix",
            title="Other fix",
            body="Another problem.",
            signature=second,
        )
    assert "max_prs_per_run=1" in refused and "Nothing was pushed" in refused
    async with Client(build_server(local_settings(max_open_prs=1))) as client:  # a new run
        refused = await call_error(
            client,
            "open_pull_request",
            repo="worker",
            branch=f"self-improver/{second}-fix",
            title="Other fix",
            body="Another problem.",
            signature=second,
        )
    assert "max_open_prs=1" in refused and "1 self-improver pull request(s) are open" in refused


async def test_rejected_push_is_a_clear_error(local_settings, user_repo, tmp_path) -> None:
    remote = tmp_path / "remote.git"
    git(tmp_path, "init", "-q", "--bare", str(remote))
    other = tmp_path / "other"
    git(tmp_path, "clone", "-q", str(user_repo.path), str(other))
    git(other, "checkout", "-q", "-b", BRANCH, "origin/main")
    commit_file(other, "worker/imap.py", "TIMEOUT = 90\n", "someone else's commit")
    git(other, "push", "-q", str(remote), f"{BRANCH}:{BRANCH}")
    remote_head = git(remote, "rev-parse", f"refs/heads/{BRANCH}")
    settings = local_settings(repos=[{"name": "worker", "path": str(user_repo.path), "remote": str(remote)}])
    async with Client(build_server(settings)) as client:
        message = await call_error(
            client,
            "open_pull_request",
            repo="worker",
            branch=BRANCH,
            title="Fix",
            body="The fix.",
            signature=SIGNATURE,
        )
        listed = await call(client, "list_pull_requests", state="all")
    assert "refused" in message and "non-fast-forward" in message and "nothing was force-pushed" in message
    assert git(remote, "rev-parse", f"refs/heads/{BRANCH}") == remote_head
    assert listed["count"] == 0


async def test_secret_in_the_diff_refuses_naming_file_and_line(local_settings, user_repo) -> None:
    secret = "sk_live_" + "4eC39HqLyjWDarjtT1zdp7dc"
    branch = f"self-improver/{SIGNATURE}-with-secret"
    add_fix_branch(
        user_repo.path,
        branch,
        "worker/billing.py",
        f'import os\n\nSTRIPE = "{secret}"\nPW = os.environ["PW"]\n',
    )
    settings = local_settings()
    async with Client(build_server(settings)) as client:
        message = await call_error(
            client,
            "open_pull_request",
            repo="worker",
            branch=branch,
            title="Fix billing",
            body="Billing fix.",
            signature=SIGNATURE,
        )
        in_body = await call_error(
            client,
            "open_pull_request",
            repo="worker",
            branch=BRANCH,
            title="Fix",
            body="Reproduce with password='hunter2hunter2' on staging.",
            signature=SIGNATURE,
        )
    assert "worker/billing.py:3" in message and "Stripe-style key" in message and secret not in message
    assert "Nothing was pushed" in message and not _remote(settings).exists()
    assert "pull request body:1" in in_body and "hunter2" not in in_body


@pytest.mark.parametrize(
    ("branch", "expected"),
    [
        ("main", "is the default branch"),
        ("feature/x", "not a self-improver branch"),
        ("self-improver/none-such", "does not exist in repo 'worker'"),
        ("self-improver/../x", "not a valid branch name"),
    ],
)
async def test_bad_branches_are_refused(local_settings, branch, expected) -> None:
    async with Client(build_server(local_settings())) as client:
        message = await call_error(
            client,
            "open_pull_request",
            repo="worker",
            branch=branch,
            title="t",
            body="b",
            signature=SIGNATURE,
        )
    assert expected in message


async def test_unknown_finding_is_refused_before_anything_is_pushed(local_settings) -> None:
    settings = local_settings()
    async with Client(build_server(settings)) as client:
        message = await call_error(
            client,
            "open_pull_request",
            repo="worker",
            branch=BRANCH,
            title="Fix",
            body="The fix.",
            signature=SIGNATURE,
            finding_id="fnd_" + "0" * 24,
        )
    assert "no finding with id" in message and not _remote(settings).exists()


async def test_unknown_repo_names_the_configured_ones(local_settings) -> None:
    async with Client(build_server(local_settings())) as client:
        message = await call_error(client, "list_pull_requests", repo="wroker")
    assert "use one of worker" in message


async def test_state_changes_reach_memory_and_merged_pull_requests(local_settings) -> None:
    settings = local_settings()
    resources = AppResources.from_settings(settings)
    try:
        async with Client(build_server(settings)) as client:
            finding = await remember(client, SIGNATURE, "IMAP timeouts")
            opened = await _open(client, finding_id=finding["id"])
            after_open = await call(client, "recall_findings", signature=SIGNATURE)
        number = opened["pull_request"]["number"]
        await resources.pulls.set_local_checks("worker", number, "passing")
        await resources.pulls.set_local_state("worker", number, "merged")
        merged = await resources.pulls.merged_pull_requests("2000-01-01")
        async with Client(build_server(settings)) as client:
            listed = await call(client, "list_pull_requests", state="merged")
            recalled = await call(client, "recall_findings", signature=SIGNATURE)
            synced = await call(client, "sync_pull_requests")
    finally:
        await resources.close()
    assert after_open["findings"][0]["metadata"]["pr_number"] == number
    assert after_open["findings"][0]["metadata"]["pr_status"] == "open"
    assert [(m.number, m.signature, m.finding_id) for m in merged] == [(number, SIGNATURE, finding["id"])]
    assert [(r["status"], r["checks"], r["recorded_status"]) for r in listed["pull_requests"]] == [
        ("merged", "passing", "merged")
    ]
    assert recalled["findings"][0]["metadata"]["pr_status"] == "merged"
    assert synced["changes"] == []
    assert json.dumps(listed).count("merged_at") == 1
