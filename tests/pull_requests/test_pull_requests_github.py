"""The github provider through the MCP tools, against the fake GitHub API over real HTTP."""

from __future__ import annotations

import json
import logging
import time

from mcp import Client
from mcp_calls import call, call_error, remember
from pull_requests.git_setup import BRANCH, SIGNATURE, TOKEN, add_fix_branch
from self_improver.server.app import build_server
from self_improver.tools.pulls.marker import marker

PULL_CREATE = r"/repos/acme/worker/pulls"


async def _open(client: Client, **overrides: object) -> dict:
    arguments = {
        "repo": "worker",
        "branch": BRANCH,
        "title": "Raise the IMAP login timeout to 60s",
        "body": "IMAP logins time out after 30s under load; this raises the limit.",
        "signature": SIGNATURE,
    } | overrides
    return await call(client, "open_pull_request", **arguments)


async def test_open_labels_draft_evidence_then_dedup(github_settings, fake_github, user_repo, caplog) -> None:
    caplog.set_level(logging.DEBUG)
    async with Client(build_server(github_settings(now="2026-02-16T03:00:00Z"))) as client:
        top = await call(client, "top_errors", days=30, limit=1)
        signature = top["groups"][0]["signature"]
        branch = f"self-improver/{signature}-fix"
        add_fix_branch(user_repo.path, branch, "worker/limits.py", "LIMIT = 5\n")
        finding = await remember(client, signature, "IMAP timeouts under load")
        opened = await _open(
            client, branch=branch, signature=signature, labels=["bug"], finding_id=finding["id"]
        )
        again = await _open(client, branch=branch, signature=signature, title="Another title")
        recalled = await call(client, "recall_findings", signature=signature)
        results = [top, finding, opened, again, recalled]

    pr = opened["pull_request"]
    assert opened["provider"] == "github" and not opened["deduplicated"] and opened["memory_updated"]
    assert pr["draft"] and pr["status"] == "open" and pr["number"] == 1
    assert set(pr["labels"]) == {"self-improver", "bug"} and pr["signature"] == signature
    [stored] = fake_github.pulls("acme/worker")
    assert stored["labels"] == ["self-improver", "bug"] and stored["pr"]["draft"] is True
    body = stored["body"]
    assert body.startswith("IMAP logins time out") and f"<!-- self-improver:signature={signature}" in body
    assert "### Evidence" in body and "Occurrences:" in body and "first seen" in body
    assert opened["evidence_included"]
    assert again["deduplicated"] and again["pull_request"]["number"] == 1
    assert fake_github.count("POST", PULL_CREATE) == 1
    metadata = recalled["findings"][0]["metadata"]
    assert (metadata["pr_number"], metadata["pr_status"]) == (1, "open")
    # the token reached GitHub, but no result and no log line
    assert TOKEN not in json.dumps(results) and TOKEN not in caplog.text
    assert "127.0.0.1" in caplog.text  # PyGithub's request log was captured, masked


async def test_502_after_create_is_retried_without_a_duplicate(github_settings, fake_github) -> None:
    fake_github.inject("POST", PULL_CREATE, 502, {"message": "Server Error"}, after=True)
    async with Client(build_server(github_settings())) as client:
        opened = await _open(client)
    assert not opened["deduplicated"] and opened["pull_request"]["number"] == 1
    assert len(fake_github.pulls("acme/worker")) == 1
    assert fake_github.count("POST", PULL_CREATE) == 1  # looked up by head, found, not re-sent
    assert fake_github.count("POST", r"/repos/acme/worker/issues/1/labels") == 1


async def test_secondary_rate_limit_waits_for_retry_after(github_settings, fake_github) -> None:
    fake_github.inject(
        "POST",
        PULL_CREATE,
        403,
        {
            "message": "You have exceeded a secondary rate limit. Please wait a few minutes before you try again.",
            "documentation_url": "https://docs.github.com/rest/overview/rate-limits-for-the-rest-api",
        },
        headers={"Retry-After": "1"},
    )
    started = time.monotonic()
    async with Client(build_server(github_settings())) as client:
        opened = await _open(client)
    assert time.monotonic() - started >= 1.0
    assert opened["pull_request"]["number"] == 1 and len(fake_github.pulls("acme/worker")) == 1
    assert fake_github.count("POST", PULL_CREATE) == 2


