"""Helpers of the nightly tests: git for a repo with a fix branch, and the demo night's date."""

from __future__ import annotations

import sqlite3
from datetime import datetime, timedelta
from pathlib import Path

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
