"""Pull-request fixtures: a user's git checkout with a fix branch, a bare "GitHub" copy, the fake API."""

from __future__ import annotations

import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from pull_requests.fake_github_api import FakeGitHub
from pull_requests.git_setup import BRANCH, GIT_ENV, TOKEN, UserRepo, add_fix_branch, commit_file, git
from self_improver.server.config import Settings


@pytest.fixture
def user_repo(tmp_path: Path) -> UserRepo:
    """The user's checkout: main, a committed fix branch, and uncommitted work the tools must not touch."""
    repo = tmp_path / "worker"
    repo.mkdir()
    git(repo, "init", "-q", "--initial-branch=main")
    commit_file(repo, "worker/imap.py", "TIMEOUT = 30\n\n\ndef login():\n    return TIMEOUT\n", "initial")
    head = add_fix_branch(
        repo, BRANCH, "worker/imap.py", "TIMEOUT = 60\n\n\ndef login():\n    return TIMEOUT\n"
    )
    (repo / "notes.txt").write_text("work in progress\n")
    (repo / "worker" / "imap.py").write_text("TIMEOUT = 45  # the user is experimenting\n")
    (repo / "staged.txt").write_text("staged\n")
    git(repo, "add", "staged.txt")
    return UserRepo(repo, BRANCH, head)


@pytest.fixture
def github_remote(tmp_path: Path, user_repo: UserRepo) -> Path:
    """The repository on "GitHub": a bare clone that already has main."""
    bare = tmp_path / "github" / "acme" / "worker.git"
    bare.parent.mkdir(parents=True)
    subprocess.run(
        ["git", "init", "-q", "--bare", "--initial-branch=main", str(bare)], check=True, env=GIT_ENV
    )
    git(user_repo.path, "push", "-q", str(bare), "refs/heads/main:refs/heads/main")
    return bare


@pytest.fixture
def fake_github(github_remote: Path) -> Iterator[FakeGitHub]:
    with FakeGitHub(TOKEN) as fake:
        fake.add_repo("acme/worker", github_remote)
        yield fake


@pytest.fixture
def github_settings(
    make_settings: Callable[..., Settings],
    fake_github: FakeGitHub,
    user_repo: UserRepo,
    github_remote: Path,
    demo_db: Path,
) -> Callable[..., Settings]:
    def make(**overrides: Any) -> Settings:
        repo = {
            "name": "worker",
            "path": str(user_repo.path),
            "github": "acme/worker",
            "remote": str(github_remote),
        }
        values: dict[str, Any] = {
            "github_token": TOKEN,
            "github_base_url": fake_github.base_url,
            "pr_provider": "github",
            "repos": [repo],
            "telemetry_db": demo_db,
        }
        return make_settings(**(values | overrides))

    return make


@pytest.fixture
def local_settings(
    make_settings: Callable[..., Settings], user_repo: UserRepo, demo_db: Path
) -> Callable[..., Settings]:
    def make(**overrides: Any) -> Settings:
        values: dict[str, Any] = {
            "repos": [{"name": "worker", "path": str(user_repo.path)}],
            "telemetry_db": demo_db,
        }
        return make_settings(**(values | overrides))

    return make
