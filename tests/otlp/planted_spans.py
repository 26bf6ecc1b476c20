"""An email agent's traces over three days, recorded with the real OpenTelemetry SDK, with planted failures.

Every run is an `invoke_agent` span with a chat call (not a task) and four `execute_tool` calls; once a
day a `send_digest` job runs as a plain root span (no GenAI attributes: a task by the root rule). Ids come
from a seeded generator and every time is explicit, so the same spans come out on every call (the OTLP
JSON fixture in tests/fixtures/otlp/ is these spans; see its README).

Planted causes, one error group each:
- `search_inbox` and `fetch_thread` both fail with the same TimeoutError raised by the same helper through
  the same frames: the same exception from two tools, two groups;
- `send_reply` fails with KeyError('thread_id');
- `lookup_contact` fails with a status message and `error.type`, no exception event (no traceback);
- the agent run itself fails with a status message only (a refusal).
"""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from opentelemetry import trace
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import ReadableSpan, SpanProcessor, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.sdk.trace.id_generator import IdGenerator
from opentelemetry.trace import Status, StatusCode, Tracer

NOW = datetime(2026, 2, 16, 0, 17, tzinfo=UTC)
DAYS = ("2026-02-13", "2026-02-14", "2026-02-15")
RUNS_PER_DAY = (20, 25, 30)
SERVICE = "email-agent"
RELEASE = "1.4.2"
AGENT = "triage"
MODEL = "claude-sonnet-4-5"

# cause -> (what fails, how it shows in the group title)
CAUSES = {
    "search_inbox timeout": "TimeoutError: search_inbox: IMAP timeout",
    "fetch_thread timeout": "TimeoutError: fetch_thread: IMAP timeout",
    "send_reply KeyError": "KeyError: send_reply:",
    "lookup_contact 503": "lookup_contact: contact service returned",
    "agent refusal": "model refused the request",
}


def causes_of(run: int) -> list[str]:
    """The causes planted in the run with this global number."""
    found = []
    if run % 5 == 1:
        found.append("search_inbox timeout")
    if run % 7 == 2:
        found.append("fetch_thread timeout")
    if run % 9 == 4:
        found.append("send_reply KeyError")
    if run % 8 == 3:
        found.append("lookup_contact 503")
    if run % 11 == 6:
        found.append("agent refusal")
    return found


def planted_counts() -> Counter[str]:
    return Counter(cause for run in range(sum(RUNS_PER_DAY)) for cause in causes_of(run))


def expected_tasks() -> int:
    """Task spans: per run the agent and four tool calls, plus one digest job a day."""
    return sum(RUNS_PER_DAY) * 5 + len(DAYS)


def all_spans() -> int:
    return expected_tasks() + sum(RUNS_PER_DAY)  # + one chat span per run


class SeededIds(IdGenerator):
    """Deterministic trace and span ids (never zero)."""

    def __init__(self, seed: int = 20260216):
        self._random = random.Random(seed)

    def generate_span_id(self) -> int:
        return self._random.getrandbits(64) or 1

    def generate_trace_id(self) -> int:
        return self._random.getrandbits(128) or 1


def provider(*processors: SpanProcessor) -> TracerProvider:
    resource = Resource({"service.name": SERVICE, "service.version": RELEASE})
    tracer_provider = TracerProvider(resource=resource, id_generator=SeededIds())
    for processor in processors:
        tracer_provider.add_span_processor(processor)
    return tracer_provider


def recorded_spans() -> list[ReadableSpan]:
    """The planted spans, recorded in memory."""
    memory = InMemorySpanExporter()
    tracer_provider = provider(SimpleSpanProcessor(memory))
    record_runs(tracer_provider.get_tracer("email_agent", "1.4.2"))
    tracer_provider.shutdown()
    return list(memory.get_finished_spans())


