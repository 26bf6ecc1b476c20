"""Git helpers and constants of the pull-request tests: a user's checkout with a fix branch, snapshots."""

from __future__ import annotations

import hashlib
import subprocess
from dataclasses import dataclass
from pathlib import Path

TOKEN = "ghp_" + "T0kenForTests" * 3
SIGNATURE = "abc123def456"
BRANCH = f"self-improver/{SIGNATURE}-retry-imap"
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


def commit_file(repo: Path, path: str, text: str, message: str) -> str:
    (repo / path).parent.mkdir(parents=True, exist_ok=True)
    (repo / path).write_text(text)
    git(repo, "add", path)
    git(repo, "commit", "-q", "-m", message)
    return git(repo, "rev-parse", "HEAD")


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
