"""Helpers of the nightly tests: git for a repo with a fix branch, and the demo night's date."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from git_repos import commit_file, git  # noqa: F401 - git is re-exported for the nightly tests

NIGHT = "2026-02-16"
MERGED_AT = datetime.fromisoformat("2026-02-11T12:00:00+00:00")  # the fix of the worse-fix nights


def commit(repo: Path, path: str, text: str, message: str) -> None:
    commit_file(repo, path, text, message)


def add_fix_branch(repo: Path, signature: str) -> str:
    branch = f"self-improver/{signature}-x"
    git(repo, "checkout", "-q", "-b", branch, "main")
    commit(repo, "worker/gateway.py", "TIMEOUT = 90\n", "raise the gateway timeout")
    git(repo, "checkout", "-q", "main")
    return branch


def failures_after_merge(db: Path, error: str, count: int) -> None:
    """Copy one failed task with this error `count` times after MERGED_AT: the 'fix' made it worse."""
    conn = sqlite3.connect(db)
    row = conn.execute(
        "SELECT status, error, error_type, traceback, agent, task_name FROM tasks WHERE error = ? LIMIT 1",
        (error,),
    ).fetchone()
    for i in range(count):
        created = (MERGED_AT + timedelta(hours=2, minutes=7 * i)).strftime("%Y-%m-%d %H:%M:%S")
        conn.execute(
            "INSERT INTO tasks(status, error, error_type, traceback, agent, task_name, created_at) "
            "VALUES (?,?,?,?,?,?,?)",
            (*row, created),
        )
    conn.commit()
    conn.close()


@dataclass
class WorseFix:
    """A fix self-improver merged under the auto-merge policy, after which its signature got worse."""

    base: dict[str, Any]  # the settings every night of the scenario shares
    signature: str
    number: int


async def merge_a_worse_fix(
    make_settings: Callable[..., Any], repo: Path, db: Path, **extra: Any
) -> WorseFix:
    """The AttributeError's fix, opened and merged by us at MERGED_AT, then 25 more of its failures."""
    from self_improver.examples.demo_telemetry import DEMO_ANCHOR
    from self_improver.server.context import AppResources
    from self_improver.tools.errors.reports import top_errors
    from self_improver.tools.pulls.merge_policy import AutoMergePolicy

    policy = AutoMergePolicy(enabled=True, allowed_paths=["worker/*", "tests/*"])
    base = {"telemetry_db": db, "repos": [{"name": "worker", "path": str(repo)}], "pr_provider": "local"}
    base |= {"auto_merge": policy, **extra}
    app = AppResources.from_settings(make_settings(now=DEMO_ANCHOR, **base))
    try:
        group = (await top_errors(app.errors, days=7, limit=3)).groups[2]  # the AttributeError, 2 failures
    finally:
        await app.close()
    failures_after_merge(db, group.example, 25)
    branch = f"self-improver/{group.signature}-x"
    git(repo, "checkout", "-q", "-b", branch, "main")
    commit(repo, "worker/agent.py", "CONTEXT = {}\n", "fix")
    commit(repo, "tests/test_agent.py", "def test_context():\n    assert True\n", "test")
    git(repo, "checkout", "-q", "main")
    app = AppResources.from_settings(make_settings(now=MERGED_AT - timedelta(hours=1), **base))
    try:
        opened = await app.pulls.open_pull_request(
            "worker", branch, "Fix it", "A fix.", group.signature, draft=False
        )
        number = opened.pull_request.number
        await app.pulls.set_local_checks("worker", number, "passing")
    finally:
        await app.close()
    app = AppResources.from_settings(make_settings(now=MERGED_AT, **base))
    try:
        merged = await app.pulls.merge_pull_request("worker", number, policy)
    finally:
        await app.close()
    assert merged.merged, merged
    return WorseFix(base, group.signature, number)