def record_runs(tracer: Tracer) -> None:
    run = 0
    for day, runs in zip(DAYS, RUNS_PER_DAY, strict=True):
        midnight = datetime.fromisoformat(day).replace(tzinfo=UTC)
        for i in range(runs):
            agent_run(tracer, run, midnight + timedelta(seconds=600 + i * (84_000 // runs)))
            run += 1
        digest_job(tracer, midnight + timedelta(hours=23, minutes=30))


def agent_run(tracer: Tracer, run: int, at: datetime) -> None:
    causes = causes_of(run)
    attributes = {
        "gen_ai.operation.name": "invoke_agent",
        "gen_ai.agent.name": AGENT,
        "gen_ai.request.model": MODEL,
        "gen_ai.conversation.id": f"conv-{run:05d}",
    }
    agent = tracer.start_span(f"invoke_agent {AGENT}", start_time=ns(at), attributes=attributes)
    with trace.use_span(agent, end_on_exit=False, record_exception=False, set_status_on_exception=False):
        chat = tracer.start_span(
            f"chat {MODEL}",
            start_time=ns(at + timedelta(seconds=1)),
            attributes={"gen_ai.operation.name": "chat", "gen_ai.request.model": MODEL},
        )
        chat.end(end_time=ns(at + timedelta(seconds=3)))
        host = f"imap{run % 4}.example.com"
        seconds = 20 + run % 9
        tool_call(
            tracer,
            "search_inbox",
            run,
            at + timedelta(seconds=3),
            lambda: remote_tool(host, seconds, "search_inbox timeout" in causes),
        )
        tool_call(
            tracer,
            "fetch_thread",
            run,
            at + timedelta(seconds=5),
            lambda: remote_tool(host, seconds, "fetch_thread timeout" in causes),
        )
        tool_call(
            tracer,
            "send_reply",
            run,
            at + timedelta(seconds=7),
            lambda: reply_to({} if "send_reply KeyError" in causes else {"thread_id": run}),
        )
        lookup = tracer.start_span(
            "execute_tool lookup_contact",
            start_time=ns(at + timedelta(seconds=9)),
            attributes={"gen_ai.operation.name": "execute_tool", "gen_ai.tool.name": "lookup_contact"},
        )
        if "lookup_contact 503" in causes:
            lookup.set_attribute("error.type", "503")
            lookup.set_status(
                Status(StatusCode.ERROR, f"contact service returned 503 for request r-{run:06d}")
            )
        lookup.end(end_time=ns(at + timedelta(seconds=10)))
    if "agent refusal" in causes:
        agent.set_status(Status(StatusCode.ERROR, "model refused the request (content policy)"))
    agent.end(end_time=ns(at + timedelta(seconds=12)))


def tool_call(tracer: Tracer, name: str, run: int, at: datetime, work: Callable[[], object]) -> None:
    """One tool call; an exception is recorded on the span and the agent goes on, as agents do."""
    attributes = {
        "gen_ai.operation.name": "execute_tool",
        "gen_ai.tool.name": name,
        "gen_ai.tool.call.id": f"call-{run:05d}-{name}",
    }
    span = tracer.start_span(f"execute_tool {name}", start_time=ns(at), attributes=attributes)
    with trace.use_span(span, end_on_exit=False, record_exception=False, set_status_on_exception=False):
        try:
            work()
        except Exception as exc:
            span.record_exception(exc, timestamp=ns(at + timedelta(seconds=1)))
            span.set_status(Status(StatusCode.ERROR, str(exc)))
    span.end(end_time=ns(at + timedelta(seconds=1, milliseconds=500)))


def remote_tool(host: str, seconds: int, fails: bool) -> None:
    """Both IMAP tools go through here, so their tracebacks have the same frames."""
    if fails:
        imap_request(host, seconds)


def imap_request(host: str, seconds: int) -> None:
    raise TimeoutError(f"IMAP timeout after {seconds}s on {host}")


def reply_to(message: dict[str, int]) -> int:
    return message["thread_id"]


def digest_job(tracer: Tracer, at: datetime) -> None:
    span = tracer.start_span("send_digest", start_time=ns(at), attributes={"job.kind": "cron"})
    span.end(end_time=ns(at + timedelta(seconds=40)))


def ns(moment: datetime) -> int:
    return int(moment.timestamp()) * 1_000_000_000 + moment.microsecond * 1000
