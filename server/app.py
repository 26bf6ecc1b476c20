"""Assemble the MCP server: choose toolsets, apply read-only, attach resources and instructions."""

from __future__ import annotations

import logging
from importlib import resources as package_files

from .config import Settings
from .context import lifespan_for
from .prompts import register_prompts
from .protocol import SelfImproverServer
from .registry import Toolset
from .toolsets import code, errors, github, insights, memory, reports, telemetry

log = logging.getLogger("self_improver")

SERVER_NAME = "self-improver"
ALL_TOOLSETS: dict[str, Toolset] = {
    ts.name: ts
    for ts in (
        telemetry.toolset,
        errors.toolset,
        memory.toolset,
        insights.toolset,
        github.toolset,
        code.toolset,
    )
}


def instructions() -> str:
    return package_files.files(__package__).joinpath("instructions.md").read_text(encoding="utf-8")


def selected_toolsets(settings: Settings) -> list[Toolset]:
    names = settings.toolsets or list(ALL_TOOLSETS)
    unknown = [n for n in names if n not in ALL_TOOLSETS]
    if unknown:
        raise ValueError(
            f"unknown toolset(s) {', '.join(unknown)}: choose from {', '.join(ALL_TOOLSETS)} (comma-separated)"
        )
    return [ALL_TOOLSETS[n] for n in names]


def build_server(settings: Settings) -> SelfImproverServer:
    """A configured server; `--read-only` removes every writing tool and always wins over toolsets."""
    server = SelfImproverServer(
        SERVER_NAME,
        instructions=instructions(),
        lifespan=lifespan_for(settings),
        log_level=settings.log_level.upper(),  # type: ignore[arg-type]
    )
    for toolset in selected_toolsets(settings):
        for spec in toolset.tools:
            if settings.read_only and spec.writes:
                continue
            server.add_tool(
                spec.fn,
                name=spec.name,
                title=spec.title,
                annotations=spec.annotations,
                structured_output=True,
            )
    if any(ts is memory.toolset for ts in selected_toolsets(settings)):
        memory.register_resources(server)
    if any(ts is insights.toolset for ts in selected_toolsets(settings)):
        insights.register_resources(server, settings)
    reports.register_resources(server, settings)
    register_prompts(server)
    return server
