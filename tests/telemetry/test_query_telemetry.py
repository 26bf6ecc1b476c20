"""query_telemetry reads anything and changes nothing, enforced by SQLite rather than by string checks."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest
from mcp import Client
from mcp.server.mcpserver import MCPServer
from mcp_calls import call, call_error
from self_improver.examples.demo_telemetry import SECRET_FRAGMENTS


async def test_select_with_parameters_returns_columns_rows_and_truncation(demo_server: MCPServer) -> None:
    async with Client(demo_server) as demo_client:
        result = await call(
            demo_client,
            "query_telemetry",
            sql="SELECT id, status FROM tasks WHERE created_at >= :since ORDER BY id",
            params={"since": "2026-02-15"},
            limit=5,
        )
        assert result["columns"] == ["id", "status"]
        assert len(result["rows"]) == 5 and result["truncated"] is True
        positional = await call(
            demo_client,
            "query_telemetry",
            sql="SELECT COUNT(*) FROM tasks WHERE status = ?",
            params=["failed"],
        )
        assert positional["rows"][0][0] > 13


@pytest.mark.parametrize(
    ("sql", "why"),
    [
        ("DELETE FROM tasks", "delete"),
        (
            "WITH doomed AS (SELECT id FROM tasks) DELETE FROM tasks WHERE id IN (SELECT id FROM doomed)",
            "delete",
        ),
        ("UPDATE tasks SET status = 'done'", "update"),
        ("INSERT INTO tasks(status) VALUES ('done')", "insert"),
        ("DROP TABLE tasks", "delete"),
        ("ATTACH DATABASE '/tmp/evil.db' AS evil", "attach"),
        ("PRAGMA user_version = 7", "pragma"),
        ("PRAGMA journal_mode = DELETE", "pragma"),
        ("CREATE TABLE x(a)", "insert"),
        ("SELECT 1; DELETE FROM tasks", "one"),
    ],
)
async def test_writes_attach_and_state_pragmas_are_refused(
    demo_server: MCPServer, demo_db: Path, sql: str, why: str
) -> None:
    async with Client(demo_server) as demo_client:
        before = hashlib.sha256(demo_db.read_bytes()).hexdigest()
        text = await call_error(demo_client, "query_telemetry", sql=sql)
        assert why in text.lower()
        assert "SELECT" in text
        assert hashlib.sha256(demo_db.read_bytes()).hexdigest() == before


async def test_reporting_pragmas_are_allowed(demo_server: MCPServer) -> None:
    async with Client(demo_server) as demo_client:
        info = await call(demo_client, "query_telemetry", sql="PRAGMA table_info(tasks)")
        assert "created_at" in [row[1] for row in info["rows"]]


async def test_runaway_query_is_stopped_by_the_time_limit(make_settings, demo_db: Path) -> None:
    from self_improver.server.app import build_server

    settings = make_settings(telemetry_db=demo_db, query_timeout_seconds=0.3)
    async with Client(build_server(settings)) as client:
        text = await call_error(
            client,
            "query_telemetry",
            sql="WITH RECURSIVE n(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM n) SELECT COUNT(*) FROM n",
        )
    assert "0.3 s limit" in text


async def test_secrets_in_telemetry_text_are_redacted(demo_server: MCPServer) -> None:
    async with Client(demo_server) as demo_client:
        result = await call(
            demo_client,
            "query_telemetry",
            sql="SELECT error FROM tasks WHERE error LIKE '%hunter2%' OR error LIKE '%sk-live%'",
        )
        assert result["rows"], "the demo data should contain a leaked secret to redact"
        for (error,) in result["rows"]:
            for fragment in SECRET_FRAGMENTS:
                assert fragment not in error
