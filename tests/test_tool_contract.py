"""Every tool a host sees carries all four annotations, an output schema and a usable description."""

from __future__ import annotations

import pytest
from mcp import Client
from self_improver.server.app import ALL_TOOLSETS, build_server


async def test_every_tool_has_annotations_output_schema_and_description(make_settings) -> None:
    async with Client(build_server(make_settings())) as client:
        tools = (await client.list_tools()).tools
    assert tools, "the server exposes no tools"
    problems = []
    for tool in tools:
        hints = tool.annotations
        for hint in ("read_only_hint", "destructive_hint", "idempotent_hint", "open_world_hint"):
            if hints is None or getattr(hints, hint) is None:
                problems.append(f"{tool.name}: missing {hint}")
        if not tool.output_schema:
            problems.append(f"{tool.name}: no output schema (return a pydantic model)")
        if len(tool.description or "") < 80:
            problems.append(f"{tool.name}: description too short to tell the model when to use it")
        for name, prop in tool.input_schema.get("properties", {}).items():
            if "description" not in prop:
                problems.append(f"{tool.name}.{name}: parameter without description")
    assert not problems, "\n".join(problems)


async def test_read_only_removes_every_writing_tool(make_settings) -> None:
    async with Client(build_server(make_settings(read_only=True))) as client:
        tools = (await client.list_tools()).tools
    assert tools
    assert all(t.annotations and t.annotations.read_only_hint for t in tools)
    writers = [s.name for ts in ALL_TOOLSETS.values() for s in ts.tools if s.writes]
    assert not {t.name for t in tools} & set(writers)


async def test_toolsets_select_tools(make_settings) -> None:
    async with Client(build_server(make_settings(toolsets=["telemetry"]))) as client:
        names = {t.name for t in (await client.list_tools()).tools}
    assert names == {s.name for s in ALL_TOOLSETS["telemetry"].tools}


def test_unknown_toolset_is_refused_with_the_valid_names(make_settings) -> None:
    with pytest.raises(ValueError, match="choose from telemetry"):
        build_server(make_settings(toolsets=["telemetri"]))


async def test_instructions_describe_the_nightly_order(make_settings) -> None:
    async with Client(build_server(make_settings())) as client:
        text = client.instructions or ""
    order = [
        text.find(name) for name in ("telemetry_summary", "top_errors", "recall", "apply a fix", "Verify")
    ]
    assert all(i >= 0 for i in order) and order == sorted(order)
    assert "untrusted" in text
