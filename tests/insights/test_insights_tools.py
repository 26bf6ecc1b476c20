"""The insights tools through the SDK client: impact verdicts on a known merge, slow operations."""

from __future__ import annotations

import json
import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from mcp import Client
from mcp_calls import call, call_error
from self_improver.server.app import build_server
from self_improver.tools.telemetry.schema import open_writable

NOW = datetime(2026, 3, 1, tzinfo=UTC)  # the insights conftest's clock
MERGED = NOW - timedelta(days=7)
MERGED_ISO = "2026-02-22T00:00:00Z"


def _server(make_settings, path: Path, **extra):
    return build_server(make_settings(telemetry_db=path, now=extra.pop("now", NOW), **extra))


async def test_a_signature_that_disappears_after_the_merge_is_fixed_and_stored_once(
    make_settings, impact_night: Any
) -> None:
    signature = impact_night.signatures["fixed"]
    async with Client(_server(make_settings, impact_night.path)) as client:
        first = await call(client, "measure_impact", signature=signature, pr_number=42, merged_at=MERGED_ISO)
        again = await call(client, "measure_impact", signature=signature, pr_number=42, merged_at=MERGED_ISO)
        memory = await call(client, "recall_findings", signature=signature)
        history = await call(client, "finding_history", signature=signature)
    impact = first["signature_impact"]
    assert first["verdict"] == impact["verdict"] == "fixed", first["reason"]
    assert (impact["events_before"], impact["events_after"]) == (30, 0)
    assert impact["tasks_before"] == impact["tasks_after"] == 1050
    assert impact["rate_before_per_1000"] == pytest.approx(28.571)
    assert impact["rate_ratio"] == 0 and impact["ci_low"] == 0 and impact["ci_high"] < 0.2
    assert "30.0 occurrences were expected" in first["reason"]
    assert (
        first["before"]["start"] == "2026-02-15 00:00:00" and first["after"]["end"] == "2026-03-01 00:00:00"
    )
    # fixed marks the signature resolved (issue #15: only fixed or improved do); no release data here, so
    # the after window starts at the merge and the verdict says so
    assert (
        not first["marked_regressed"] and first["marked_resolved"] and first["signature_state"] == "resolved"
    )
    assert "starts at the merge" in first["reason"] and first["switch_at"] == first["merged_at"]
    # The same verdict is stored once: a repeat returns the same finding.
    assert first["memory_finding_id"] and again["memory_finding_id"] == first["memory_finding_id"]
    assert memory["count"] == 1
    stored = memory["findings"][0]["metadata"]
    assert stored["verdict"] == "fixed" and stored["pr_number"] == 42 and stored["signature"] == signature
    assert stored["ci_low"] == 0 and stored["rate_ratio"] == 0
    # finding_history shows the verdict among the signature's events.
    assert first["memory_finding_id"] in json.dumps(history) and "fixed" in json.dumps(history)


async def test_a_signature_that_halves_is_improved_and_failures_are_split(
    make_settings, impact_night: Any
) -> None:
    async with Client(_server(make_settings, impact_night.path)) as client:
        result = await call(
            client, "measure_impact", signature=impact_night.signatures["halves"], merged_at=MERGED_ISO
        )
    impact = result["signature_impact"]
    assert result["verdict"] == "improved", result["reason"]
    assert (impact["events_before"], impact["events_after"]) == (60, 28)
    assert impact["rate_ratio"] == pytest.approx(28 / 60, abs=1e-3)
    assert impact["ci_low"] < impact["rate_ratio"] < impact["ci_high"] < 1
    overall = result["failure_rate"]
    assert (overall["events_before"], overall["events_after"]) == (94, 58)
    breakdown = result["failure_breakdown"]
    assert breakdown["existing_signatures"]["events_after"] == 58
    assert breakdown["new_signatures_after"] == 0 and breakdown["unclustered_before"] == 0
    assert result["pr_number"] is None and result["memory_finding_id"]


