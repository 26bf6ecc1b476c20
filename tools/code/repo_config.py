"""One `[[repos]]` table of the TOML config: a repository the server may read and fix.

Tools take the repo *name*, never a free path, so a model can only reach what the user configured.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from pydantic import BaseModel, Field, field_validator, model_validator

DEFAULT_DENIED_PATHS = (
    ".git/",
    ".github/workflows/",
    "*.pem",
    "*.key",
    "id_rsa*",
    "id_ed25519*",
    ".env",
    ".env.*",
    "*secret*",
    "*credentials*",
    ".netrc",
    ".pypirc",
)

SERVER_SECRETS = frozenset({"GITHUB_TOKEN", "GH_TOKEN"})


class RepoConfig(BaseModel):
    name: str = Field(min_length=1, max_length=100, pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]*$")
    path: Path = Field(description="The user's local checkout; never modified, fixes go to worktrees.")
    default_branch: str = Field(
        "main",
        pattern=r"^[A-Za-z0-9._/-]+$",
        description="Local branch fixes start from; never changed, never checked out by the server.",
    )
    test_command: str | None = Field(None, description="Shell command run by run_checks in the fix worktree.")
    check_env: list[str] = Field(
        default_factory=list,
        max_length=100,
        description="Names of environment variables the test command gets from the server's environment "
        '(e.g. ["DJANGO_SETTINGS_MODULE"]); nothing else reaches it beyond PATH, HOME, TMPDIR, locale and TERM.',
    )
    forge: str | None = Field(
        None,
        description='Where its pull requests go: "github", "gitlab" or "local" (any name registered in '
        'tools/pulls/providers/registry.py); unset: local. `github = "owner/name"` is short for '
        'forge = "github" with that project.',
    )
    project: str | None = Field(
        None, description='The repository on the forge: "owner/name" (GitLab: "group/subgroup/name").'
    )
    remote: str | None = Field(
        None,
        description="Git remote URL or path the local provider pushes to; default a bare repo in the data dir.",
    )
    denied_paths: list[str] = Field(
        default_factory=lambda: list(DEFAULT_DENIED_PATHS),
        description="Glob patterns (relative to the repo root) no edit may touch.",
    )

    @model_validator(mode="before")
    @classmethod
    def _github_shorthand(cls, data: Any) -> Any:
        """`github = "owner/name"` (the older key) is forge = "github" with that project."""
        if not isinstance(data, dict) or "github" not in data:
            return data
        data = dict(data)
        alias = data.pop("github")
        if alias is None:
            return data
        if data.get("forge") not in (None, "github") or data.get("project") not in (None, alias):
            raise ValueError(
                f'github = "{alias}" says forge = "github" with project = "{alias}", which contradicts '
                f"forge = {data.get('forge')!r} / project = {data.get('project')!r}: keep one of them"
            )
        return {**data, "forge": "github", "project": alias}

    @model_validator(mode="after")
    def _known_forge(self) -> RepoConfig:
        if self.forge is not None:
            from ..pulls.providers.registry import check_project  # no import cycle: loaded on validation

            check_project(self.forge, self.project)
        elif self.project is not None:
            raise ValueError(f'project = "{self.project}" needs a forge, e.g. forge = "github"')
        return self

    @property
    def github(self) -> str | None:
        """The GitHub "owner/name" when the repo's forge is GitHub."""
        return self.project if self.forge == "github" else None

    @field_validator("default_branch")
    @classmethod
    def _plain_branch_name(cls, value: str) -> str:
        if (
            value.startswith(("-", "/"))
            or value.endswith(("/", ".", ".lock"))
            or ".." in value
            or "//" in value
        ):
            raise ValueError(f"default_branch {value!r} is not a plain local branch name such as 'main'")
        return value

    @field_validator("check_env")
    @classmethod
    def _plain_variable_names(cls, names: list[str]) -> list[str]:
        for name in names:
            if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]{0,200}", name):
                raise ValueError(
                    f"check_env entry {name!r} is not an environment variable name such as 'DEBUG'"
                )
            if name.upper().startswith("SELF_IMPROVER_") or name.upper() in SERVER_SECRETS:
                raise ValueError(
                    f"check_env entry {name!r} is one of the server's own secrets or settings; a test must not "
                    "get it: remove it (give tests a separate, test-only variable instead)"
                )
        return names

    @field_validator("path")
    @classmethod
    def _expand_user(cls, value: Path) -> Path:
        return value.expanduser()
