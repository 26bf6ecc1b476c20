"""What the server costs the model's context, measured on the real server as a host receives it.

Budgets, in characters of compact JSON (about 4 characters a token):
- the model-facing tool text (names, descriptions, input schemas, which hosts put in the model's
  context): at most 20,000 for all tools together;
- the whole `tools/list` result (with output schemas, titles and annotations): at most 45,000;
- a default answer of the three biggest tools on the demo night: at most 5,000 of structured content;
- the text content of a result: the compact JSON of the structured content, at most 1.1 times its size,
  never a second, pretty-printed copy.

A tool or field that does not fit is a reason to shorten something else, not to raise a budget.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from mcp import Client
from mcp_calls import call
from self_improver.server.app import build_server

MODEL_FACING_BUDGET = 20_000
TOOLS_LIST_BUDGET = 45_000
RESULT_BUDGET = 5_000
TEXT_OVER_STRUCTURED = 1.1


def compact(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


async def test_tools_list_fits_the_budgets(make_settings) -> None:
    async with Client(build_server(make_settings())) as client:
        listed = await client.list_tools()
    tools = listed.tools
    model_facing = sum(len(t.name) + len(t.description or "") + len(compact(t.input_schema)) for t in tools)
    whole = len(compact(listed.model_dump(mode="json", by_alias=True, exclude_none=True)))
    assert model_facing <= MODEL_FACING_BUDGET, f"model-facing tool text is {model_facing} characters"
    assert whole <= TOOLS_LIST_BUDGET, f"tools/list is {whole} characters"


async def test_descriptions_are_dedented_and_schemas_lean(make_settings) -> None:
    async with Client(build_server(make_settings())) as client:
        tools = (await client.list_tools()).tools
    for tool in tools:
        description = tool.description or ""
        assert not [line for line in description.splitlines() if line[:1].isspace()], tool.name
        assert description == description.strip(), tool.name
        for schema in (tool.input_schema, tool.output_schema):
            assert "title" not in set(_keywords(schema)), f"{tool.name}: pydantic titles left in"
        assert tool.input_schema.get("additionalProperties") is False, tool.name


def _keywords(schema: Any) -> Iterator[str]:
    """Every keyword used in a schema; the names under `properties` and `$defs` are not keywords."""
    if isinstance(schema, dict):
        for key, value in schema.items():
            yield key
            if key in ("properties", "$defs"):
                for sub in value.values():
                    yield from _keywords(sub)
            else:
                yield from _keywords(value)
    elif isinstance(schema, list):
        for item in schema:
            yield from _keywords(item)


async def test_default_answers_of_the_big_tools_are_lean_and_sent_once(demo_server) -> None:
    async with Client(demo_server) as client:
        signature = (await call(client, "top_errors", days=7, limit=1))["groups"][0]["signature"]
        sizes = {}
        for tool, arguments in (
            ("find_tasks", {}),
            ("top_errors", {}),
            ("error_cluster", {"signature": signature}),
        ):
            result = await client.call_tool(tool, arguments)
            assert not result.is_error, result.content
            structured = compact(result.structured_content)
            (content,) = result.content
            assert json.loads(content.text) == result.structured_content, f"{tool}: text is not the result"
            assert len(content.text) <= TEXT_OVER_STRUCTURED * len(structured), f"{tool}: text too long"
            sizes[tool] = len(structured)
    assert all(size <= RESULT_BUDGET for size in sizes.values()), sizes


async def test_full_detail_is_there_when_asked_for(demo_server, make_settings, tmp_path: Path) -> None:
    async with Client(demo_server) as client:
        signature = (await call(client, "top_errors", days=7, limit=1))["groups"][0]["signature"]
        brief = await call(client, "error_cluster", signature=signature)
        full = await call(client, "error_cluster", signature=signature, detail="full")
    assert brief["traceback"].startswith("[") and "detail='full'" in brief["traceback"]
    assert full["traceback"].startswith("Traceback (most recent call last)")
    assert full["traceback"].endswith(brief["traceback"].split("\n", 1)[1])
    assert len(full["traceback"]) > len(brief["traceback"])

    db = tmp_path / "long.db"
    conn = sqlite3.connect(db)
    conn.execute("CREATE TABLE tasks (id INTEGER PRIMARY KEY, status TEXT, error TEXT, created_at TEXT)")
    conn.execute(
        "INSERT INTO tasks VALUES (1, 'failed', ?, '2026-02-15 10:00:00')", ("ValueError: " + "x" * 450,)
    )
    conn.commit()
    conn.close()
    async with Client(build_server(make_settings(telemetry_db=db))) as client:
        (short,) = (await call(client, "find_tasks"))["tasks"]
        (whole,) = (await call(client, "find_tasks", detail="full"))["tasks"]
    assert len(short["error"]) == 200 and short["error"].endswith("…")
    assert len(whole["error"]) == 462 and whole["error"].startswith(short["error"][:-1])
