"""Auto-merge fixtures: a user's checkout with three fix branches, local and fake-GitHub settings."""

from __future__ import annotations

import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from merge_policy.merge_setup import FIXES, IMAP, TEST_IMAP, Checkout, make_branch, policy
from pull_requests.fake_github_api import FakeGitHub
from pull_requests.git_setup import GIT_ENV, TOKEN, commit_file, git
from self_improver.server.config import Settings


@pytest.fixture
def checkout(tmp_path: Path) -> Checkout:
    """main with code and a test, one branch per fix, and uncommitted work the tools must not touch."""
    repo = tmp_path / "worker"
    repo.mkdir()
    git(repo, "init", "-q", "--initial-branch=main")
    (repo / "pyproject.toml").write_text('[project]\nname = "worker"\n')
    (repo / "tests").mkdir()
    (repo / "tests" / "test_imap.py").write_text(TEST_IMAP)
    git(repo, "add", "pyproject.toml", "tests/test_imap.py")
    commit_file(repo, "worker/imap.py", IMAP, "initial")
    fixes = {name: make_branch(repo, name, sig, files) for name, (sig, files) in FIXES.items()}
    (repo / "notes.txt").write_text("work in progress\n")
    (repo / "worker" / "imap.py").write_text("TIMEOUT = 45  # the user is experimenting\n")
    (repo / "staged.txt").write_text("staged\n")
    git(repo, "add", "staged.txt")
    return Checkout(repo, fixes)


@pytest.fixture
def local_settings(
    make_settings: Callable[..., Settings], checkout: Checkout, demo_db: Path
) -> Callable[..., Settings]:
    def make(**overrides: Any) -> Settings:
        values: dict[str, Any] = {
            "repos": [{"name": "worker", "path": str(checkout.path)}],
            "telemetry_db": demo_db,
            "pr_provider": "local",
            "max_prs_per_run": 10,
            "auto_merge": policy(),
        }
        return make_settings(**(values | overrides))

    return make


@pytest.fixture
def github_remote(tmp_path: Path, checkout: Checkout) -> Path:
    bare = tmp_path / "github" / "acme" / "worker.git"
    bare.parent.mkdir(parents=True)
    subprocess.run(
        ["git", "init", "-q", "--bare", "--initial-branch=main", str(bare)], check=True, env=GIT_ENV
    )
    git(checkout.path, "push", "-q", str(bare), "refs/heads/main:refs/heads/main")
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
    checkout: Checkout,
    github_remote: Path,
    demo_db: Path,
) -> Callable[..., Settings]:
    def make(**overrides: Any) -> Settings:
        repo = {
            "name": "worker",
            "path": str(checkout.path),
            "github": "acme/worker",
            "remote": str(github_remote),
        }
        values: dict[str, Any] = {
            "github_token": TOKEN,
            "github_base_url": fake_github.base_url,
            "pr_provider": "github",
            "repos": [repo],
            "telemetry_db": demo_db,
            "auto_merge": policy(),
        }
        return make_settings(**(values | overrides))

    return make