async def test_few_tasks_after_the_merge_is_inconclusive_with_the_tasks_needed(
    make_settings, impact_night: Any
) -> None:
    merged = (NOW - timedelta(hours=2)).strftime("%Y-%m-%dT%H:%M:%SZ")
    async with Client(_server(make_settings, impact_night.path)) as client:
        result = await call(
            client,
            "measure_impact",
            signature=impact_night.signatures["fixed"],
            merged_at=merged,
            before_days=14,
        )
    impact = result["signature_impact"]
    assert result["verdict"] == "inconclusive"
    assert impact["tasks_after"] == 12 and impact["events_after"] == 0
    needed = impact["tasks_needed_after"]
    # 30 occurrences in 2088 tasks before: 'fixed' needs >= 3 expected and an upper bound below 1.
    assert needed is not None and needed + 12 >= 3 * impact["tasks_before"] / 30
    assert f"{needed} more tasks" in result["reason"]


async def test_a_signature_that_rises_is_worse_and_marked_regressed(
    make_settings, impact_night: Any, tmp_path: Path
) -> None:
    signature = impact_night.signatures["rises"]
    async with Client(_server(make_settings, impact_night.path)) as client:
        result = await call(client, "measure_impact", signature=signature, pr_number=7, merged_at=MERGED_ISO)
        cluster = await call(client, "error_cluster", signature=signature)
        memory = await call(client, "recall_findings", signature=signature)
    impact = result["signature_impact"]
    assert result["verdict"] == "worse" and impact["ci_low"] > 1
    assert (impact["events_before"], impact["events_after"]) == (4, 30)
    assert result["marked_regressed"] and result["signature_state"] == "regressed"
    assert "marked regressed" in result["reason"]
    assert cluster["state"] == "regressed"
    resolved_by = (
        sqlite3.connect(tmp_path / "data" / "signatures.db")
        .execute("SELECT resolved_by FROM signatures WHERE signature = ?", (signature,))
        .fetchone()[0]
    )
    assert "PR #7" in resolved_by
    assert memory["findings"][0]["metadata"]["verdict"] == "worse"
    assert memory["findings"][0]["metadata"]["regressed"] is True


async def test_new_signatures_after_the_merge_are_counted_apart(
    make_settings, impact_night: Any, signature_for
) -> None:
    conn = open_writable(str(impact_night.path))
    for hour in range(5):
        created = (MERGED + timedelta(days=2, hours=hour)).strftime("%Y-%m-%d %H:%M:%S")
        conn.execute(
            "INSERT INTO tasks(status, error, error_type, created_at) VALUES ('failed', ?, 'RuntimeError', ?)",
            ("RuntimeError: template cache corrupted", created),
        )
    conn.commit()
    conn.close()
    async with Client(_server(make_settings, impact_night.path)) as client:
        result = await call(
            client, "measure_impact", signature=impact_night.signatures["halves"], merged_at=MERGED_ISO
        )
    breakdown = result["failure_breakdown"]
    assert breakdown["new_signatures_after"] == 5
    assert breakdown["new_signatures"] == [signature_for("RuntimeError: template cache corrupted")]
    assert result["failure_rate"]["events_after"] == breakdown["existing_signatures"]["events_after"] + 5


async def test_windows_older_than_the_first_clustering_are_clustered_on_demand(
    make_settings, impact_night: Any
) -> None:
    """The first clustering run looks back 90 days; a before-window older than that is clustered when asked."""
    async with Client(_server(make_settings, impact_night.path, now=NOW + timedelta(days=84))) as client:
        await call(client, "top_errors", days=7)  # the first run: clusters the last 90 days only
        result = await call(
            client,
            "measure_impact",
            signature=impact_night.signatures["halves"],
            merged_at=MERGED_ISO,
            after_days=90,
        )
    assert result["failure_breakdown"]["unclustered_before"] == 0
    assert result["signature_impact"]["events_before"] > 0
    assert "never clustered" not in result["reason"]


async def test_errors_name_what_to_send_instead(make_settings, impact_night: Any) -> None:
    async with Client(_server(make_settings, impact_night.path)) as client:
        unknown = await call_error(client, "measure_impact", signature="abcdef123456", merged_at=MERGED_ISO)
        pr_only = await call_error(client, "measure_impact", pr_number=42)
        no_time = await call_error(client, "measure_impact", signature=impact_night.signatures["fixed"])
        future = await call_error(
            client,
            "measure_impact",
            signature=impact_night.signatures["fixed"],
            merged_at="2026-03-05T00:00:00Z",
        )
        no_tasks = await call(
            client,
            "measure_impact",
            signature=impact_night.signatures["fixed"],
            merged_at=MERGED_ISO,
            agent="nobody",
        )
    assert "top_errors" in unknown and "abcdef123456" in unknown
    assert "pass merged_at" in pr_only and "PR #42" in pr_only and "list_pull_requests" in pr_only
    assert "merged_at is required" in no_time
    assert "in the future" in future
    assert no_tasks["verdict"] == "inconclusive" and "No tasks were recorded before" in no_tasks["reason"]


