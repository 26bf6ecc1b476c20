"""Helpers of the nightly tests: git for a repo with a fix branch, and the demo night's date."""

from __future__ import annotations

import subprocess
from pathlib import Path

NIGHT = "2026-02-16"
GIT_ENV = {
    "GIT_AUTHOR_NAME": "Dev",
    "GIT_AUTHOR_EMAIL": "dev@example.com",
    "GIT_COMMITTER_NAME": "Dev",
    "GIT_COMMITTER_EMAIL": "dev@example.com",
    "HOME": "/nonexistent",
    "GIT_CONFIG_NOSYSTEM": "1",
    "PATH": "/usr/bin:/bin:/usr/local/bin",
}


def git(repo: Path, *args: str) -> str:
    done = subprocess.run(
        ["git", "-C", str(repo), *args], capture_output=True, text=True, env=GIT_ENV, check=True
    )
    return done.stdout.strip()


def commit(repo: Path, path: str, text: str, message: str) -> None:
    (repo / path).parent.mkdir(parents=True, exist_ok=True)
    (repo / path).write_text(text)
    git(repo, "add", path)
    git(repo, "commit", "-q", "-m", message)


def add_fix_branch(repo: Path, signature: str) -> str:
    branch = f"self-improver/{signature}-x"
    git(repo, "checkout", "-q", "-b", branch, "main")
    commit(repo, "worker/gateway.py", "TIMEOUT = 90\n", "raise the gateway timeout")
    git(repo, "checkout", "-q", "main")
    return branch
