"""Which provider serves a repo, and the provider objects themselves (made once, closed with the service).

`pr_provider` decides: "local" keeps every pull request local; a registered name (e.g. "github")
sends every repo there (a repo that names no project on it is refused); "auto" sends a repo to its own
`forge` when that provider's token is configured, else keeps it local. Providers come from
`providers/registry.py`; nothing here knows a particular one.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Protocol

from ..code.repo_config import RepoConfig
from ..support.problems import NotFoundError, ToolInputError, UnavailableError
from .providers import registry
from .providers.base import PullProvider
from .providers.registry import ProviderContext, ProviderSettings

LOCAL = "local"


class ProviderSettingsSource(Protocol):
    """The settings this module reads (server.config.Settings has them)."""

    @property
    def pr_provider(self) -> str: ...

    @property
    def repos(self) -> list[RepoConfig]: ...

    def provider_settings(self, name: str) -> ProviderSettings: ...


class ProviderChoice:
    """Thread-safe: the merger asks for providers from a worker thread."""

    def __init__(
        self,
        settings: ProviderSettingsSource,
        local: PullProvider,
        context: Callable[[ProviderSettings], ProviderContext],
    ):
        self.settings = settings
        self._context = context
        self._providers: dict[str, PullProvider] = {LOCAL: local}
        self._lock = threading.Lock()

    def _has_token(self, name: str) -> bool:
        return bool(self.settings.provider_settings(name).token_text())

    def name_for(self, repo: RepoConfig) -> str:
        """The provider `repo`'s pull requests go to; raises when pr_provider forces one that cannot serve."""
        mode = self.settings.pr_provider
        if mode == LOCAL:
            return LOCAL
        if mode == "auto":
            forge = repo.forge or LOCAL
            if forge == LOCAL:
                return LOCAL
            spec = registry.spec(forge)
            return forge if not spec.needs_token or self._has_token(forge) else LOCAL
        spec = registry.spec(mode)
        if spec.needs_token and not self._has_token(mode):
            raise UnavailableError(
                f"pr_provider is {mode!r} but no {spec.title} token is configured: set {spec.token_help()} "
                f"in the server's environment and restart it, or set pr_provider = 'local'"
            )
        if spec.project_pattern is not None and not (repo.forge == mode and repo.project):
            raise ToolInputError(
                f"repo {repo.name!r} has no {_project_key(mode, spec.project_example)} in its [[repos]] "
                "table: add it, or set pr_provider = 'local' to keep pull requests local"
            )
        return mode

    def for_repo(self, repo: RepoConfig) -> PullProvider:
        name = self.name_for(repo)
        with self._lock:
            provider = self._providers.get(name)
            if provider is None:
                provider = registry.create(name, self._context(self.settings.provider_settings(name)))
                self._providers[name] = provider
        return provider

    def served(self, provider: PullProvider) -> list[RepoConfig]:
        """The configured repos whose pull requests `provider` may hold (its open ones are counted over
        them): every repo for a provider without projects (local), else those naming a project on it."""
        if registry.spec(provider.name).project_pattern is None:
            return list(self.settings.repos)
        return [r for r in self.settings.repos if r.forge == provider.name and r.project]

    def listed(self, repos: list[RepoConfig]) -> list[RepoConfig]:
        """`repos` that can have pull requests at all: with a forced forge, those naming a project on it."""
        mode = self.settings.pr_provider
        if mode in ("auto", LOCAL):
            return repos
        spec = registry.spec(mode)
        if spec.project_pattern is None:
            return repos
        kept = [r for r in repos if r.forge == mode and r.project]
        if not kept:
            raise NotFoundError(
                f"pr_provider is {mode!r} but no configured repo has {_project_key(mode, spec.project_example)}: "
                "add it to the [[repos]] tables, or set pr_provider = 'local'"
            )
        return kept

    def close(self) -> None:
        with self._lock:
            providers = list(self._providers.values())
            self._providers = {LOCAL: self._providers[LOCAL]}
        for provider in providers:
            provider.close()


def _project_key(forge: str, example: str) -> str:
    return f'`forge = "{forge}"` with `project = "{example}"`'
