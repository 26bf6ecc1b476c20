"""Which spans are tasks, and the task row each becomes (the mapping table of the README, rule by rule)."""

from __future__ import annotations

import json
from typing import Any

import pytest
from self_improver.tools.errors.analyze import analyze_error
from self_improver.tools.errors.refresh import signatures_for
from self_improver.tools.otlp.decode import parse_json
from self_improver.tools.otlp.mapping import COLUMNS, Mapped, map_request, tool_error

TRACE = "4bf92f3577b34da6a3ce929d0e0e4736"
START = 1_771_150_000_123_000_000  # 2026-02-15 10:06:40.123 UTC


def _attrs(**values: Any) -> list[dict[str, Any]]:
    out = []
    for key, value in values.items():
        encoded: dict[str, Any]
        if isinstance(value, bool):
            encoded = {"boolValue": value}
        elif isinstance(value, int):
            encoded = {"intValue": str(value)}
        else:
            encoded = {"stringValue": value}
        out.append({"key": key.replace("__", "."), "value": encoded})
    return out


def span(n: int = 1, parent: int | None = None, name: str = "work", **extra: Any) -> dict[str, Any]:
    found = {
        "traceId": TRACE,
        "spanId": f"{n:016x}",
        "name": name,
        "startTimeUnixNano": str(START),
        "endTimeUnixNano": str(START + 2_500_000_000),
        **extra,
    }
    if parent is not None:
        found["parentSpanId"] = f"{parent:016x}"
    return found


def mapped(*spans: dict[str, Any], resource: dict[str, str] | None = None) -> Mapped:
    resource = {"service__name": "mailer", "service__version": "2.0.1"} if resource is None else resource
    request = {
        "resourceSpans": [
            {"resource": {"attributes": _attrs(**resource)}, "scopeSpans": [{"spans": list(spans)}]}
        ]
    }
    return map_request(parse_json(json.dumps(request)))


def rows(*spans: dict[str, Any], **options: Any) -> list[dict[str, Any]]:
    return [dict(zip(COLUMNS, row, strict=True)) for row in mapped(*spans, **options).rows]


def gen_ai(operation: str, **values: Any) -> list[dict[str, Any]]:
    return _attrs(gen_ai__operation__name=operation, **values)


def exception_event(kind: str, message: str, stacktrace: str | None = None) -> dict[str, Any]:
    values = {"exception__type": kind, "exception__message": message}
    if stacktrace is not None:
        values["exception__stacktrace"] = stacktrace
    return {"name": "exception", "timeUnixNano": str(START + 1), "attributes": _attrs(**values)}


ERROR = {"code": 2, "message": "status says why"}


@pytest.mark.parametrize(
    ("attributes", "parent", "is_task"),
    [
        (gen_ai("invoke_agent"), 1, True),
        (gen_ai("execute_tool"), 1, True),
        (gen_ai("chat"), 1, False),
        (gen_ai("chat"), None, False),  # GenAI attributes decide, even for a root span
        (_attrs(openinference__span__kind="AGENT"), 1, True),
        (_attrs(openinference__span__kind="TOOL"), 1, True),
        (_attrs(openinference__span__kind="LLM"), None, False),
        (_attrs(http__method="GET"), None, True),  # neither: a root span is a task
        (_attrs(http__method="GET"), 1, False),
    ],
    ids=[
        "invoke_agent",
        "execute_tool",
        "chat",
        "chat-root",
        "oi-agent",
        "oi-tool",
        "oi-llm-root",
        "plain-root",
        "plain-child",
    ],
)
def test_which_spans_are_tasks(attributes: list[dict[str, Any]], parent: int | None, is_task: bool) -> None:
    result = mapped(span(2, parent=parent, attributes=attributes))
    assert (len(result.rows) == 1) is is_task
    assert result.spans == 1 and result.not_tasks == (0 if is_task else 1)


