"""Fixtures: a running `self-improver collect`, and top_errors over a store as a host calls it."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from mcp import Client
from mcp_calls import call
from otlp.collector import Collector, start_collector, stop_collector
from otlp.planted_spans import NOW
from self_improver.server.app import build_server
from self_improver.server.config import load_settings


@pytest.fixture
def collector(tmp_path: Path) -> Iterator[Collector]:
    started = start_collector(tmp_path)
    try:
        yield started
    finally:
        stop_collector(started)


@pytest.fixture(scope="module")
def small_collector(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Collector]:
    """Caps small enough to reach in a test: 64 KiB bodies, a queue of 5 spans."""
    started = start_collector(
        tmp_path_factory.mktemp("small"), "--max-body-mb", "0.0625", "--queue-spans", "5"
    )
    try:
        yield started
    finally:
        stop_collector(started)


@pytest.fixture
def top_errors(tmp_path: Path) -> Callable[..., Any]:
    """top_errors over a store, the way a host calls it (build_server + the SDK's in-memory Client)."""

    async def ask(db: Path, **arguments: Any) -> dict[str, Any]:
        settings = load_settings(None, data_dir=tmp_path / f"data-{db.stem}", telemetry_db=db, now=NOW)
        async with Client(build_server(settings)) as client:
            return await call(client, "top_errors", days=3, until="2026-02-16", limit=20, **arguments)

    return ask
