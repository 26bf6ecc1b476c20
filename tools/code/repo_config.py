"""One `[[repos]]` table of the TOML config: a repository the server may read and fix.

Tools take the repo *name*, never a free path, so a model can only reach what the user configured.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, Field, field_validator

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


class RepoConfig(BaseModel):
    name: str = Field(min_length=1, max_length=100, pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]*$")
    path: Path = Field(description="The user's local checkout; never modified, fixes go to worktrees.")
    default_branch: str = Field(
        "main",
        pattern=r"^[A-Za-z0-9._/-]+$",
        description="Local branch fixes start from; never changed, never checked out by the server.",
    )
    test_command: str | None = Field(None, description="Shell command run by run_checks in the fix worktree.")
    github: str | None = Field(None, pattern=r"^[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+$", description="owner/name")
    remote: str | None = Field(
        None,
        description="Git remote URL or path the local provider pushes to; default a bare repo in the data dir.",
    )
    denied_paths: list[str] = Field(
        default_factory=lambda: list(DEFAULT_DENIED_PATHS),
        description="Glob patterns (relative to the repo root) no edit may touch.",
    )

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

    @field_validator("path")
    @classmethod
    def _expand_user(cls, value: Path) -> Path:
        return value.expanduser()
