"""One settings model: defaults < TOML file (`--config`) < `SELF_IMPROVER_*` env vars < CLI flags.

Later features add their own fields here (memory, repositories, GitHub); every secret is a
`SecretStr`, so `self-improver config show` and logs print it masked.
"""

from __future__ import annotations

import os
import tomllib
from datetime import datetime
from pathlib import Path
from typing import Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import AliasChoices, BaseModel, Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, InitSettingsSource, PydanticBaseSettingsSource, SettingsConfigDict

from ..tools.code.repo_config import RepoConfig
from ..tools.pulls.merge_config import AutoMergePolicy
from ..tools.pulls.providers import registry as pr_providers
from ..tools.pulls.providers.registry import ProviderSettings
from ..tools.telemetry.locations import is_postgres, masked_url
from ..tools.telemetry.mapping import TelemetryMapping


def default_data_dir() -> Path:
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "self-improver"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="SELF_IMPROVER_", env_nested_delimiter="__", extra="forbid", validate_default=True
    )

    data_dir: Path = Field(
        default_factory=default_data_dir, description="Where self-improver keeps its own state."
    )
    telemetry_db: str | None = Field(
        None,
        description="SQLite file or postgresql://user@host:port/db URL of the task runs; default "
        "data_dir/telemetry.db. A password may be in the URL, PGPASSWORD or ~/.pgpass.",
    )
    telemetry: TelemetryMapping = Field(
        default_factory=TelemetryMapping,
        description="[telemetry] table: your table, column mapping, failed statuses, timestamp format.",
    )
    timezone: str = Field("UTC", description="IANA timezone that decides where a day starts and ends.")
    now: datetime | None = Field(None, description="Pin the clock (demos, replays); default: the real time.")
    query_timeout_seconds: float = Field(5.0, gt=0, le=300, description="Time limit of query_telemetry.")
    source_root: Path | None = Field(
        None, description="Where the agents' code lives in production tracebacks; frames under it are in-app."
    )
    repo_root: Path | None = Field(
        None, description="Local checkout of the agents' code; error_cluster reads source lines from it."
    )
    redact_emails: bool = Field(True, description="Replace email addresses in returned telemetry text.")
    toolsets: list[str] | None = Field(None, description="Toolsets to expose; default all.")
    read_only: bool = Field(False, description="Expose only tools that change nothing.")
    dry_run: bool = Field(
        False,
        description="Writing tools (apply_patch, open_pull_request, merges, verdict comments) only say what "
        "they would do; nothing changes in your repositories or on the forge.",
    )
    http_token: SecretStr | None = Field(None, description="Bearer token required by the HTTP transport.")
    log_level: str = Field("INFO", description="Log level on stderr.")
    memory_url: str | None = Field(
        None, description="chroma server (http://host:port) for memory; default embedded."
    )
    embedding: Literal["auto", "offline", "minilm"] = Field(
        "auto",
        description="Memory embedding; auto: MiniLM when its packaged weights are installed, else offline.",
    )

    repos: list[RepoConfig] = Field(default_factory=list, description="[[repos]] tables of the TOML config.")
    providers: dict[str, ProviderSettings] = Field(
        default_factory=dict,
        description="[providers.<name>] tables (github, gitlab): token and base_url of each pull-request "
        "provider; env SELF_IMPROVER_PROVIDERS__GITLAB__TOKEN etc. Tokens belong in the environment.",
    )
    github_token: SecretStr | None = Field(
        None,
        validation_alias=AliasChoices("SELF_IMPROVER_GITHUB_TOKEN", "GITHUB_TOKEN", "github_token"),
        description="GitHub token from GITHUB_TOKEN / SELF_IMPROVER_GITHUB_TOKEN; in a file, deprecated: "
        "use [providers.github] token.",
    )
    github_base_url: str = Field(
        "https://api.github.com",
        description="Deprecated: use [providers.github] base_url. GitHub (Enterprise) REST API base URL.",
    )
    pr_provider: str = Field(
        "auto",
        description='Where pull requests go: "auto" (each repo to its forge when that provider has a token, '
        'else local), "local", or a provider name ("github", "gitlab") for every repo.',
    )
    max_prs_per_run: int = Field(3, ge=0, le=50, description="Most pull requests one nightly run may open.")
    max_open_prs: int = Field(10, ge=0, le=200, description="Most open self-improver pull requests at once.")
    check_timeout_seconds: float = Field(600, gt=0, le=7200, description="Time limit of run_checks.")
    sandbox: Literal["bwrap", "off"] = Field(
        "bwrap",
        description='Where run_checks runs model-written code: "bwrap" (bubblewrap: no network, no host '
        'processes, worktree-only writes; refuses when bwrap cannot start) or "off" (unconfined, at your risk).',
    )
    agent_cmd: str | None = Field(
        None,
        description="Host agent command `self-improver nightly` starts after its own steps, e.g. "
        '"claude -p --mcp-config {mcp_config}"; {prompt_file} and {mcp_config} are replaced, the prompt is stdin.',
    )
    agent_timeout_seconds: float = Field(
        1800, gt=0, le=86400, description="Time limit of the host agent; its process group is ended then."
    )
    auto_merge: AutoMergePolicy = Field(
        default_factory=AutoMergePolicy,
        description="[auto_merge] table: when merge_pull_request may merge (enabled = false by default).",
    )

    mute_days: int = Field(
        30, ge=1, le=365, description="Days a signature stays muted after a reviewer calls it noise."
    )
    notify_url: SecretStr | None = Field(
        None,
        description="Webhook the nightly run POSTs a short JSON summary to (Slack-compatible `text`); "
        "a failing webhook never fails the run.",
    )

    @field_validator("timezone")
    @classmethod
    def _known_timezone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(
                f"unknown timezone {value!r}: use an IANA name such as 'UTC' or 'Europe/Berlin'"
            ) from exc
        return value

    @field_validator("pr_provider")
    @classmethod
    def _known_provider(cls, value: str) -> str:
        if value != "auto" and value not in pr_providers.names():
            raise ValueError(
                f"unknown pr_provider {value!r}: use 'auto' or one of {', '.join(pr_providers.names())}"
            )
        return value

    @field_validator("providers")
    @classmethod
    def _known_providers(cls, value: dict[str, ProviderSettings]) -> dict[str, ProviderSettings]:
        for name in value:
            pr_providers.spec(name)  # ValueError naming the known ones
        return value

    def provider_settings(self, name: str) -> ProviderSettings:
        """`[providers.<name>]`; for github the older github_token / github_base_url fill what it leaves unset."""
        table = self.providers.get(name) or ProviderSettings()
        if name != "github":
            return table
        return ProviderSettings(
            token=table.token or self.github_token,
            base_url=table.base_url or self.github_base_url,
        )

    def deprecated(self) -> list[str]:
        """Older settings still in use, each with its replacement (shown by `config show`)."""
        notes = []
        if "github_base_url" in self.model_fields_set:
            notes.append("github_base_url is deprecated: use [providers.github] base_url")
        token = self.github_token.get_secret_value() if self.github_token else ""
        if token and token != os.environ.get("GITHUB_TOKEN"):
            notes.append(
                "github_token / SELF_IMPROVER_GITHUB_TOKEN is deprecated: use GITHUB_TOKEN or "
                "SELF_IMPROVER_PROVIDERS__GITHUB__TOKEN ([providers.github] token)"
            )
        return notes

    @field_validator("toolsets", mode="before")
    @classmethod
    def _comma_list(cls, value: Any) -> Any:
        if isinstance(value, str):
            return [part.strip() for part in value.split(",") if part.strip()]
        return value

    @field_validator("telemetry_db", mode="before")
    @classmethod
    def _location_text(cls, value: Any) -> Any:
        return str(value) if isinstance(value, Path) else value

    @property
    def telemetry_location(self) -> str:
        """Where the task runs are read: a PostgreSQL URL or a SQLite path."""
        return self.telemetry_db or str(self.data_dir / "telemetry.db")

    @property
    def telemetry_is_postgres(self) -> bool:
        return is_postgres(self.telemetry_location)

    @property
    def telemetry_path(self) -> Path:
        """The SQLite file (for the commands that write our own store; not for a PostgreSQL URL)."""
        return Path(self.telemetry_location)

    def masked(self) -> dict[str, Any]:
        """The effective settings as JSON-ready values, secrets replaced by '********'."""
        shown: dict[str, Any] = {name: _shown(value) for name, value in self}
        if notes := self.deprecated():
            shown["deprecated"] = notes
        shown["telemetry_db"] = masked_url(self.telemetry_db) if self.telemetry_db else None
        shown["telemetry_location"] = masked_url(self.telemetry_location)
        return shown


