"""Nightly-run fixtures: settings on the demo night in a fresh data dir, and a git repo of the agents' code."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from nightly.night_helpers import commit, git
from self_improver.examples.demo_telemetry import DEMO_ANCHOR
from self_improver.server.config import Settings


@pytest.fixture
def night_settings(make_settings: Callable[..., Settings], demo_db: Path) -> Callable[..., Settings]:
    """Settings on the demo night (00:17 UTC, Feb 16 2026), each test in its own data dir."""

    def make(**overrides: Any) -> Settings:
        return make_settings(**({"telemetry_db": demo_db, "now": DEMO_ANCHOR} | overrides))

    return make


@pytest.fixture
def worker_repo(tmp_path: Path) -> Path:
    """The agents' code: a git repo with main and one commit."""
    repo = tmp_path / "worker"
    repo.mkdir()
    git(repo, "init", "-q", "--initial-branch=main")
    commit(repo, "worker/gateway.py", "TIMEOUT = 30\n", "initial")
    return repo
