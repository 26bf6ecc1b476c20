"""GitLab end to end: a repo configured with `forge = "gitlab"` and `[providers.gitlab]`, driven through the
MCP tools as a host would, against the fake GitLab (REST v4 and git over HTTP) on 127.0.0.1."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from mcp import Client
from mcp_calls import call
from merge_policy.merge_setup import FIXES, make_branch, policy
from pull_requests.fake_gitlab_api import FakeGitLab
from pull_requests.git_setup import UserRepo, git
from self_improver.server.app import build_server

TOKEN = "glpat-" + "EndToEndT0ken" * 2
PROJECT = "acme/backend/worker"  # a nested group, URL-encoded on the wire


@pytest.fixture
def fake_gitlab(github_remote: Path) -> Iterator[FakeGitLab]:
    with FakeGitLab.serving(TOKEN, PROJECT, github_remote) as fake:
        yield fake


@pytest.fixture
def gitlab_settings(make_settings, fake_gitlab: FakeGitLab, user_repo: UserRepo, demo_db: Path):  # type: ignore[no-untyped-def]
    def make(**overrides):  # type: ignore[no-untyped-def]
        values = {
            "repos": [{"name": "worker", "path": str(user_repo.path), "forge": "gitlab", "project": PROJECT}],
            "providers": {"gitlab": {"token": TOKEN, "base_url": fake_gitlab.base_url}},
            "telemetry_db": demo_db,
            "now": "2026-02-16T03:00:00Z",
        }
        return make_settings(**(values | overrides))

    return make


async def test_open_list_with_pipelines_and_dedup_through_the_tools(
    gitlab_settings, fake_gitlab: FakeGitLab, user_repo: UserRepo
) -> None:
    good = make_branch(user_repo.path, "good", *FIXES["good"])
    async with Client(build_server(gitlab_settings())) as client:
        opened = await call(
            client,
            "open_pull_request",
            repo="worker",
            branch=good.branch,
            title="Raise the IMAP login timeout to 60s",
            body="IMAP logins time out after 30s under load; this raises the limit.",
            signature=good.signature,
        )
        again = await call(
            client,
            "open_pull_request",
            repo="worker",
            branch=good.branch,
            title="Another title",
            body="The same fix again.",
            signature=good.signature,
        )
        fake_gitlab.add_pipeline(PROJECT, good.head, "success", ref=good.branch)
        listed = await call(client, "list_pull_requests", repo="worker", state="open")

    pr = opened["pull_request"]
    assert opened["provider"] == "gitlab" and pr["number"] == 1 and pr["status"] == "open"
    assert pr["url"].endswith("/acme/backend/worker/-/merge_requests/1")
    [stored] = fake_gitlab.mrs(PROJECT)
    assert f"<!-- self-improver:signature={good.signature} -->" in stored["description"]
    assert "### Evidence" in stored["description"]
    assert fake_gitlab.projects[PROJECT].branch_sha(good.branch) == good.head  # pushed over HTTP
    assert (
        again["deduplicated"] and again["pull_request"]["number"] == 1 and len(fake_gitlab.mrs(PROJECT)) == 1
    )
    [shown] = listed["pull_requests"]
    assert (shown["number"], shown["checks"]) == (1, "passing")
    assert TOKEN not in json.dumps([opened, again, listed])


async def test_merge_under_the_policy_and_a_closed_mr_mutes_its_signature(
    gitlab_settings, fake_gitlab: FakeGitLab, user_repo: UserRepo
) -> None:
    git(user_repo.path, "reset", "-q")  # the user's staged work stays out of the fix commits
    good = make_branch(user_repo.path, "good", *FIXES["good"])
    other = make_branch(user_repo.path, "no_test", *FIXES["no_test"])
    settings = gitlab_settings(auto_merge=policy())
    async with Client(build_server(settings)) as client:
        for fix in (good, other):
            await call(
                client,
                "open_pull_request",
                repo="worker",
                branch=fix.branch,
                title=f"Fix {fix.signature}",
                body="A fix for the failures of this signature.",
                signature=fix.signature,
                draft=False,
            )
        fake_gitlab.add_pipeline(PROJECT, good.head, "success", ref=good.branch)
        main_before = fake_gitlab.projects[PROJECT].branch_sha("main")
        merged = await call(client, "merge_pull_request", repo="worker", number=1)
        fake_gitlab.set_state(PROJECT, 2, "closed")
        synced = await call(client, "sync_pull_requests", repo="worker")

    assert merged["merged"] is True, json.dumps(merged)[:1500]
    main_after = fake_gitlab.projects[PROJECT].branch_sha("main")
    assert main_after not in (None, main_before)  # main moved on "GitLab"
    assert "TIMEOUT = 60" in fake_gitlab.projects[PROJECT].git(
        "show", "main:worker/imap.py"
    )  # the fix's text
    muted = [c for c in synced["changes"] if c.get("muted")]
    assert [c["muted"] for c in muted] == [[other.signature]]
