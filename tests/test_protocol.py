"""The protocol, completed: unknown arguments refused, logging/setLevel, completions, the version, prompt
arguments checked, date arguments named in their errors."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

import pytest
from mcp import Client
from mcp.shared.exceptions import MCPError
from mcp.types import LoggingMessageNotificationParams, PromptReference, ResourceTemplateReference
from mcp_calls import call, call_error, remember
from self_improver.server.app import build_server
from self_improver.server.registry import tidy_message
from self_improver.server.version import package_version
from self_improver.tools.nightly.report_files import markdown_name, reports_dir

# logging/setLevel is what hosts speak today; the SDK already marks it deprecated for protocol 2026-07-28.
pytestmark = pytest.mark.filterwarnings("ignore:The logging capability is deprecated")


async def test_a_misspelled_argument_is_refused_with_the_valid_ones(demo_server) -> None:
    async with Client(demo_server) as client:
        refused = await call_error(client, "top_errors", dayz=7)
        two = await call_error(client, "find_tasks", statuss="failed", lim=3)
    assert "unknown argument 'dayz' (did you mean 'days'?)" in refused
    assert "top_errors takes days, until, limit, agent, states" in refused
    assert "'statuss' (did you mean 'status'?)" in two and "'lim' (did you mean 'limit'?)" in two


async def test_invalid_values_read_as_one_line_per_argument(demo_server) -> None:
    async with Client(demo_server) as client:
        short = await call_error(client, "error_cluster", signature="zz")
        missing = await call_error(client, "error_cluster")
    assert (
        short
        == "invalid arguments for error_cluster: signature: String should have at least 6 characters (got 'zz')"
    )
    assert missing == "invalid arguments for error_cluster: signature: required, not sent"


async def test_server_info_carries_the_package_version(make_settings) -> None:
    async with Client(build_server(make_settings()), mode="legacy") as client:
        assert client.server_info.version == package_version() != ""
        assert client.server_capabilities.logging is not None
        assert client.server_capabilities.completions is not None


def _database_with_unmapped_failures(path: Path) -> Path:
    conn = sqlite3.connect(path)
    conn.execute("CREATE TABLE tasks (id INTEGER PRIMARY KEY, status TEXT, error TEXT, created_at TEXT)")
    rows = [("done", None), ("done", None), ("Error", "boom"), ("timeout", "slow")]
    conn.executemany(
        "INSERT INTO tasks(status, error, created_at) VALUES (?, ?, '2026-02-15 10:00:00')", rows
    )
    conn.commit()
    conn.close()
    return path


async def test_warnings_are_logged_at_the_level_the_client_chose(make_settings, tmp_path: Path) -> None:
    db = _database_with_unmapped_failures(tmp_path / "theirs.db")
    server = build_server(make_settings(telemetry_db=db, now="2026-02-16T00:17:00+00:00"))
    received: list[LoggingMessageNotificationParams] = []

    async def on_log(params: LoggingMessageNotificationParams) -> None:
        received.append(params)

    async with Client(server, mode="legacy", logging_callback=on_log) as client:
        summary = await call(client, "telemetry_summary", day="yesterday")
        warned = list(received)
        await client.set_logging_level("error")
        await call(client, "telemetry_summary", day="yesterday")
        after_error_level = received[len(warned) :]
    assert summary["warnings"], "the table's 'Error' and 'timeout' statuses should be warned about"
    assert [(m.level, m.logger) for m in warned] == [("warning", "self-improver")] * len(summary["warnings"])
    assert warned[0].data == f"telemetry_summary: {summary['warnings'][0]}"
    assert after_error_level == [], "warnings are below the chosen level 'error'"


async def test_long_work_is_logged_when_it_starts(demo_server) -> None:
    received: list[LoggingMessageNotificationParams] = []

    async def on_log(params: LoggingMessageNotificationParams) -> None:
        received.append(params)

    async with Client(demo_server, mode="legacy", logging_callback=on_log) as client:
        await client.set_logging_level("info")
        await call(client, "top_errors", days=7)
    assert any(m.level == "info" and "clustering failures" in str(m.data) for m in received), received


async def test_completions_offer_signatures_findings_charts_and_nothing_for_unknowns(demo_settings) -> None:
    reports = reports_dir(demo_settings.data_dir)
    reports.mkdir(parents=True)
    for night in ("2026-02-14", "2026-02-15"):
        (reports / markdown_name(night)).write_text("# report\n")
    async with Client(build_server(demo_settings), mode="legacy") as client:
        top = await call(client, "top_errors", days=7, limit=3)
        wanted = top["groups"][0]["signature"]
        prompt = PromptReference(type="ref/prompt", name="investigate_error")
        every = (await client.complete(prompt, {"name": "signature", "value": ""})).completion
        typed = (await client.complete(prompt, {"name": "signature", "value": wanted[:5]})).completion
        chart = ResourceTemplateReference(type="ref/resource", uri="reports://nightly/{date}/{chart}")
        charts = (await client.complete(chart, {"name": "chart", "value": "fail"})).completion
        dates = (await client.complete(chart, {"name": "date", "value": "2026-02"})).completion
        unknown_prompt = await client.complete(
            PromptReference(type="ref/prompt", name="nope"), {"name": "signature", "value": ""}
        )
        unknown_argument = await client.complete(prompt, {"name": "colour", "value": ""})
        remembered = await remember(client, wanted, "Gateway timeouts", 0.5)
        finding = ResourceTemplateReference(type="ref/resource", uri="memory://findings/{finding_id}")
        findings = (await client.complete(finding, {"name": "finding_id", "value": "fnd_"})).completion
    assert wanted in every.values and every.total == len(every.values) >= 3
    assert wanted in typed.values and all(v.startswith(wanted[:5]) for v in typed.values)
    assert charts.values == ["failure-rate"]
    assert dates.values == ["2026-02-15", "2026-02-14"]
    assert unknown_prompt.completion.values == [] and unknown_argument.completion.values == []
    assert findings.values == [remembered["id"]]


@pytest.mark.parametrize(
    ("name", "arguments", "message"),
    [
        ("investigate_error", {}, "prompt investigate_error: signature is required"),
        ("investigate_error", {"signature": "zzz"}, "signature must be 12 hex characters"),
        ("investigate_error", {"signature": "3b8fe4199281", "sig": "x"}, "unknown argument 'sig'"),
        ("nightly_self_improvement", {"days": "x"}, "days must be a whole number; got 'x'"),
        ("nightly_self_improvement", {"max_prs": "11"}, "max_prs must be between 0 and 10; got 11"),
        ("nope", {}, "unknown prompt 'nope': the prompts are investigate_error, nightly_self_improvement"),
    ],
)
async def test_wrong_prompt_arguments_are_invalid_params_that_say_what_to_send(
    make_settings, name: str, arguments: dict[str, Any], message: str
) -> None:
    async with Client(build_server(make_settings())) as client:
        with pytest.raises(MCPError, match=message) as refused:
            await client.get_prompt(name, arguments)
    assert refused.value.error.code == -32602


async def test_a_signature_in_capitals_and_an_empty_optional_argument_are_accepted(make_settings) -> None:
    async with Client(build_server(make_settings())) as client:
        investigate = await client.get_prompt("investigate_error", {"signature": "3B8FE4199281"})
        nightly = await client.get_prompt("nightly_self_improvement", {"days": "", "max_prs": "2"})
    assert 'error_cluster(signature="3b8fe4199281")' in investigate.messages[0].content.text
    assert "failure_trend(days=7)" in nightly.messages[0].content.text


async def test_until_takes_relative_days_and_errors_name_the_argument(demo_server) -> None:
    async with Client(demo_server) as client:
        relative = await call(client, "failure_trend", days=3, until="yesterday")
        dated = await call(client, "failure_trend", days=3, until="2026-02-15")
        bad_date = await call_error(client, "top_errors", until="2026-02-30")
        bad_time = await call_error(client, "failure_trend", until="next week")
        since = await call(client, "find_tasks", since="yesterday", until="today", status="failed", limit=50)
        bad_since = await call_error(client, "find_tasks", since="last tuesday")
    assert relative == dated
    assert bad_date.startswith(
        "Error executing tool top_errors: until must be 'today', 'yesterday' or a date"
    )
    assert "until: cannot read 'next week' as a time" in bad_time
    assert since["tasks"] and all(t["created_at"].startswith("2026-02-15") for t in since["tasks"])
    assert "since: cannot read 'last tuesday' as a time" in bad_since


def test_a_sentence_ends_once() -> None:
    assert tidy_message("the statement could not run: incomplete input.. Send one") == (
        "the statement could not run: incomplete input. Send one"
    )
    assert tidy_message("memory is down (timed out)..") == "memory is down (timed out)."
    untouched = "path 'a/../b' contains '..' and could leave the repo... really"
    assert tidy_message(untouched) == untouched