async def test_list_combines_statuses_and_check_runs(github_settings, fake_github) -> None:
    heads = {}
    for i in range(1, 5):
        sig, heads[i] = f"aaaaaaaaaaa{i}", f"{i}" * 40
        body = f"Fix {i}\n\n{marker(sig)}"
        fake_github.add_pull(
            "acme/worker", f"self-improver/{sig}-fix", heads[i], f"Fix {i}", body, ["self-improver"]
        )
    fake_github.add_pull("acme/worker", "someone/feature", "9" * 40, "A person's change", "no marker", [])
    fake_github.add_status("acme/worker", heads[1], "success", "ci/build")
    fake_github.add_check_run("acme/worker", heads[1], "tests", "completed", "failure")
    fake_github.add_status("acme/worker", heads[2], "success", "ci/build")
    fake_github.add_check_run("acme/worker", heads[2], "tests", "completed", "success")
    fake_github.add_status("acme/worker", heads[3], "success", "ci/build")
    fake_github.add_check_run("acme/worker", heads[3], "tests", "in_progress", None)
    async with Client(build_server(github_settings())) as client:
        first = await call(client, "list_pull_requests", limit=3)
        rest = await call(client, "list_pull_requests", limit=3, cursor=first["next_cursor"])
        wrong = await call_error(client, "list_pull_requests", state="merged", cursor=first["next_cursor"])
    rows = first["pull_requests"] + rest["pull_requests"]
    assert first["has_more"] and not rest["has_more"] and [r["number"] for r in rows] == [4, 3, 2, 1]
    checks = {r["signature"]: r["checks"] for r in rows}
    assert checks == {
        "aaaaaaaaaaa1": "failing",
        "aaaaaaaaaaa2": "passing",
        "aaaaaaaaaaa3": "pending",
        "aaaaaaaaaaa4": "none",
    }
    assert all(r["url"].startswith("https://github.example/acme/worker/pull/") for r in rows)
    assert {"number", "title", "status", "checks", "signature", "url"} <= set(rows[0])
    assert "cursor is not valid" in wrong


async def test_merge_is_recorded_by_sync_not_by_list(github_settings, fake_github) -> None:
    async with Client(build_server(github_settings())) as client:
        finding = await remember(client, SIGNATURE, "IMAP timeouts")
        opened = await _open(client, finding_id=finding["id"])
        fake_github.set_state("acme/worker", opened["pull_request"]["number"], "merged")
        listed = await call(client, "list_pull_requests", state="all")
        before = await call(client, "recall_findings", signature=SIGNATURE)
        synced = await call(client, "sync_pull_requests")
        repeat = await call(client, "sync_pull_requests")
        after = await call(client, "recall_findings", signature=SIGNATURE)
    [row] = listed["pull_requests"]
    assert (row["status"], row["recorded_status"]) == ("merged", "open") and "sync_pull_requests" in listed[
        "note"
    ]
    assert before["findings"][0]["metadata"]["pr_status"] == "open"
    [change] = synced["changes"]
    assert (change["before"], change["after"], change["findings_updated"]) == (
        "open",
        "merged",
        [finding["id"]],
    )
    assert repeat["changes"] == []
    assert after["findings"][0]["metadata"]["pr_status"] == "merged"


async def test_missing_token_says_to_set_github_token(github_settings) -> None:
    async with Client(build_server(github_settings(github_token=None))) as client:
        message = await call_error(
            client,
            "open_pull_request",
            repo="worker",
            branch=BRANCH,
            title="t",
            body="b",
            signature=SIGNATURE,
        )
        listed = await call_error(client, "list_pull_requests")
    assert "GITHUB_TOKEN" in message and "GITHUB_TOKEN" in listed


async def test_bad_token_is_a_clear_error_without_the_token(github_settings, fake_github) -> None:
    wrong = "ghp_" + "W" * 36
    async with Client(build_server(github_settings(github_token=wrong))) as client:
        message = await call_error(client, "list_pull_requests")
    assert "rejected the token" in message and wrong not in message


async def test_github_down_gives_up_with_a_clear_error(github_settings, fake_github) -> None:
    fake_github.inject(
        "GET",
        r"/repos/acme/worker/issues",
        503,
        {"message": "Service Unavailable"},
        headers={"Retry-After": "0"},
        times=10,
    )
    async with Client(build_server(github_settings())) as client:
        message = await call_error(client, "list_pull_requests")
    assert "failed 4 times" in message and "503" in message and TOKEN not in message
    assert fake_github.count("GET", r"/repos/acme/worker/issues") == 4
