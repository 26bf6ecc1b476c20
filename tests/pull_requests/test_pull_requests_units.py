"""The pieces with rules of their own: secret scan, checks verdict, retries against slow or failing GitHub."""

from __future__ import annotations

import time

import pytest
from mcp import Client
from mcp_calls import call_error
from pull_requests.git_setup import BRANCH, SIGNATURE, TOKEN
from self_improver.server.app import ALL_TOOLSETS, build_server
from self_improver.server.registry import READ_ONLY_REMOTE, WRITE_REMOTE
from self_improver.tools.code.repo_config import RepoConfig
from self_improver.tools.pulls.checks import combine
from self_improver.tools.pulls.marker import marker, parse_marker
from self_improver.tools.pulls.providers.base import PullDraft
from self_improver.tools.pulls.providers.github import GitHubProvider, web_url
from self_improver.tools.pulls.retry import RetryPolicy
from self_improver.tools.pulls.secret_scan import scan_diff, scan_text
from self_improver.tools.support.problems import UnavailableError

DIFF = """diff --git a/app/config.py b/app/config.py
--- a/app/config.py
+++ b/app/config.py
@@ -3,0 +4,2 @@ import os
+DB_PASSWORD = os.environ["DB_PASSWORD"]
+token: str = get_token(name)
@@ -20 +22,3 @@ def connect():
-    password = "old"
+    password = settings.db_password
+    api_key = "abcd1234efgh5678ijkl"
+    url = "postgres://app:s3cretpass@db:5432/app"
diff --git a/deploy/key.pem b/deploy/key.pem
--- /dev/null
+++ b/deploy/key.pem
@@ -0,0 +1,2 @@
+-----BEGIN RSA PRIVATE KEY-----
+MIIEowIBAAKCAQEA
diff --git a/old.py b/old.py
--- a/old.py
+++ /dev/null
@@ -1 +0,0 @@
-SECRET_KEY = "d3adb33fd3adb33f"
"""


def test_scan_diff_names_file_line_and_kind_and_ignores_code() -> None:
    hits = [str(h) for h in scan_diff(DIFF)]
    assert hits == [
        "app/config.py:23 (value of `api_key`)",
        "app/config.py:24 (password in a URL)",
        "deploy/key.pem:1 (private key)",
    ]
    assert not any("abcd1234" in h or "s3cret" in h for h in hits)


def test_scan_text_skips_redacted_values_and_placeholders() -> None:
    body = "Seen: password=*** and Bearer ***\nSet API_KEY=<your key> or token: ${TOKEN}\n"
    assert scan_text(body, "body") == []
    assert [str(h) for h in scan_text("x\nAuthorization: Bearer abcdef123456", "body")] == [
        "body:2 (bearer/basic credential)"
    ]


def test_checks_verdict_from_statuses_and_check_runs() -> None:
    assert combine([], []) == "none"
    assert combine(["success"], [("completed", "success"), ("completed", "skipped")]) == "passing"
    assert combine(["success"], [("queued", None)]) == "pending"
    assert combine(["pending"], [("completed", "failure")]) == "failing"
    assert combine(["error"], []) == "failing"


def test_marker_round_trip_and_enterprise_urls() -> None:
    assert parse_marker(f"text\n{marker(SIGNATURE, 'fnd_abc')}") == (SIGNATURE, "fnd_abc")
    assert parse_marker("no marker") == (None, None)
    assert web_url("https://api.github.com") == "https://github.com"
    assert web_url("https://ghe.example.com/api/v3") == "https://ghe.example.com"


def test_tools_declare_honest_annotations() -> None:
    declared = {spec.name: spec.annotations for spec in ALL_TOOLSETS["github"].tools}
    assert declared["open_pull_request"] == WRITE_REMOTE
    assert declared["list_pull_requests"] == READ_ONLY_REMOTE
    sync = declared["sync_pull_requests"]
    assert (sync.read_only_hint, sync.destructive_hint, sync.idempotent_hint, sync.open_world_hint) == (
        False,
        False,
        True,
        True,
    )


async def test_read_only_server_lists_but_neither_opens_nor_syncs(local_settings) -> None:
    async with Client(build_server(local_settings(read_only=True, toolsets=["github"]))) as client:
        names = {t.name for t in (await client.list_tools()).tools}
    assert names == {"list_pull_requests"}


