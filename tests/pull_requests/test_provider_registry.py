"""Providers behind the registry: per-repo forge config, per-provider settings, how a repo's provider is
chosen, and that a new provider needs only a registry entry and its own class."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from mcp import Client
from pull_requests.git_setup import TOKEN, UserRepo
from self_improver.server.app import build_server
from self_improver.server.config import Settings
from self_improver.tools.code.repo_config import RepoConfig
from self_improver.tools.pulls.models import PullRequest, StateFilter
from self_improver.tools.pulls.providers import registry
from self_improver.tools.pulls.providers.registry import ProviderContext, ProviderSpec
from self_improver.tools.pulls.service import PullRequestService
from self_improver.tools.support.problems import NotFoundError, ToolInputError, UnavailableError


def test_the_built_in_providers_are_registered() -> None:
    assert {"local", "github", "gitlab"} <= set(registry.names())
    with pytest.raises(ValueError, match="use one of local, github, gitlab"):
        registry.spec("bitbucket")
    with pytest.raises(ValueError, match="lower-case"):
        registry.register(ProviderSpec("Auto-Merge", "x", lambda c: None))  # type: ignore[arg-type,return-value]


def test_repo_forge_and_project_with_the_older_github_key(tmp_path: Path) -> None:
    old = RepoConfig(name="w", path=tmp_path, github="acme/worker")
    assert (old.forge, old.project, old.github) == ("github", "acme/worker", "acme/worker")
    lab = RepoConfig(name="w", path=tmp_path, forge="gitlab", project="acme/backend/worker")
    assert (lab.forge, lab.project, lab.github) == ("gitlab", "acme/backend/worker", None)
    assert RepoConfig(name="w", path=tmp_path, forge="local").github is None
    refused = {
        "contradicts": {"github": "acme/worker", "forge": "gitlab"},
        'needs project = "group/name"': {"forge": "gitlab"},
        "unknown pull-request provider 'svn'": {"forge": "svn", "project": "a/b"},
        "not a GitHub project path": {"github": "acme/backend/worker"},
        "needs a forge": {"project": "acme/worker"},
    }
    for message, values in refused.items():
        with pytest.raises(ValueError, match=message):
            RepoConfig(name="w", path=tmp_path, **values)


def test_provider_tables_env_vars_and_the_older_github_settings(
    make_settings: Callable[..., Settings], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("GITHUB_TOKEN", raising=False)
    monkeypatch.setenv("SELF_IMPROVER_PROVIDERS__GITLAB__TOKEN", "glpat-" + "x" * 20)
    monkeypatch.setenv("SELF_IMPROVER_PROVIDERS__GITLAB__BASE_URL", "https://gitlab.example.com")
    settings = make_settings(github_token="ghp_" + "o" * 36, github_base_url="https://ghe.example/api/v3")
    gitlab = settings.provider_settings("gitlab")
    assert gitlab.token_text() == "glpat-" + "x" * 20 and gitlab.base_url == "https://gitlab.example.com"
    github = settings.provider_settings("github")
    assert (github.token_text(), github.base_url) == ("ghp_" + "o" * 36, "https://ghe.example/api/v3")
    shown = settings.masked()
    assert shown["providers"]["gitlab"] == {"token": "********", "base_url": "https://gitlab.example.com"}
    assert "glpat-" not in json.dumps(shown) and "ghp_" not in json.dumps(shown)
    assert any("github_base_url is deprecated" in n for n in shown["deprecated"])
    assert any("github_token" in n for n in shown["deprecated"])

    newer = make_settings(
        providers={"github": {"token": "ghp_" + "n" * 36, "base_url": "https://ghe2/api/v3"}}
    )
    assert newer.provider_settings("github").token_text() == "ghp_" + "n" * 36
    assert newer.provider_settings("github").base_url == "https://ghe2/api/v3"
    assert "deprecated" not in newer.masked()
    monkeypatch.setenv("GITHUB_TOKEN", "ghp_" + "e" * 36)
    from_env = make_settings()
    assert from_env.provider_settings("github").token_text() == "ghp_" + "e" * 36
    assert "deprecated" not in from_env.masked()  # GITHUB_TOKEN in the environment stays the way

    with pytest.raises(ValueError, match="unknown pr_provider 'svn'"):
        make_settings(pr_provider="svn")
    with pytest.raises(ValueError, match="unknown pull-request provider 'svn'"):
        make_settings(providers={"svn": {"token": "x"}})


def _service(settings: Settings) -> PullRequestService:
    return PullRequestService(settings, lambda: None)  # type: ignore[arg-type,return-value]


def test_how_a_repo_s_provider_is_chosen(
    make_settings: Callable[..., Settings], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("GITHUB_TOKEN", raising=False)
    repos = [
        {"name": "hub", "path": str(tmp_path), "github": "acme/hub"},
        {"name": "lab", "path": str(tmp_path), "forge": "gitlab", "project": "acme/lab"},
        {"name": "plain", "path": str(tmp_path)},
    ]
    auto = _service(make_settings(repos=repos, providers={"gitlab": {"token": "glpat-abc"}}))
    chosen = {r.name: auto.providers.name_for(r) for r in auto.settings.repos}
    assert chosen == {"hub": "local", "lab": "gitlab", "plain": "local"}  # no GitHub token: hub stays local
    assert [r.name for r in auto.providers.served(auto.local)] == ["hub", "lab", "plain"]

    forced = _service(make_settings(repos=repos, pr_provider="github"))
    with pytest.raises(UnavailableError, match="GITHUB_TOKEN"):
        forced.providers.name_for(forced.repo_config("hub"))
    forced = _service(make_settings(repos=repos, pr_provider="github", github_token="ghp_" + "t" * 36))
    assert forced.providers.name_for(forced.repo_config("hub")) == "github"
    with pytest.raises(ToolInputError, match="repo 'lab' has no `forge = \"github\"`"):
        forced.providers.name_for(forced.repo_config("lab"))
    assert [r.name for r in forced.providers.listed(forced.settings.repos)] == ["hub"]
    nothing = _service(make_settings(repos=repos[1:], pr_provider="gitlab"))
    assert [r.name for r in nothing.providers.listed(nothing.settings.repos)] == ["lab"]
    with pytest.raises(NotFoundError, match="no configured repo has"):
        _service(
            make_settings(repos=repos[2:], pr_provider="gitlab", providers={"gitlab": {"token": "t"}})
        )._repos(None)


class NotesProvider:
    """A provider that exists only here: what adding one takes is this class and a registry entry."""

    name = "notes"
    keeps_own_records = False

    def __init__(self, context: ProviderContext):
        self.token = context.settings.token_text()

    def page(
        self, repo: RepoConfig, state: StateFilter, before_number: int | None, limit: int
    ) -> list[PullRequest]:
        pull = PullRequest(
            repo=repo.name,
            number=7,
            title=f"from {repo.project} with {self.token}",
            status="open",
            draft=False,
            checks="passing",
            signature="3b8fe4199281",
            url="notes://7",
            head="self-improver/x",
            base="main",
            labels=["self-improver"],
            created_at="2026-01-01T00:00:00Z",
            updated_at="2026-01-01T00:00:00Z",
        )
        return [pull][:limit] if before_number is None or before_number > 7 else []

    def close(self) -> None:
        pass


async def test_a_new_provider_needs_only_its_class_and_a_registry_entry(
    make_settings: Callable[..., Settings], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    spec = ProviderSpec("notes", "Notes", NotesProvider, project_pattern=r"[a-z]+/[a-z]+")  # type: ignore[arg-type]
    monkeypatch.setitem(registry._SPECS, "notes", spec)
    settings = make_settings(
        repos=[{"name": "w", "path": str(tmp_path), "forge": "notes", "project": "team/w"}],
        providers={"notes": {"token": "n0tes"}},
    )
    service = _service(settings)
    listed = await service.list_pull_requests()
    assert [(p.number, p.title) for p in listed.pull_requests] == [(7, "from team/w with n0tes")]
    assert isinstance(service.provider_for(settings.repos[0]), NotesProvider)
    service.close()


async def test_the_newer_config_keys_reach_github(
    github_settings: Callable[..., Settings], fake_github: Any, user_repo: UserRepo, github_remote: Path
) -> None:
    settings = github_settings(
        github_token=None,
        github_base_url="https://unused.example/api/v3",
        providers={"github": {"token": TOKEN, "base_url": fake_github.base_url}},
        repos=[
            {
                "name": "worker",
                "path": str(user_repo.path),
                "forge": "github",
                "project": "acme/worker",
                "remote": str(github_remote),
            }
        ],
    )
    fake_github.add_pull("acme/worker", "someone/feature", "9" * 40, "A person's change", "no marker", [])
    async with Client(build_server(settings)) as client:
        listed = await client.call_tool("list_pull_requests", {"state": "all"})
    assert not listed.is_error and fake_github.count("GET", r"/repos/acme/worker/issues") >= 1


def test_the_policy_loads_without_git_providers_or_the_merger() -> None:
    code = (
        "import sys, self_improver.tools.pulls.merge_policy as p\n"
        "heavy = ['scratch_repo', 'merger', 'records', 'service', 'pulls.git', 'providers.local', 'github']\n"
        "print([m for m in sys.modules if m.startswith('self_improver.tools.pulls') and any(h in m for h in heavy)])"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"
