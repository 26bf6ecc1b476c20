"""Git helpers and constants of the pull-request tests: a user's checkout with a fix branch, snapshots."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

from git_repos import GIT_ENV, commit_file, git  # noqa: F401 - re-exported for the PR tests

TOKEN = "ghp_" + "T0kenForTests" * 3
SIGNATURE = "abc123def456"
BRANCH = f"self-improver/{SIGNATURE}-retry-imap"


def add_fix_branch(repo: Path, branch: str, path: str, text: str) -> str:
    """Commit `text` to `path` on a new branch off main, then go back to main (as the code tools would)."""
    git(repo, "checkout", "-q", "-b", branch, "main")
    sha = commit_file(repo, path, text, f"fix on {branch}")
    git(repo, "checkout", "-q", "main")
    return sha


def snapshot(root: Path) -> dict[str, str]:
    """Every file under `root` (.git included) with a hash of its bytes."""
    return {
        str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


@dataclass
class UserRepo:
    path: Path
    branch: str
    head: str