def test_a_done_agent_span_becomes_a_task_row() -> None:
    attributes = gen_ai(
        "invoke_agent",
        gen_ai__agent__name="triage",
        gen_ai__request__model="claude-sonnet-4-5",
        gen_ai__conversation__id="conv-7",
    )
    (row,) = rows(span(2, parent=1, name="invoke_agent triage", attributes=attributes))
    assert row["span_key"] == f"{START:020d}{TRACE}0000000000000002"
    assert row["status"] == "done" and row["error"] is None and row["error_type"] is None
    assert (row["task_name"], row["agent"], row["release"]) == ("triage", "triage", "2.0.1")
    assert row["created_at"] == row["started_at"] == "2026-02-15 10:06:40"
    assert row["finished_at"] == "2026-02-15 10:06:42" and row["duration_ms"] == 2500
    assert json.loads(row["metadata"]) == {
        "trace_id": TRACE,
        "span_id": "0000000000000002",
        "parent_span_id": "0000000000000001",
        "span_name": "invoke_agent triage",
        "gen_ai.operation.name": "invoke_agent",
        "gen_ai.request.model": "claude-sonnet-4-5",
        "gen_ai.conversation.id": "conv-7",
    }


def test_names_fall_back_to_the_span_name_and_the_service() -> None:
    (plain,) = rows(span(1, name="nightly digest"))
    assert (plain["task_name"], plain["agent"]) == ("nightly digest", "mailer")
    (tool,) = rows(span(3, parent=1, attributes=gen_ai("execute_tool", gen_ai__tool__name="search")))
    assert (tool["task_name"], tool["agent"]) == ("search", "mailer")
    (oi,) = rows(span(4, parent=1, attributes=_attrs(openinference__span__kind="TOOL", tool__name="lookup")))
    assert oi["task_name"] == "lookup"
    (bare,) = rows(span(5), resource={})
    assert bare["agent"] is None and bare["release"] is None


def test_a_failed_span_takes_type_message_and_traceback_from_its_exception_event() -> None:
    stack = (
        'Traceback (most recent call last):\n  File "/app/agent.py", line 3, in run\nValueError: bad date\n'
    )
    failed = span(
        1,
        attributes=gen_ai("invoke_agent", error__type="ignored.when.the.event.has.one"),
        events=[exception_event("ValueError", "bad date", stack)],
        status=ERROR,
    )
    (row,) = rows(failed)
    assert (row["status"], row["error"], row["error_type"], row["traceback"]) == (
        "failed",
        "bad date",
        "ValueError",
        stack,
    )


def test_without_an_exception_event_the_status_message_and_error_type_are_used() -> None:
    failed = span(1, attributes=gen_ai("invoke_agent", error__type="timeout"), status=ERROR)
    (row,) = rows(failed)
    assert (row["error"], row["error_type"], row["traceback"]) == ("status says why", "timeout", None)


def test_a_span_with_an_exception_event_but_status_ok_is_done() -> None:
    (row,) = rows(span(1, events=[exception_event("KeyError", "'x'")], status={"code": 1}))
    assert row["status"] == "done" and row["error"] is None


def test_a_failed_tool_call_names_the_tool_in_error_and_traceback_and_keeps_the_raw_message() -> None:
    stack = (
        "Traceback (most recent call last):\n"
        '  File "/app/tools.py", line 9, in call\n'
        "    raise TimeoutError('IMAP timeout after 30s')\n"
        "TimeoutError: IMAP timeout after 30s\n"
    )
    failed = span(
        2,
        parent=1,
        attributes=gen_ai("execute_tool", gen_ai__tool__name="search_inbox", gen_ai__tool__call__id="call-1"),
        events=[exception_event("TimeoutError", "IMAP timeout after 30s", stack)],
        status=ERROR,
    )
    (row,) = rows(failed)
    assert row["error"] == "search_inbox: IMAP timeout after 30s (tool search_inbox)"
    assert row["traceback"].startswith(
        "Traceback (most recent call last):\ngen_ai.execute_tool: search_inbox\n"
    )
    assert row["traceback"].endswith("TimeoutError: search_inbox: IMAP timeout after 30s\n")
    metadata = json.loads(row["metadata"])
    assert (
        metadata["error_message"] == "IMAP timeout after 30s" and metadata["gen_ai.tool.call.id"] == "call-1"
    )
    signature = analyze_error(row["error"], row["traceback"], row["error_type"])
    assert signature.title == "TimeoutError: search_inbox: IMAP timeout after <duration>"
    assert signature.chain == ("gen_ai.execute_tool", "TimeoutError")