def _shown(value: Any) -> Any:
    """One setting as a JSON-ready value, secrets (also inside tables) replaced by '********'."""
    if isinstance(value, SecretStr):
        return "********" if value.get_secret_value() else ""
    if isinstance(value, Path | datetime):
        return str(value)
    if isinstance(value, BaseModel):
        dumped = value.model_dump(mode="json")
        for name in type(value).model_fields:
            inner = getattr(value, name)
            if isinstance(inner, SecretStr | BaseModel | dict | list):
                dumped[name] = _shown(inner)
        return dumped
    if isinstance(value, list):
        return [_shown(v) for v in value]
    if isinstance(value, dict):
        return {k: _shown(v) for k, v in value.items()}
    return value


def load_settings(config_file: Path | str | None = None, **overrides: Any) -> Settings:
    """Build the effective settings; `overrides` are CLI flags (None means 'not given')."""
    path = config_file or os.environ.get("SELF_IMPROVER_CONFIG")
    file_values: dict[str, Any] = {}
    if path:
        try:
            with open(path, "rb") as handle:
                file_values = tomllib.load(handle)
        except FileNotFoundError as exc:
            raise SystemExit(f"config file not found: {path}") from exc
        except tomllib.TOMLDecodeError as exc:
            raise SystemExit(f"config file {path} is not valid TOML: {exc}") from exc
        file_values = file_values.get("self_improver", file_values)
    flags = {k: v for k, v in overrides.items() if v is not None}

    class _Layered(Settings):
        @classmethod
        def settings_customise_sources(
            cls,
            settings_cls: type[BaseSettings],
            init_settings: PydanticBaseSettingsSource,
            env_settings: PydanticBaseSettingsSource,
            dotenv_settings: PydanticBaseSettingsSource,
            file_secret_settings: PydanticBaseSettingsSource,
        ) -> tuple[PydanticBaseSettingsSource, ...]:
            return init_settings, env_settings, InitSettingsSource(settings_cls, init_kwargs=file_values)

    return _Layered(**flags)
