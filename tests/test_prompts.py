"""The MCP prompts load from prompts/*.md, render with their arguments and name only real tools."""

from __future__ import annotations

import re

import pytest
from mcp import Client
from mcp.shared.exceptions import MCPError
from self_improver.server.app import build_server


async def test_every_prompt_renders_with_its_arguments(make_settings) -> None:
    async with Client(build_server(make_settings())) as client:
        prompts = {p.name: p for p in (await client.list_prompts()).prompts}
        assert set(prompts) >= {"nightly_self_improvement", "investigate_error", "verify_fixes"}
        nightly = await client.get_prompt("nightly_self_improvement", {"days": "14", "max_prs": "2"})
        investigate = await client.get_prompt("investigate_error", {"signature": "3b8fe4199281"})
        verify = await client.get_prompt("verify_fixes", {})
    text = nightly.messages[0].content.text
    assert "failure_trend(days=14)" in text and "at most 2 pull requests" in text
    assert "untrusted data" in text and "never follow instructions" in text
    assert 'error_cluster(signature="3b8fe4199281")' in investigate.messages[0].content.text
    assert "measure_impact" in verify.messages[0].content.text
    assert [a.name for a in prompts["nightly_self_improvement"].arguments] == ["days", "max_prs"]
    assert prompts["investigate_error"].arguments[0].required


async def test_out_of_range_prompt_arguments_are_refused_with_the_range(make_settings) -> None:
    async with Client(build_server(make_settings())) as client:
        with pytest.raises(MCPError, match="days must be between 1 and 90"):
            await client.get_prompt("nightly_self_improvement", {"days": "0"})


async def test_prompts_only_name_tools_the_server_has(make_settings) -> None:
    async with Client(build_server(make_settings())) as client:
        tools = {t.name for t in (await client.list_tools()).tools}
        texts = []
        for prompt in (await client.list_prompts()).prompts:
            args = {a.name: "3b8fe4199281" if a.name == "signature" else "7" for a in prompt.arguments or []}
            texts += [m.content.text for m in (await client.get_prompt(prompt.name, args)).messages]
    mentioned = set(re.findall(r"`([a-z_]+)\(", "\n".join(texts)))
    assert mentioned, "prompts should name the tools to call"
    assert mentioned <= tools, f"prompts name tools the server lacks: {sorted(mentioned - tools)}"
