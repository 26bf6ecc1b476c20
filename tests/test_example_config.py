"""examples/self-improver.toml loads as it ships, sets every section, and mentions every setting."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest
from self_improver.server.config import Settings, load_settings
from self_improver.tools.code.repo_config import DEFAULT_DENIED_PATHS

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "self-improver.toml"


@pytest.fixture
def settings(monkeypatch: pytest.MonkeyPatch) -> Settings:
    for name in list(os.environ):
        if name.startswith("SELF_IMPROVER_") or name == "GITHUB_TOKEN":
            monkeypatch.delenv(name)
    return load_settings(EXAMPLE)


def test_every_section_of_the_example_config_is_read(settings: Settings) -> None:
    assert settings.telemetry_db == "/var/lib/agents/agents.db"
    assert (settings.source_root, settings.repo_root) == (Path("/srv/agents"), Path("/home/me/code/agents"))
    # [telemetry] and [telemetry.columns]
    assert settings.telemetry.table == "agent_runs"
    assert settings.telemetry.failed_statuses == ["error", "timeout"]
    assert settings.telemetry.timestamp_format == "auto"
    assert settings.telemetry.columns == {
        "id": "run_id",
        "status": "state",
        "error": "error_message",
        "created_at": "started_at",
    }
    # [[repos]] with check_env
    (repo,) = settings.repos
    assert (repo.name, repo.path, repo.default_branch) == (
        "email-agent",
        Path("/home/me/code/email-agent"),
        "main",
    )
    assert repo.test_command == "python -m pytest -q" and repo.check_env == ["DJANGO_SETTINGS_MODULE"]
    assert repo.github == "me/email-agent" and repo.denied_paths == list(DEFAULT_DENIED_PATHS)
    # memory
    assert (settings.embedding, settings.memory_url) == ("auto", None)
    # [auto_merge]
    policy = settings.auto_merge
    assert (policy.enabled, policy.max_files, policy.max_changed_lines) == (False, 3, 60)
    assert policy.allowed_paths == ["email_agent/", "tests/"]
    # limits
    assert (settings.max_prs_per_run, settings.max_open_prs) == (3, 10)
    assert (settings.check_timeout_seconds, settings.query_timeout_seconds) == (600, 5.0)
    assert settings.agent_timeout_seconds == 1800 and settings.agent_cmd is None
    # sandbox and the rest
    assert settings.sandbox == "bwrap" and settings.pr_provider == "auto"
    assert (settings.timezone, settings.read_only, settings.redact_emails) == ("UTC", False, True)


def test_the_example_mentions_every_setting() -> None:
    text = EXAMPLE.read_text(encoding="utf-8")
    for name in Settings.model_fields:
        assert re.search(rf"^(# )?\[*{name}\b", text, re.MULTILINE), f"{name} is not in {EXAMPLE.name}"


def test_the_example_holds_no_secret() -> None:
    text = EXAMPLE.read_text(encoding="utf-8")
    assert not re.search(r"^(http_token|github_token)\s*=", text, re.MULTILINE)
    assert "ghp_" not in text and "sk-" not in text
