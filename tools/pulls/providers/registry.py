"""Which pull-request providers exist: name -> factory. Start here to add a PR provider.

Adding a provider touches two files: its own module under `providers/` (a class implementing
`base.PullProvider`) and one `register(ProviderSpec(...))` call at the bottom of this one. Everything
else reads this registry: the `pr_provider` setting and a repo's `forge` accept the registered names,
`[providers.<name>] token/base_url` (env `SELF_IMPROVER_PROVIDERS__<NAME>__TOKEN`) configures it, and the
service picks it per repo (`pulls/provider_choice.py`).

Factories import their module lazily, so a provider's client library loads only when a repo uses it.
This module imports no provider module and nothing that imports `code/repo_config.py` at import time,
so RepoConfig can validate `forge` against it.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

from pydantic import BaseModel, ConfigDict, Field, SecretStr

if TYPE_CHECKING:
    from ..records import PullRecords
    from ..retry import RetryPolicy
    from .base import PullProvider


class ProviderSettings(BaseModel):
    """One `[providers.<name>]` table of the config (env: SELF_IMPROVER_PROVIDERS__<NAME>__TOKEN, ...)."""

    model_config = ConfigDict(extra="forbid")

    token: SecretStr | None = Field(None, description="API token; prefer the environment to the config file.")
    base_url: str | None = Field(None, description="API base URL; default: the provider's public service.")

    def token_text(self) -> str:
        return self.token.get_secret_value() if self.token is not None else ""


@dataclass(frozen=True)
class ProviderContext:
    """What a factory gets: its settings and the service's shared pieces."""

    settings: ProviderSettings
    data_dir: Path
    records: PullRecords
    now: Callable[[], datetime]
    retry: RetryPolicy
    timeout: int = 15
    seconds_between_writes: float | None = 1.0


@dataclass(frozen=True)
class ProviderSpec:
    name: str
    title: str  # in messages: "GitHub"
    create: Callable[[ProviderContext], PullProvider]
    needs_token: bool = True  # pr_provider "auto" picks it for a repo only when its token is set
    project_pattern: str | None = None  # what `project` must look like; None: repos name no project
    project_example: str = "owner/name"
    token_hint: str = ""  # where to set the token, for messages

    def token_help(self) -> str:
        return self.token_hint or f"SELF_IMPROVER_PROVIDERS__{self.name.upper()}__TOKEN"


_SPECS: dict[str, ProviderSpec] = {}


def register(spec: ProviderSpec) -> None:
    if not re.fullmatch(r"[a-z][a-z0-9_]*", spec.name) or spec.name == "auto":
        raise ValueError(
            f"provider name {spec.name!r} must be lower-case letters, digits or '_' (not 'auto')"
        )
    _SPECS[spec.name] = spec


def names() -> tuple[str, ...]:
    return tuple(_SPECS)


def spec(name: str) -> ProviderSpec:
    found = _SPECS.get(name)
    if found is None:
        raise ValueError(f"unknown pull-request provider {name!r}: use one of {', '.join(_SPECS)}")
    return found


def create(name: str, context: ProviderContext) -> PullProvider:
    return spec(name).create(context)


def check_project(forge: str, project: str | None) -> None:
    """Refuse (ValueError) a forge that is not registered, or a project path it cannot use."""
    chosen = spec(forge)
    if chosen.project_pattern is None:
        return
    if not project:
        raise ValueError(
            f'forge = "{forge}" needs project = "{chosen.project_example}": the {chosen.title} repository'
        )
    if not re.fullmatch(chosen.project_pattern, project):
        raise ValueError(
            f"project {project!r} is not a {chosen.title} project path such as {chosen.project_example!r}"
        )


# -- the built-in providers -------------------------------------------------------------------------------


def _local(context: ProviderContext) -> PullProvider:
    from .local import LocalProvider

    return LocalProvider(context.records, context.data_dir, context.now)


def _github(context: ProviderContext) -> PullProvider:
    from .github import GitHubProvider  # PyGithub loads only when GitHub is used

    return GitHubProvider(
        context.settings.token_text(),
        context.settings.base_url or "https://api.github.com",
        context.retry,
        timeout=context.timeout,
        seconds_between_writes=context.seconds_between_writes,
    )


def _gitlab(context: ProviderContext) -> PullProvider:
    from .gitlab import GitLabProvider  # python-gitlab loads only when GitLab is used

    return GitLabProvider(
        context.settings.token_text() or None,
        context.settings.base_url or "https://gitlab.com",
        data_dir=context.data_dir,
    )


OWNER_NAME = r"[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+"
register(ProviderSpec("local", "local", _local, needs_token=False))
register(
    ProviderSpec(
        "github",
        "GitHub",
        _github,
        project_pattern=OWNER_NAME,
        token_hint="GITHUB_TOKEN (or SELF_IMPROVER_GITHUB_TOKEN, or [providers.github] token)",
    )
)
register(
    ProviderSpec(
        "gitlab",
        "GitLab",
        _gitlab,
        project_pattern=r"[A-Za-z0-9_.-]+(/[A-Za-z0-9_.-]+)+",
        project_example="group/name",
        token_hint="SELF_IMPROVER_PROVIDERS__GITLAB__TOKEN (or [providers.gitlab] token)",
    )
)
