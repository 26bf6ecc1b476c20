"""Helpers of the nightly tests: git for a repo with a fix branch, and the demo night's date."""

from __future__ import annotations

from pathlib import Path

from git_repos import commit_file, git  # noqa: F401 - git is re-exported for the nightly tests

NIGHT = "2026-02-16"


def commit(repo: Path, path: str, text: str, message: str) -> None:
    commit_file(repo, path, text, message)


def add_fix_branch(repo: Path, signature: str) -> str:
    branch = f"self-improver/{signature}-x"
    git(repo, "checkout", "-q", "-b", branch, "main")
    commit(repo, "worker/gateway.py", "TIMEOUT = 90\n", "raise the gateway timeout")
    git(repo, "checkout", "-q", "main")
    return branch
