"""Three days of an agent's traces, exported by the SDK's OTLP/HTTP exporter to `self-improver collect`, then
read through `top_errors`: one group per planted cause with the planted count, whichever way the spans
arrived (the exporter, the exporter again, the Collector's JSON file)."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from opentelemetry.exporter.otlp.proto.http import Compression
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SimpleSpanProcessor, SpanExportResult
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import Status, StatusCode
from otlp.collector import FIXTURE, TOKEN, Collector
from otlp.planted_spans import CAUSES, all_spans, expected_tasks, ns, planted_counts, provider, record_runs
from self_improver.server.cli import main


def _exporter(collector: Collector, **options: Any) -> OTLPSpanExporter:
    return OTLPSpanExporter(endpoint=collector.url, headers={"Authorization": f"Bearer {TOKEN}"}, **options)


def _rows(db: Path) -> list[tuple[Any, ...]]:
    with sqlite3.connect(db) as conn:
        return conn.execute(
            "SELECT s.span_key, t.status, t.error, t.task_name FROM tasks t JOIN otlp_spans s ON s.task_id = t.id "
            "ORDER BY s.span_key"
        ).fetchall()


def _groups(top: dict[str, Any]) -> dict[str, tuple[str, int]]:
    """cause -> (signature, count) of the one group whose title names it; fails when not exactly one."""
    found = {}
    for cause, title in CAUSES.items():
        matching = [g for g in top["groups"] if title in g["title"]]
        assert len(matching) == 1, (cause, [g["title"] for g in top["groups"]])
        found[cause] = (matching[0]["signature"], matching[0]["count"])
    return found


async def test_sdk_exported_spans_give_one_group_per_planted_cause_and_a_retry_adds_nothing(
    collector: Collector, tmp_path: Path, top_errors: Any
) -> None:
    memory = InMemorySpanExporter()
    batches = BatchSpanProcessor(_exporter(collector, compression=Compression.Gzip), max_export_batch_size=50)
    tracer_provider = provider(batches, SimpleSpanProcessor(memory))
    record_runs(tracer_provider.get_tracer("email_agent", "1.4.2"))
    assert tracer_provider.force_flush(30_000)
    tracer_provider.shutdown()
    spans = memory.get_finished_spans()
    assert len(spans) == all_spans()

    stored = _rows(collector.db)
    assert len(stored) == expected_tasks()  # the chat spans are not tasks
    top = await top_errors(collector.db)
    planted = planted_counts()
    groups = _groups(top)
    assert {cause: count for cause, (_, count) in groups.items()} == dict(planted)
    assert len(top["groups"]) == len(CAUSES) and top["failed_tasks"] == sum(planted.values())
    # The same exception, raised by the same helper through the same frames, from two tools: two groups.
    assert groups["search_inbox timeout"][0] != groups["fetch_thread timeout"][0]

    # An exporter retrying the whole batch (the response was lost): nothing new is stored.
    assert _exporter(collector).export(spans) == SpanExportResult.SUCCESS
    assert _rows(collector.db) == stored
    assert _groups(await top_errors(collector.db)) == groups

    # The same spans as the Collector's file exporter wrote them: the same tasks and the same groups.
    from_file = tmp_path / "from_file.db"
    assert main(["ingest", "--format", "otlp", str(FIXTURE), "--telemetry-db", str(from_file)]) == 0
    assert _rows(from_file) == stored
    assert _groups(await top_errors(from_file)) == groups
    assert main(["ingest", "--format", "otlp", str(FIXTURE), "--telemetry-db", str(from_file)]) == 0
    assert _rows(from_file) == stored


async def test_same_exception_from_six_tools_without_traceback_is_six_groups(
    collector: Collector, top_errors: Any
) -> None:
    """Message-only failures: a tool name seen in five or more messages of one shape must not become `<*>`."""
    tools = ["search_web", "fetch_page", "read_file", "send_mail", "query_db", "get_weather"]
    tracer_provider = provider(SimpleSpanProcessor(_exporter(collector)))
    tracer = tracer_provider.get_tracer("agent")
    start = datetime(2026, 2, 15, 9, tzinfo=UTC)
    for n in range(24):
        at = start + timedelta(minutes=n)
        tool = tools[n % len(tools)]
        span = tracer.start_span(
            f"execute_tool {tool}",
            start_time=ns(at),
            attributes={"gen_ai.operation.name": "execute_tool", "gen_ai.tool.name": tool},
        )
        span.set_status(Status(StatusCode.ERROR, f"upstream timed out after {n % 5 + 1}s"))
        span.end(end_time=ns(at + timedelta(seconds=2)))
    tracer_provider.shutdown()
    top = await top_errors(collector.db)
    assert sorted(g["count"] for g in top["groups"]) == [4] * 6
    assert sorted(g["title"].split(":")[0] for g in top["groups"]) == sorted(tools)


async def test_error_cluster_shows_the_trace_ids_of_its_samples(tmp_path: Path, top_errors: Any) -> None:
    """A person can open the failing trace in their tracing UI straight from the evidence."""
    from mcp import Client
    from mcp_calls import call
    from otlp.conftest import NOW
    from self_improver.server.app import build_server
    from self_improver.server.config import load_settings

    db = tmp_path / "spans.db"
    assert main(["ingest", "--format", "otlp", str(FIXTURE), "--telemetry-db", str(db)]) == 0
    top = await top_errors(db)
    settings = load_settings(None, data_dir=tmp_path / f"data-{db.stem}", telemetry_db=db, now=NOW)
    async with Client(build_server(settings)) as client:
        cluster = await call(client, "error_cluster", signature=top["groups"][0]["signature"], samples=3)
    with sqlite3.connect(db) as conn:
        traces = {r[0] for r in conn.execute("SELECT json_extract(metadata, '$.trace_id') FROM tasks")}
    assert cluster["sample_traces"] and set(cluster["sample_traces"]) <= traces
