"""Git helpers and constants of the pull-request tests: a user's checkout with a fix branch, snapshots."""

from __future__ import annotations

import hashlib
import os
import subprocess
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


def add_user_work(repo: Path) -> None:
    """Uncommitted and staged work in the user's checkout that no tool may touch."""
    (repo / "notes.txt").write_text("work in progress\n")
    (repo / "worker" / "imap.py").write_text("TIMEOUT = 45  # the user is experimenting\n")
    (repo / "staged.txt").write_text("staged\n")
    git(repo, "add", "staged.txt")


def bare_github_copy(tmp_path: Path, repo: Path) -> Path:
    """The repository on "GitHub": a bare repo that already has the user's main."""
    bare = tmp_path / "github" / "acme" / "worker.git"
    bare.parent.mkdir(parents=True)
    subprocess.run(
        ["git", "init", "-q", "--bare", "--initial-branch=main", str(bare)], check=True, env=GIT_ENV
    )
    git(repo, "push", "-q", str(bare), "refs/heads/main:refs/heads/main")
    return bare


def github_values(base_url: str, repo: Path, remote: Path, telemetry_db: Path) -> dict[str, object]:
    """Settings that send pull requests of repo `worker` to the fake GitHub at `base_url`."""
    return {
        "github_token": TOKEN,
        "github_base_url": base_url,
        "pr_provider": "github",
        "repos": [{"name": "worker", "path": str(repo), "github": "acme/worker", "remote": str(remote)}],
        "telemetry_db": telemetry_db,
    }


def commit_on(repo: Path, parent: str, files: dict[str, str], branch: str, message: str) -> str:
    """A commit of `files` over `parent` on `branch`, made with a private index: the checkout is untouched."""
    index = repo / ".git" / f"index-{branch.replace('/', '-')}"
    env = {**os.environ, "GIT_INDEX_FILE": str(index)}

    def run(*args: str, data: str | None = None) -> str:
        done = subprocess.run(
            ["git", *args], cwd=repo, env=env, input=data, capture_output=True, text=True, check=True
        )
        return done.stdout.strip()

    run("read-tree", parent)
    for path, text in files.items():
        blob = run("hash-object", "-w", "--stdin", data=text)
        run("update-index", "--add", "--cacheinfo", f"100644,{blob},{path}")
    tree = run("write-tree")
    commit = run(
        "-c",
        "user.name=t",
        "-c",
        "user.email=t@example.com",
        "commit-tree",
        tree,
        "-p",
        parent,
        "-m",
        message,
    )
    run("update-ref", f"refs/heads/{branch}", commit)
    index.unlink()
    return commit
