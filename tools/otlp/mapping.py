"""Spans as tasks: which spans of an OTLP request are tasks, and the row of `tasks` each one becomes.

A span is a task when its `gen_ai.operation.name` is `invoke_agent` or `execute_tool` (OpenTelemetry GenAI
semantic conventions); a span without that attribute but with OpenInference's `openinference.span.kind`
is a task when the kind is AGENT or TOOL; a span with neither is a task when it is a trace's root. Every
other span (chat and embedding calls, retrievers, HTTP client spans inside a run) is left out.

The row, column by column:

- the span key, start time (Unix ns, 20 digits) + trace id + span id (hex): not a column of `tasks` but the
  key of the store's `otlp_spans` table (key -> task id), so a span sent twice (exporters retry, and send
  it unchanged) is stored once; `id` is the store's own integer. The start time leads so that new keys
  land at the end of the index: a batch writes a few index pages, not one page per span.
- `status`: `failed` when the span's status is ERROR, else `done` (`error`, `error_type` and `traceback`
  are filled for failed spans only).
- `error_type`: `exception.type` of the span's last `exception` event, else the `error.type` attribute.
- `error`: that event's `exception.message`, else the status message. For a tool call the tool is named
  twice, `"<tool>: <message> (tool <tool>)"`, so the same exception from two tools is two error
  signatures: a message template keeps every word that never varies on its own, and a word seen with five
  or more values in one position becomes `<*>`; a tool name that appears in two places never varies
  alone. The raw message is kept in `metadata.error_message`.
- `traceback`: `exception.stacktrace`. A tool call's Python traceback is preceded by a record naming the
  tool (`Traceback (most recent call last):` / `gen_ai.execute_tool: <tool>`), because a traceback's
  signature is built from its exception types and frames and never reads the message; its raised
  exception's line names the tool too (`TimeoutError: <tool>: <message>`), so the group's title does.
- `task_name`: `gen_ai.tool.name`, else `gen_ai.agent.name`, else the span name (OpenInference's
  `tool.name` and `agent.name` stand in for the GenAI names).
- `agent`: `gen_ai.agent.name` (or `agent.name`), else the resource's `service.name`.
- `release`: the resource's `service.version`.
- `created_at` and `started_at`: the start time, `finished_at` the end time (UTC, whole seconds);
  `duration_ms`: end - start.
- `metadata` (JSON): `trace_id`, `span_id`, `parent_span_id`, `span_name`, the operation
  (`gen_ai.operation.name` or `openinference.span.kind`), `gen_ai.request.model`,
  `gen_ai.conversation.id`, `gen_ai.tool.call.id` when present, and a failed tool call's `error_message`.

A task span is rejected (counted in the response's `partial_success`) when its trace id is not 16 bytes,
its span id not 8 bytes, either is all zeros, or it has no start time.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, KeyValue
from opentelemetry.proto.trace.v1.trace_pb2 import Span, Status

from ..errors.parameterize import MAX_MESSAGE_CHARS
from ..errors.traceback_parser import MAX_TRACEBACK_CHARS, has_traceback, parse_traceback
from ..telemetry.mapping import FIELDS

COLUMNS = ("span_key", *FIELDS[1:])  # our task fields, the span's key in place of the id
Row = tuple[Any, ...]  # values in COLUMNS order

INVOKE_AGENT = "invoke_agent"
EXECUTE_TOOL = "execute_tool"
ROOT = "root"
_GEN_AI_TASKS = frozenset({INVOKE_AGENT, EXECUTE_TOOL})
_OPENINFERENCE_TASKS = {"AGENT": INVOKE_AGENT, "TOOL": EXECUTE_TOOL}
_STATUS_ERROR = Status.STATUS_CODE_ERROR
_KEPT = ("gen_ai.request.model", "gen_ai.conversation.id", "gen_ai.tool.call.id")
TOOL_RECORD_TYPE = "gen_ai.execute_tool"
_MAX_TOOL_NAME = 200
_MAX_REASONS = 5


@dataclass
class Mapped:
    """The task rows of one request, and why task spans were rejected (one reason per span)."""

    rows: list[Row] = field(default_factory=list)
    spans: int = 0
    rejected: list[str] = field(default_factory=list)

    @property
    def not_tasks(self) -> int:
        return self.spans - len(self.rows) - len(self.rejected)

    def rejection_message(self) -> str:
        """`partial_success.error_message`: the count and the first few reasons."""
        if not self.rejected:
            return ""
        shown = "; ".join(self.rejected[:_MAX_REASONS])
        more = f"; and {len(self.rejected) - _MAX_REASONS} more" if len(self.rejected) > _MAX_REASONS else ""
        return f"{len(self.rejected)} span(s) rejected: {shown}{more}"


def map_request(request: ExportTraceServiceRequest) -> Mapped:
    mapped = Mapped()
    for resource_spans in request.resource_spans:
        resource = _attributes(resource_spans.resource.attributes)
        service = _text(resource.get("service.name"))
        release = _text(resource.get("service.version"))
        for scope_spans in resource_spans.scope_spans:
            for span in scope_spans.spans:
                mapped.spans += 1
                attrs = _attributes(span.attributes)
                kind = task_kind(span, attrs)
                if kind is None:
                    continue
                problem = _invalid(span)
                if problem is not None:
                    mapped.rejected.append(f"span {span.name[:80]!r}: {problem}")
                    continue
                mapped.rows.append(task_row(span, attrs, kind, service, release))
    return mapped


def task_kind(span: Span, attrs: Mapping[str, AnyValue]) -> str | None:
    """`invoke_agent`, `execute_tool`, `root`, or None when the span is not a task."""
    operation = attrs.get("gen_ai.operation.name")
    if operation is not None:
        name = (_text(operation) or "").strip().lower()
        return name if name in _GEN_AI_TASKS else None
    openinference = attrs.get("openinference.span.kind")
    if openinference is not None:
        return _OPENINFERENCE_TASKS.get((_text(openinference) or "").strip().upper())
    return None if span.parent_span_id else ROOT


def task_row(
    span: Span, attrs: Mapping[str, AnyValue], kind: str, service: str | None, release: str | None
) -> Row:
    trace_id, span_id = span.trace_id.hex(), span.span_id.hex()
    agent_name = _text(attrs.get("gen_ai.agent.name")) or _text(attrs.get("agent.name"))
    tool = None
    if kind == EXECUTE_TOOL:
        tool = _text(attrs.get("gen_ai.tool.name")) or _text(attrs.get("tool.name"))
    metadata: dict[str, Any] = {"trace_id": trace_id, "span_id": span_id}
    if span.parent_span_id:
        metadata["parent_span_id"] = span.parent_span_id.hex()
    metadata["span_name"] = span.name
    for key in ("gen_ai.operation.name", "openinference.span.kind", *_KEPT):
        value = attrs.get(key)
        if value is not None:
            metadata[key] = _text(value)
    status, error, error_type, traceback = "done", None, None, None
    if span.status.code == _STATUS_ERROR:
        status = "failed"
        error, error_type, traceback = _failure(span, attrs)
        if tool and error:
            metadata["error_message"] = error
        if tool:
            error, traceback = tool_error(tool, error or error_type or "failed", traceback)
    start, end = span.start_time_unix_nano, span.end_time_unix_nano
    started = _utc_text(start)
    return (
        f"{start:020d}{trace_id}{span_id}",
        status,
        error,
        started,
        agent_name or service,
        tool or agent_name or span.name,
        started,
        _utc_text(end) if end else None,
        round((end - start) / 1_000_000) if end >= start else None,
        error_type,
        traceback,
        json.dumps(metadata, separators=(",", ":"), ensure_ascii=False),
        release,
    )


def tool_error(tool: str, message: str, traceback: str | None) -> tuple[str, str | None]:
    """The error text and traceback of a failed tool call, both carrying the tool (see the module doc)."""
    name = " ".join(tool.split())[:_MAX_TOOL_NAME] or "?"
    room = MAX_MESSAGE_CHARS - 2 * len(name) - 16
    error = f"{name}: {message[:room]} (tool {name})"
    if traceback and has_traceback(traceback):
        traceback = _tool_traceback(name, traceback)
    return error, traceback


def _tool_traceback(name: str, text: str) -> str:
    """The traceback preceded by a record naming the tool (the signature reads it), its raised exception's
    line naming the tool too (the title and template read that): `TimeoutError: <tool>: <message>`."""
    header = f"Traceback (most recent call last):\n{TOOL_RECORD_TYPE}: {name}\n"
    if len(header) + len(text) + len(name) + 2 > MAX_TRACEBACK_CHARS:  # the parser keeps the end: so do we
        text = text[len(header) + len(text) + len(name) + 2 - MAX_TRACEBACK_CHARS :]
        text = text[text.find("\n") + 1 :]
    chain = parse_traceback(text)
    final = chain[-1] if chain else None
    if final is not None and final.type and not final.members:
        lines = text.split("\n")
        for index in range(len(lines) - 1, -1, -1):
            line = lines[index]
            if line.rstrip() == final.type or line.startswith(final.type + ":"):
                rest = line[len(final.type) + 1 :].strip()
                lines[index] = f"{final.type}: {name}: {rest}" if rest else f"{final.type}: {name}"
                text = "\n".join(lines)
                break
    return header + text


def _failure(span: Span, attrs: Mapping[str, AnyValue]) -> tuple[str | None, str | None, str | None]:
    """(message, type, stacktrace) of a failed span: its last `exception` event, else its own attributes."""
    found: Mapping[str, AnyValue] = attrs
    for event in reversed(span.events):
        if event.name == "exception":
            found = _attributes(event.attributes)
            break
    message = _text(found.get("exception.message")) or span.status.message or None
    error_type = _text(found.get("exception.type")) or _text(attrs.get("error.type"))
    return message, error_type, _text(found.get("exception.stacktrace"))


def _invalid(span: Span) -> str | None:
    if len(span.trace_id) != 16:
        return f"trace_id has {len(span.trace_id)} bytes, expected 16"
    if len(span.span_id) != 8:
        return f"span_id has {len(span.span_id)} bytes, expected 8"
    if not any(span.trace_id):
        return "trace_id is all zeros (an invalid id)"
    if not any(span.span_id):
        return "span_id is all zeros (an invalid id)"
    if not span.start_time_unix_nano:
        return "start_time_unix_nano is missing"
    return None


def _attributes(values: Iterable[KeyValue]) -> dict[str, AnyValue]:
    return {kv.key: kv.value for kv in values}


def _text(value: AnyValue | None) -> str | None:
    """An attribute value as text: strings as is, scalars printed, arrays and maps as compact JSON."""
    if value is None:
        return None
    which = value.WhichOneof("value")
    if which == "string_value":
        return value.string_value
    if which is None:
        return None
    if which == "bool_value":
        return "true" if value.bool_value else "false"
    if which == "int_value":
        return str(value.int_value)
    if which == "double_value":
        return repr(value.double_value)
    if which == "bytes_value":
        return value.bytes_value.hex()
    return json.dumps(_plain(value), separators=(",", ":"), ensure_ascii=False)


def _plain(value: AnyValue) -> Any:
    which = value.WhichOneof("value")
    if which == "array_value":
        return [_plain(v) for v in value.array_value.values]
    if which == "kvlist_value":
        return {kv.key: _plain(kv.value) for kv in value.kvlist_value.values}
    if which in ("string_value", "bool_value", "int_value", "double_value"):
        return getattr(value, which)
    return _text(value)


def _utc_text(nanos: int) -> str:
    """Our canonical UTC text, whole seconds (`YYYY-MM-DD HH:MM:SS`)."""
    return time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(nanos // 1_000_000_000))
