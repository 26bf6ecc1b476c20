"""The MCP config a host agent needs to start our server: `mcpServers` as Claude Code and Claude
Desktop read it, for `self-improver serve` with the nightly run's own settings.

Paths and the clock go in as flags; other settings that differ from their defaults go in as
`SELF_IMPROVER_*` variables, so the served server sees exactly what the nightly run saw. Secrets are
never written: the host inherits them from the environment (or the config file names them).
"""

from __future__ import annotations

import json
import sys
from datetime import datetime
from pathlib import Path
from typing import Any

from pydantic import BaseModel, SecretStr

from ..telemetry.locations import is_postgres, masked_url

SERVER_NAME = "self-improver"
_AS_FLAGS = {"data_dir", "telemetry_db", "timezone", "now"}
_NOT_FOR_SERVE = {"agent_cmd", "agent_timeout_seconds"}


def serve_command() -> tuple[str, list[str]]:
    """This installation's `self-improver` script, or `python -m` of its CLI when there is none."""
    script = Path(sys.executable).with_name("self-improver")
    if script.is_file():
        return str(script), []
    return sys.executable, ["-m", "self_improver.server.cli"]


def settings_env(settings: BaseModel) -> dict[str, str]:
    """Non-secret settings that differ from their defaults, as environment variables."""
    env: dict[str, str] = {}
    for name, info in type(settings).model_fields.items():
        if name in _AS_FLAGS or name in _NOT_FOR_SERVE:
            continue
        value = getattr(settings, name)
        if isinstance(value, SecretStr) or value == info.get_default(call_default_factory=True):
            continue
        env[f"SELF_IMPROVER_{name.upper()}"] = _env_text(value)
    return env


def _env_text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, BaseModel):
        return value.model_dump_json()
    if isinstance(value, list):
        return json.dumps(
            [v.model_dump(mode="json") if isinstance(v, BaseModel) else v for v in value], default=str
        )
    if isinstance(value, dict):
        return json.dumps(value, default=str)
    return str(value)


def server_entry(
    settings: Any, config_file: Path | None = None, pinned_now: datetime | None = None
) -> dict[str, Any]:
    """One `mcpServers` entry that starts `self-improver serve` over stdio."""
    command, prefix = serve_command()
    args = [
        *prefix,
        "serve",
        "--data-dir",
        str(Path(settings.data_dir).resolve()),
        "--telemetry-db",
        _location(settings.telemetry_location),
        "--timezone",
        settings.timezone,
    ]
    if config_file is not None:
        args += ["--config", str(Path(config_file).resolve())]
    if pinned_now is not None:
        args += ["--now", pinned_now.isoformat()]
    return {"type": "stdio", "command": command, "args": args, "env": settings_env(settings)}


def mcp_config(entry: dict[str, Any]) -> dict[str, Any]:
    return {"mcpServers": {SERVER_NAME: entry}}


def _location(location: str) -> str:
    """A PostgreSQL URL as it is (its password stays out of the file: use PGPASSWORD or ~/.pgpass),
    a SQLite path made absolute."""
    if is_postgres(location):
        return masked_url(location) if "****" not in masked_url(location) else _without_password(location)
    return str(Path(location).resolve())


def _without_password(location: str) -> str:
    from urllib.parse import urlsplit, urlunsplit

    parts = urlsplit(location)
    host = parts.netloc.rsplit("@", 1)[-1]
    return urlunsplit(parts._replace(netloc=f"{parts.username}@{host}" if parts.username else host))
