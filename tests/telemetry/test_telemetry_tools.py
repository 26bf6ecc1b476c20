"""The nightly questions answered through the MCP tools on the seed article's night."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime
from pathlib import Path

from mcp import Client
from mcp.server.mcpserver import MCPServer
from mcp_calls import call, call_error
from self_improver.examples.demo_telemetry import build_demo_db
from self_improver.server.app import build_server


async def test_summary_reproduces_the_seed_night(demo_server: MCPServer) -> None:
    async with Client(demo_server) as demo_client:
        yesterday = await call(demo_client, "telemetry_summary", day="yesterday")
        assert (yesterday["day"], yesterday["total"], yesterday["failed"]) == ("2026-02-15", 169, 13)
        assert yesterday["counts_by_status"] == {"done": 156, "failed": 13}
        assert yesterday["failure_rate"] == round(13 / 169, 4)
        today = await call(demo_client, "telemetry_summary", day="today")
        assert today["counts_by_status"] == {"done": 6, "failed": 1, "running": 1}
        same = await call(demo_client, "telemetry_summary", day="2026-02-15")
        assert same["total"] == 169


async def test_failure_trend_has_one_row_per_day_and_marks_today_partial(demo_server: MCPServer) -> None:
    async with Client(demo_server) as demo_client:
        trend = await call(demo_client, "failure_trend", days=7)
        days = [d["day"] for d in trend["days"]]
        assert days == [f"2026-02-{n:02d}" for n in range(9, 17)]
        feb15 = trend["days"][-2]
        assert (feb15["total"], feb15["failed"], feb15["partial"]) == (169, 13, False)
        assert trend["days"][-1]["partial"] and trend["days"][-1]["total"] == 8
        assert trend["failed"] == sum(d["failed"] for d in trend["days"])


async def test_top_errors_groups_messages_that_differ_only_in_values(demo_server: MCPServer) -> None:
    async with Client(demo_server) as demo_client:
        top = await call(demo_client, "top_errors", days=7, limit=3)
        counts = [g["count"] for g in top["groups"]]
        assert counts[0] >= 9 and counts[1:] == [4, 2], top["groups"]
        gateway, imap, attribute = top["groups"]
        assert "gateway" in gateway["title"].lower()
        assert "imap" in imap["title"].lower() and imap["error_type"] == "TimeoutError"
        assert "_email_context_until" in attribute["title"] and attribute["error_type"] == "AttributeError"
        assert top["has_more"] is True
        for group in top["groups"]:
            assert group["first_seen"] <= group["last_seen"]
            assert 1 <= len(group["sample_task_ids"]) <= 3
            assert group["agents"]


async def test_find_tasks_pages_through_all_matches_without_gaps(demo_server: MCPServer) -> None:
    async with Client(demo_server) as demo_client:
        seen: list[int] = []
        cursor = None
        while True:
            args = {"status": "failed", "since": "2026-02-09", "limit": 7}
            page = await call(demo_client, "find_tasks", **args, **({"cursor": cursor} if cursor else {}))
            seen += [t["id"] for t in page["tasks"]]
            assert all(t["status"] == "failed" and t["error"] for t in page["tasks"])
            if not page["has_more"]:
                assert page["next_cursor"] is None
                break
            cursor = page["next_cursor"]
        trend = await call(demo_client, "failure_trend", days=7)
        assert len(seen) == len(set(seen)) == trend["failed"]
        imap = await call(
            demo_client, "find_tasks", error_contains="imap timeout", since="2026-02-09", limit=50
        )
        assert len(imap["tasks"]) == 4


async def test_seed_sql_runs_unchanged_and_agrees_with_the_tools(make_settings, tmp_path: Path) -> None:
    """The article's two queries, verbatim, on a store whose night is 'now'."""
    now = datetime.now(UTC).replace(microsecond=0)
    facts = build_demo_db(tmp_path / "now.db", anchor=now)
    daily = "SELECT status, COUNT(*)\nFROM tasks\nWHERE date(created_at) = date('now')\nGROUP BY status;"
    errors = (
        "SELECT error, COUNT(*) as count\nFROM tasks\nWHERE date(created_at) >= date('now', '-7 days')\n"
        "AND status = 'failed'\nGROUP BY error\nORDER BY count DESC;"
    )
    async with Client(build_server(make_settings(telemetry_db=facts.path, now=now))) as client:
        seed_daily = await call(client, "query_telemetry", sql=daily)
        summary = await call(client, "telemetry_summary", day="today")
        seed_errors = await call(client, "query_telemetry", sql=errors, limit=1000)
        top = await call(client, "top_errors", days=7, limit=50)
    assert dict(map(tuple, seed_daily["rows"])) == summary["counts_by_status"]
    assert sum(n for _, n in seed_errors["rows"]) == top["failed_tasks"]
    assert not top["has_more"]
    assert sum(g["count"] for g in top["groups"]) == top["failed_tasks"]
    # Grouping merges the seed's many one-off lines into few groups.
    assert len(top["groups"]) < len(seed_errors["rows"])


async def test_bad_arguments_return_errors_that_name_the_fix(demo_server: MCPServer) -> None:
    async with Client(demo_server) as demo_client:
        assert "'today', 'yesterday' or a date" in await call_error(
            demo_client, "telemetry_summary", day="tomorrow"
        )
        assert "greater than or equal to 1" in await call_error(demo_client, "failure_trend", days=-3)
        assert "less than or equal to 50" in await call_error(demo_client, "top_errors", limit=500)
        assert "next_cursor" in await call_error(demo_client, "find_tasks", cursor="bogus")
        assert "ISO 8601" in await call_error(demo_client, "find_tasks", since="last tuesday")


async def test_missing_database_and_missing_table_are_explained(make_settings, tmp_path: Path) -> None:
    async with Client(build_server(make_settings(telemetry_db=tmp_path / "none.db"))) as client:
        assert "SELF_IMPROVER_TELEMETRY_DB" in await call_error(client, "telemetry_summary")
    other = tmp_path / "other.db"
    sqlite3.connect(other).execute("CREATE TABLE jobs(id INTEGER)").connection.commit()
    async with Client(build_server(make_settings(telemetry_db=other))) as client:
        assert "has no table 'tasks'" in await call_error(client, "top_errors")
