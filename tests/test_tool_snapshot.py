"""Every tool as a host receives it (name, title, description, schemas, annotations) is committed in
tests/snapshots/tools.json, so a change to what the model sees shows in review.

After a deliberate change, regenerate and commit the snapshot:

    UPDATE_SNAPSHOTS=1 .venv/bin/pytest tests/test_tool_snapshot.py
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from mcp import Client
from self_improver.server.app import build_server

SNAPSHOT = Path(__file__).parent / "snapshots" / "tools.json"


async def listed_tools(settings: Any) -> list[dict[str, Any]]:
    async with Client(build_server(settings)) as client:
        tools = (await client.list_tools()).tools
    dumped = [t.model_dump(mode="json", by_alias=True, exclude_none=True) for t in tools]
    return sorted(dumped, key=lambda tool: tool["name"])


async def test_the_tools_match_the_committed_snapshot(make_settings) -> None:
    tools = await listed_tools(make_settings())
    text = json.dumps(tools, indent=2, ensure_ascii=False) + "\n"
    if os.environ.get("UPDATE_SNAPSHOTS") == "1":
        SNAPSHOT.write_text(text, encoding="utf-8")
        return
    assert SNAPSHOT.is_file(), f"no snapshot yet: run UPDATE_SNAPSHOTS=1 .venv/bin/pytest {__file__}"
    committed = {t["name"]: t for t in json.loads(SNAPSHOT.read_text(encoding="utf-8"))}
    current = {t["name"]: t for t in tools}
    changed = sorted(n for n in committed.keys() & current.keys() if committed[n] != current[n])
    added, removed = sorted(current.keys() - committed.keys()), sorted(committed.keys() - current.keys())
    assert not (changed or added or removed), (
        f"tools differ from {SNAPSHOT.name}: changed {changed}, added {added}, removed {removed}. "
        "If that is intended, run UPDATE_SNAPSHOTS=1 .venv/bin/pytest tests/test_tool_snapshot.py "
        "and commit the snapshot with the change."
    )
