"""Pull-request fixtures: a user's git checkout with a fix branch, a bare "GitHub" copy, the fake API."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from pull_requests.fake_github_api import FakeGitHub
from pull_requests.git_setup import (
    BRANCH,
    TOKEN,
    UserRepo,
    add_fix_branch,
    add_user_work,
    bare_github_copy,
    commit_file,
    git,
    github_values,
)
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
    add_user_work(repo)
    return UserRepo(repo, BRANCH, head)


@pytest.fixture
def github_remote(tmp_path: Path, user_repo: UserRepo) -> Path:
    """The repository on "GitHub": a bare clone that already has main."""
    return bare_github_copy(tmp_path, user_repo.path)


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
        values: dict[str, Any] = {
            **github_values(fake_github.base_url, user_repo.path, github_remote, demo_db),
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
