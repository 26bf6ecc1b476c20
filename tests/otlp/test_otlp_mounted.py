"""`otlp_routes` next to /mcp in one app, behind the same bearer token, as `serve --http` mounts it."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path
from typing import Any

import httpx
from self_improver.server.app import build_server
from self_improver.server.config import Settings, load_settings
from self_improver.server.http import http_app

TOKEN = "mounted-token"
BODY = json.dumps(
    {
        "resourceSpans": [
            {
                "scopeSpans": [
                    {
                        "spans": [
                            {
                                "traceId": "5b8efff798038103d269b633813fc60c",
                                "spanId": "eee19b7ec3c1b174",
                                "name": "nightly",
                                "startTimeUnixNano": "1771200000000000000",
                                "endTimeUnixNano": "1771200002000000000",
                            }
                        ]
                    }
                ]
            }
        ]
    }
)


def mounted_app(settings: Settings, token: str, host: str = "127.0.0.1", port: int = 8765) -> Any:
    """The app `serve --http` runs: /mcp and /v1/traces behind one bearer token."""
    return http_app(build_server(settings), host, token, port, settings)


async def _post(app: Any, path: str, headers: dict[str, str]) -> httpx.Response:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1:8765") as client:
        return await client.post(path, content=BODY, headers={"Content-Type": "application/json", **headers})


async def test_traces_are_received_next_to_mcp_behind_the_same_token(tmp_path: Path) -> None:
    settings = load_settings(None, data_dir=tmp_path / "data")
    app = mounted_app(settings, TOKEN)
    assert (await _post(app, "/v1/traces", {})).status_code == 401
    assert (await _post(app, "/mcp", {})).status_code == 401
    answer = await _post(app, "/v1/traces", {"Authorization": f"Bearer {TOKEN}"})
    assert answer.status_code == 200 and answer.json() == {}
    with sqlite3.connect(settings.telemetry_path) as conn:
        assert conn.execute("SELECT task_name FROM tasks").fetchall() == [("nightly",)]


async def test_next_to_mcp_a_users_database_is_never_written_and_the_route_says_why(tmp_path: Path) -> None:
    theirs = tmp_path / "agents.db"
    with sqlite3.connect(theirs) as conn:
        conn.execute("CREATE TABLE tasks (id INTEGER PRIMARY KEY, status TEXT, error TEXT, created_at TEXT)")
    settings = load_settings(None, data_dir=tmp_path / "data", telemetry_db=theirs)
    answer = await _post(mounted_app(settings, TOKEN), "/v1/traces", {"Authorization": f"Bearer {TOKEN}"})
    assert answer.status_code == 404
    assert "tasks table that self-improver did not create" in answer.json()["message"]
    with sqlite3.connect(theirs) as conn:
        assert conn.execute("SELECT count(*) FROM tasks").fetchone() == (0,)
