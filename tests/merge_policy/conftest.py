"""Auto-merge fixtures: a user's checkout with three fix branches, local and fake-GitHub settings."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from merge_policy.merge_setup import FIXES, IMAP, TEST_IMAP, Checkout, make_branch, policy
from pull_requests.fake_github_api import FakeGitHub
from pull_requests.git_setup import (
    TOKEN,
    add_user_work,
    bare_github_copy,
    commit_file,
    git,
    github_values,
)
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
    add_user_work(repo)
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
    return bare_github_copy(tmp_path, checkout.path)


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
        values: dict[str, Any] = {
            **github_values(fake_github.base_url, checkout.path, github_remote, demo_db),
            "auto_merge": policy(),
        }
        return make_settings(**(values | overrides))

    return make