async def test_rate_limit_wait_longer_than_allowed_is_reported(github_settings, fake_github) -> None:
    fake_github.inject(
        "GET",
        r"/repos/acme/worker/issues",
        403,
        {
            "message": "You have exceeded a secondary rate limit. Please wait a few minutes before you try again."
        },
        headers={"Retry-After": "3600"},
    )
    async with Client(build_server(github_settings())) as client:
        message = await call_error(client, "list_pull_requests")
    assert "wait 3600s" in message and fake_github.count("GET", r"/repos/acme/worker/issues") == 1


def _provider(fake_github, attempts: int = 3) -> GitHubProvider:
    return GitHubProvider(
        TOKEN,
        fake_github.base_url,
        RetryPolicy(attempts=attempts, base_delay=0.01),
        timeout=1,
        seconds_between_writes=None,
    )


def _draft(user_repo, github_remote) -> PullDraft:
    repo = RepoConfig(name="worker", path=user_repo.path, github="acme/worker", remote=str(github_remote))
    return PullDraft(
        repo,
        BRANCH,
        user_repo.head,
        "Fix",
        f"Body\n{marker(SIGNATURE)}",
        SIGNATURE,
        None,
        True,
        ["self-improver"],
    )


def test_slow_answer_after_create_times_out_and_the_lookup_finds_it(
    fake_github, user_repo, github_remote
) -> None:
    provider = _provider(fake_github)
    draft = _draft(user_repo, github_remote)
    provider.push(draft.repo, BRANCH)
    fake_github.inject("POST", r"/repos/acme/worker/pulls", after=True, delay=1.5)  # created, answered late
    started = time.monotonic()
    pull = provider.create(draft, run_id="run")
    provider.close()
    assert pull.number == 1 and pull.labels == ["self-improver"] and time.monotonic() - started < 5
    assert fake_github.count("POST", r"/repos/acme/worker/pulls") == 1
    assert len(fake_github.pulls("acme/worker")) == 1


def test_create_that_never_succeeds_gives_up_without_duplicates(
    fake_github, user_repo, github_remote
) -> None:
    provider = _provider(fake_github)
    draft = _draft(user_repo, github_remote)
    provider.push(draft.repo, BRANCH)
    fake_github.inject("POST", r"/repos/acme/worker/pulls", 502, {"message": "Server Error"}, times=10)
    with pytest.raises(UnavailableError, match="failed 3 times") as failure:
        provider.create(draft, run_id="run")
    provider.close()
    assert TOKEN not in str(failure.value) and fake_github.pulls("acme/worker") == []
    assert fake_github.count("POST", r"/repos/acme/worker/pulls") == 3


def test_duplicate_head_422_returns_the_existing_pull_request(fake_github, user_repo, github_remote) -> None:
    provider = _provider(fake_github)
    draft = _draft(user_repo, github_remote)
    provider.push(draft.repo, BRANCH)
    number = fake_github.add_pull("acme/worker", BRANCH, user_repo.head, "Earlier", "earlier body", [])
    pull = provider.create(draft, run_id="run")
    provider.close()
    assert pull.number == number and len(fake_github.pulls("acme/worker")) == 1


def test_the_local_remote_is_made_once_when_processes_race_for_it(tmp_path) -> None:  # type: ignore[no-untyped-def]
    """Several servers sharing a data dir used to fail on each other's half-made `git init --bare`."""
    import subprocess
    import sys

    remote = tmp_path / "data" / "remotes" / "worker.git"
    code = (
        "import sys, time; from pathlib import Path\n"
        "from self_improver.tools.pulls.git import ensure_bare_remote\n"
        "while time.time() < float(sys.argv[2]): pass\n"  # released together
        "ensure_bare_remote(Path(sys.argv[1]), 'main')\n"
    )
    start = str(time.time() + 2.0)
    racers = [subprocess.Popen([sys.executable, "-c", code, str(remote), start]) for _ in range(6)]
    assert [racer.wait(timeout=60) for racer in racers] == [0] * 6
    head = (remote / "HEAD").read_text()
    assert head == "ref: refs/heads/main\n"
    assert [p.name for p in remote.parent.iterdir()] == ["worker.git"]  # no temporary copy left behind
