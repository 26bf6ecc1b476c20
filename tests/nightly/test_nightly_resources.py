"""The nightly reports as MCP resources, read through the in-memory client."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest
from mcp import Client
from mcp.shared.exceptions import MCPError
from nightly.night_helpers import NIGHT
from self_improver.server.app import build_server
from self_improver.server.nightly import run_nightly_async


async def test_latest_and_dated_reports_and_charts_are_resources(night_settings) -> None:
    settings = night_settings()
    async with Client(build_server(settings)) as client:
        with pytest.raises(MCPError, match="no nightly report yet"):
            await client.read_resource("reports://nightly/latest")

    result = await run_nightly_async(settings)
    older = result.report_path.with_name("nightly-2026-02-10.md")
    older.write_text("# Nightly report 2026-02-10\n")
    written = result.report_path.read_text()

    async with Client(build_server(settings)) as client:
        listed = [str(r.uri) for r in (await client.list_resources()).resources]
        templates = [t.uri_template for t in (await client.list_resource_templates()).resource_templates]
        latest = await client.read_resource("reports://nightly/latest")
        dated = await client.read_resource(f"reports://nightly/{NIGHT}")
        chart = await client.read_resource(f"reports://nightly/{NIGHT}/failure-rate")
        with pytest.raises(MCPError) as unknown:
            await client.read_resource("reports://nightly/2026-01-01")
        with pytest.raises(MCPError, match="not a date"):
            await client.read_resource("reports://nightly/yesterday")
        with pytest.raises(MCPError, match="no chart 'pie'"):
            await client.read_resource(f"reports://nightly/{NIGHT}/pie")

    assert "reports://nightly/latest" in listed
    assert {"reports://nightly/{date}", "reports://nightly/{date}/{chart}"} <= set(templates)
    assert latest.contents[0].text == written and latest.contents[0].mime_type == "text/markdown"
    assert dated.contents[0].text == written
    assert ET.fromstring(chart.contents[0].text).tag == "{http://www.w3.org/2000/svg}svg"
    message = str(unknown.value)
    assert "no nightly report for 2026-01-01" in message and f"{NIGHT}, 2026-02-10" in message
