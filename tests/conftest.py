"""Shared fixtures: real SQLite files in temp dirs and servers reached through the SDK's client."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from mcp.server.mcpserver import MCPServer
from self_improver.examples.demo_telemetry import DEMO_ANCHOR, build_demo_db
from self_improver.server.app import build_server
from self_improver.server.config import Settings, load_settings


@pytest.fixture(autouse=True)
def _isolated_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """No test reads the developer's own config, data dir or tokens."""
    import os

    for key in list(os.environ):
        if key.startswith("SELF_IMPROVER_") or key in {"GITHUB_TOKEN"}:
            monkeypatch.delenv(key, raising=False)
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))


@pytest.fixture(scope="session")
def demo_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The seed article's night, built once per test session (tests only read it)."""
    return build_demo_db(tmp_path_factory.mktemp("demo") / "telemetry.db").path


@pytest.fixture
def make_settings(tmp_path: Path) -> Callable[..., Settings]:
    def make(**overrides: Any) -> Settings:
        overrides.setdefault("data_dir", tmp_path / "data")
        return load_settings(None, **overrides)

    return make


@pytest.fixture
def demo_settings(make_settings: Callable[..., Settings], demo_db: Path) -> Settings:
    return make_settings(telemetry_db=demo_db, now=DEMO_ANCHOR)


@pytest.fixture
def demo_server(demo_settings: Settings) -> MCPServer:
    """A server on the demo night; tests connect with `async with Client(demo_server) as client`.

    (An async fixture that yields a connected client would exit the SDK's task group from another task.)
    """
    return build_server(demo_settings)


@pytest.fixture(scope="session")
def pg_server():  # type: ignore[no-untyped-def]
    """A throwaway PostgreSQL cluster for the session (see tests/pg_server.py); never skipped in CI."""
    from pg_server import start_server, stop_server

    server, _, owner = start_server()
    try:
        yield server
    finally:
        stop_server(server, owner)