async def test_slow_operations_flags_only_large_well_supported_slowdowns(make_settings, durations_db) -> None:
    db = durations_db()
    async with Client(_server(make_settings, db)) as client:
        everything = await call(client, "slow_operations", days=7, baseline_days=28)
        first = await call(client, "slow_operations", limit=1)
        flagged = await call(client, "slow_operations", only_flagged=True)
    ops = {op["task_name"]: op for op in everything["operations"]}
    report = ops["render_report"]
    assert report["flagged"] and report["p95_ratio"] >= 1.5 and report["p_value"] < 0.01
    assert (report["now"]["count"], report["baseline"]["count"]) == (40, 60)
    assert 1.6 < report["p50_ratio"] < 2.5
    rare = ops["rare_job"]
    assert not rare["flagged"] and rare["p95_ratio"] > 2 and "fewer than 20" in rare["reason"]
    assert not ops["check_inbox"]["flagged"]
    assert everything["flagged_count"] == 1 and not everything["has_more"]
    assert everything["duration_source"].startswith("duration_ms")
    assert first["has_more"] and [op["task_name"] for op in first["operations"]] == ["render_report"]
    assert [op["task_name"] for op in flagged["operations"]] == ["render_report"]


async def test_slow_operations_derives_durations_or_says_they_are_unavailable(
    make_settings, durations_db
) -> None:
    derived_db = durations_db("timestamps")
    bare_db = durations_db("none")
    async with Client(_server(make_settings, derived_db)) as client:
        derived = await call(client, "slow_operations", only_flagged=True)
    async with Client(_server(make_settings, bare_db)) as client:
        bare = await call(client, "slow_operations")
    assert (
        derived["duration_source"] == "started_at/finished_at"
        and "duration_ms" in derived["unavailable_fields"]
    )
    assert [(op["task_name"], op["agent"]) for op in derived["operations"]] == [
        ("render_report", "reports-agent")
    ]
    assert bare["operations"] == [] and bare["duration_source"] is None
    assert "neither duration_ms nor started_at" in bare["note"]
    assert {"duration_ms", "started_at", "finished_at", "agent"} <= set(bare["unavailable_fields"])


async def test_annotations_measure_impact_writes_idempotently_slow_operations_reads(make_settings) -> None:
    async with Client(build_server(make_settings(toolsets=["insights"]))) as client:
        tools = {t.name: t for t in (await client.list_tools()).tools}
    assert set(tools) == {"measure_impact", "slow_operations"}
    impact, slow = tools["measure_impact"].annotations, tools["slow_operations"].annotations
    assert impact and not impact.read_only_hint and impact.idempotent_hint and not impact.open_world_hint
    assert slow and slow.read_only_hint and not slow.open_world_hint


async def test_a_pull_request_service_can_supply_merge_time_and_signature(
    make_settings, impact_night: Any
) -> None:
    """The domain function takes a resolver, which the PR service will provide as `pulls.merged_fix`."""
    from self_improver.server.context import AppResources
    from self_improver.tools.insights.impact import MergedFix, measure_impact
    from self_improver.tools.support.problems import ToolInputError

    errors = AppResources.from_settings(make_settings(telemetry_db=impact_night.path, now=NOW)).errors
    fixes = {
        42: MergedFix(merged_at=MERGED_ISO, signature=impact_night.signatures["fixed"]),
        43: MergedFix(None),
    }

    async def merged_fix(pr_number: int) -> MergedFix:
        return fixes[pr_number]

    result = await measure_impact(errors, pr_number=42, resolve_fix=merged_fix)
    assert result.verdict == "fixed" and result.pr_number == 42
    assert result.signature == impact_night.signatures["fixed"]
    with pytest.raises(ToolInputError, match="PR #43 is not merged"):
        await measure_impact(errors, pr_number=43, resolve_fix=merged_fix)