def test_the_same_traceback_from_two_tools_is_two_signatures_only_because_of_the_tool() -> None:
    stack = (
        "Traceback (most recent call last):\n"
        '  File "/app/client.py", line 4, in call_tool\n'
        "    return backend(name)\n"
        '  File "/app/client.py", line 9, in backend\n'
        "    raise TimeoutError('upstream timed out')\n"
        "TimeoutError: upstream timed out\n"
    )
    raw = {analyze_error("upstream timed out", stack, "TimeoutError").signature for _ in range(2)}
    assert len(raw) == 1  # the traceback alone cannot tell the tools apart
    signatures = {
        tool: analyze_error(*tool_error(tool, "upstream timed out", stack), "TimeoutError").signature
        for tool in ("search_web", "fetch_page")
    }
    assert signatures["search_web"] != signatures["fetch_page"]
    repeated = analyze_error(*tool_error("search_web", "upstream timed out", stack), "TimeoutError")
    assert repeated.signature == signatures["search_web"]


def test_message_only_tool_failures_stay_apart_per_tool_however_many_tools_share_the_message() -> None:
    tools = ["search_web", "fetch_page", "read_file", "send_mail", "query_db", "get_weather", "resize"]
    keys = [
        (tool_error(t, f"timed out after {n}s", None)[0], "TimeoutError", None)
        for t in tools
        for n in range(6)
    ]
    found = signatures_for(keys, [], None)
    per_tool: dict[str, set[str]] = {key[0].split(":")[0]: set() for key in keys}
    for key, (signature, _) in found.items():
        per_tool[key[0].split(":")[0]].add(signature.signature)
    assert all(len(s) == 1 for s in per_tool.values())  # one group per tool, the values generalised
    assert len({next(iter(s)) for s in per_tool.values()}) == len(tools)


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"traceId": "00ff"}, "trace_id has 2 bytes, expected 16"),
        ({"spanId": "00"}, "span_id has 1 bytes, expected 8"),
        ({"spanId": "0000000000000000"}, "span_id is all zeros (an invalid id)"),
        ({"traceId": "0" * 32}, "trace_id is all zeros (an invalid id)"),
        ({"startTimeUnixNano": "0"}, "start_time_unix_nano is missing"),
    ],
)
def test_task_spans_with_unusable_ids_or_times_are_rejected_with_the_reason(
    change: dict[str, str], reason: str
) -> None:
    result = mapped(span(1, name="good"), {**span(2, name="bad"), **change})
    assert len(result.rows) == 1 and len(result.rejected) == 1
    assert result.rejected[0] == f"span 'bad': {reason}"
    assert result.rejection_message() == f"1 span(s) rejected: span 'bad': {reason}"


def test_attribute_values_of_every_type_read_as_text() -> None:
    values = [
        {"key": "gen_ai.operation.name", "value": {"stringValue": "invoke_agent"}},
        {"key": "gen_ai.agent.name", "value": {"intValue": "42"}},
        {
            "key": "gen_ai.conversation.id",
            "value": {"arrayValue": {"values": [{"stringValue": "a"}, {"intValue": "1"}]}},
        },
        {
            "key": "gen_ai.request.model",
            "value": {"kvlistValue": {"values": [{"key": "k", "value": {"boolValue": True}}]}},
        },
    ]
    (row,) = rows(span(1, attributes=values))
    assert row["agent"] == "42"
    metadata = json.loads(row["metadata"])
    assert (
        metadata["gen_ai.conversation.id"] == '["a",1]' and metadata["gen_ai.request.model"] == '{"k":true}'
    )
