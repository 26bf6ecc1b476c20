"""run_checks through the MCP client: the repo's test command in the fix worktree, bounded and secret-free."""

from __future__ import annotations

import sys
import time

import pytest
from mcp import Client
from mcp_calls import call, call_error
from self_improver.server.app import build_server
from self_improver.tools.code.checks import check_environment

SIGNATURE = "3b8fe4199281"
BRANCH = f"self-improver/{SIGNATURE}-raise-imap-timeout"
PATCH = {
    "repo": "worker",
    "signature": SIGNATURE,
    "title": "Raise IMAP timeout",
    "edits": [{"path": "app/mail.py", "search": "TIMEOUT = 10\n", "replace": "TIMEOUT = 60\n"}],
}


async def test_checks_pass_on_the_fix_and_fail_without_it(repo_settings, user_repo, helpers) -> None:
    before = helpers.snapshot(user_repo.path)
    async with Client(build_server(repo_settings())) as client:
        applied = await call(client, "apply_patch", **PATCH)
        passed = await call(client, "run_checks", repo="worker", branch=BRANCH)
        broken = {"path": "app/mail.py", "search": "TIMEOUT = 60\n", "replace": "TIMEOUT = 61\n"}
        await call(client, "apply_patch", **{**PATCH, "edits": [broken]})
        failed = await call(client, "run_checks", repo="worker", branch=BRANCH)
    assert passed["passed"] is True and passed["exit_code"] == 0 and passed["timed_out"] is False
    assert passed["commit"] == applied["commit"] and passed["output_tail"] == "all checks passed"
    assert passed["sandbox"] == "bubblewrap: no network, no host processes, worktree-only writes"
    assert failed["passed"] is False and failed["exit_code"] == 1
    assert "TIMEOUT is 61, expected 60" in failed["output_tail"] and "AssertionError" in failed["output_tail"]
    assert helpers.snapshot(user_repo.path) == before  # the checks ran in the worktree, not the checkout


async def test_time_limit_kills_everything_the_command_started(repo_settings, helpers) -> None:
    command = "sleep 60.123 & echo started; wait"
    server = build_server(repo_settings(test_command=command, check_timeout_seconds=1))
    async with Client(server) as client:
        await call(client, "apply_patch", **PATCH)
        started = time.monotonic()
        result = await call(client, "run_checks", repo="worker", branch=BRANCH)
    assert time.monotonic() - started < 8
    assert result["timed_out"] is True and result["passed"] is False and result["exit_code"] is None
    assert result["output_tail"] == "started" and 1 <= result["duration_s"] < 8
    assert not helpers.processes_running("60.123"), "the background sleep survived the time limit"


async def test_progress_is_reported_while_the_command_runs(repo_settings) -> None:
    server = build_server(repo_settings(test_command="sleep 2.5; echo done"))
    seen: list[tuple[float, float | None, str | None]] = []

    async def on_progress(progress: float, total: float | None, message: str | None) -> None:
        seen.append((progress, total, message))

    async with Client(server) as client:
        await call(client, "apply_patch", **PATCH)
        result = await client.call_tool(
            "run_checks", {"repo": "worker", "branch": BRANCH}, progress_callback=on_progress
        )
    assert not result.is_error and result.structured_content["passed"] is True
    assert len(seen) >= 2 and all(total == 600 and message == "running tests" for _, total, message in seen)
    assert seen[-1][0] >= 2


async def test_secrets_are_not_in_the_environment_and_output_is_redacted(repo_settings, monkeypatch) -> None:
    monkeypatch.setenv("GITHUB_TOKEN", "ghp_" + "a" * 36)
    monkeypatch.setenv("SELF_IMPROVER_HTTP_TOKEN", "s3cret-http")
    monkeypatch.setenv("MY_API_KEY", "k3y-value")
    monkeypatch.setenv("DB_PASSWORD", "pw-value")
    monkeypatch.setenv("HARMLESS_SETTING", "visible")
    command = "env | sort; echo password=hunter2 Authorization: Bearer abcdef123456"
    settings = repo_settings(test_command=command, repo={"check_env": ["HARMLESS_SETTING"]})
    async with Client(build_server(settings)) as client:
        await call(client, "apply_patch", **PATCH)
        result = await call(client, "run_checks", repo="worker", branch=BRANCH)
    tail = result["output_tail"]
    for secret in (
        "ghp_",
        "s3cret-http",
        "k3y-value",
        "pw-value",
        "GITHUB_TOKEN",
        "MY_API_KEY",
        "hunter2",
        "abcdef123456",
    ):
        assert secret not in tail
    assert "HARMLESS_SETTING=visible" in tail and "PATH=" in tail and "password=***" in tail


def test_check_environment_is_an_allow_list() -> None:
    env = check_environment(
        {
            "PATH": "/bin",
            "HOME": "/h",
            "LC_ALL": "C",
            "AWS_SECRET_ACCESS_KEY": "x",
            "GIT_DIR": "/x",
            "X_TOKEN": "t",
            "SLACK_WEBHOOK_URL": "https://hooks.example/x",
            "A": "1",
        },
        names=["A"],
    )
    assert env == {"PATH": "/bin", "HOME": "/h", "LC_ALL": "C", "A": "1"}


async def test_long_output_keeps_only_the_tail(repo_settings) -> None:
    command = f"{sys.executable} -c \"[print('line', n) for n in range(5000)]\""
    async with Client(build_server(repo_settings(test_command=command))) as client:
        await call(client, "apply_patch", **PATCH)
        result = await call(client, "run_checks", repo="worker", branch=BRANCH)
    lines = result["output_tail"].splitlines()
    assert len(lines) == 200 and lines[-1] == "line 4999" and result["output_truncated"] is True


@pytest.mark.parametrize(
    ("branch", "expected"),
    [
        ("main", "not a fix branch"),
        ("--upload-pack=evil", "not a fix branch"),
        (f"self-improver/{SIGNATURE}-never-made", "call apply_patch"),
    ],
)
async def test_unknown_branches_point_to_apply_patch(code_server, branch, expected) -> None:
    async with Client(code_server) as client:
        message = await call_error(client, "run_checks", repo="worker", branch=branch)
    assert expected in message and "apply_patch" in message


async def test_removed_worktree_says_to_apply_again(code_server, user_repo, helpers) -> None:
    async with Client(code_server) as client:
        applied = await call(client, "apply_patch", **PATCH)
        helpers.git(user_repo.path, "worktree", "remove", "--force", applied["worktree"])
        message = await call_error(client, "run_checks", repo="worker", branch=BRANCH)
        again = await call(client, "apply_patch", **PATCH)
        result = await call(client, "run_checks", repo="worker", branch=BRANCH)
    assert "no self-improver worktree" in message and "apply_patch again" in message
    assert again["already_applied"] is True and again["commit"] == applied["commit"]
    assert result["passed"] is True


async def test_missing_test_command_says_where_to_add_it(repo_settings) -> None:
    async with Client(build_server(repo_settings(test_command=None))) as client:
        await call(client, "apply_patch", **PATCH)
        message = await call_error(client, "run_checks", repo="worker", branch=BRANCH)
    assert "test_command" in message and "[[repos]]" in message
