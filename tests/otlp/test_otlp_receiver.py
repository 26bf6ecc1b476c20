"""`self-improver collect` answers as OTLP/HTTP specifies: 200 with partial_success, 400, 401, 413, 415, 503."""

from __future__ import annotations

import gzip
import json
import sqlite3
import threading
import time
from pathlib import Path
from typing import Any

import httpx
import pytest
from google.rpc.status_pb2 import Status
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceResponse,
)
from otlp.collector import FIXTURE, Collector
from self_improver.server.cli import main

PROTOBUF = {"Content-Type": "application/x-protobuf"}
JSON = {"Content-Type": "application/json"}


def _request(*spans: dict[str, Any]) -> dict[str, Any]:
    return {
        "resourceSpans": [
            {
                "resource": {"attributes": [{"key": "service.name", "value": {"stringValue": "svc"}}]},
                "scopeSpans": [{"scope": {"name": "test"}, "spans": list(spans)}],
            }
        ]
    }


def _span(n: int, trace_id: str = "5b8efff798038103d269b633813fc60c", **extra: Any) -> dict[str, Any]:
    return {
        "traceId": trace_id,
        "spanId": f"{n + 1:016x}",
        "name": f"job {n}",
        "kind": 1,
        "startTimeUnixNano": str(1_771_200_000_000_000_000 + n),
        "endTimeUnixNano": str(1_771_200_001_000_000_000 + n),
        **extra,
    }


def _post(collector: Collector, body: bytes | str, headers: dict[str, str], **options: Any) -> httpx.Response:
    return httpx.post(
        collector.url, content=body, headers={**collector.auth, **headers}, timeout=30, **options
    )


def _count(db: Path) -> int:
    with sqlite3.connect(db) as conn:
        return int(conn.execute("SELECT count(*) FROM tasks").fetchone()[0])


def test_json_and_protobuf_bodies_are_stored_once_and_answered_in_their_own_encoding(
    small_collector: Collector,
) -> None:
    line = FIXTURE.read_text().splitlines()[0]
    first = _post(small_collector, line, JSON)
    assert first.status_code == 200 and first.headers["content-type"] == "application/json"
    assert json.loads(first.text) == {}
    stored = _count(small_collector.db)
    assert stored > 0
    from self_improver.tools.otlp.decode import parse_json

    again = _post(small_collector, parse_json(line).SerializeToString(), PROTOBUF)
    assert again.status_code == 200 and again.headers["content-type"] == "application/x-protobuf"
    assert ExportTraceServiceResponse.FromString(again.content) == ExportTraceServiceResponse()
    assert _count(small_collector.db) == stored  # the same spans: a retry, nothing new


def test_a_gzip_body_is_accepted(small_collector: Collector) -> None:
    body = gzip.compress(json.dumps(_request(_span(100))).encode())
    answer = _post(small_collector, body, {**JSON, "Content-Encoding": "gzip"})
    assert answer.status_code == 200, answer.text


def test_rejected_spans_are_counted_in_partial_success_and_the_others_stored(
    small_collector: Collector,
) -> None:
    before = _count(small_collector.db)
    body = _request(_span(200), _span(201, trace_id="00ff00ff"), _span(202, startTimeUnixNano="0"))
    answer = _post(small_collector, json.dumps(body), JSON)
    assert answer.status_code == 200
    partial = json.loads(answer.text)["partialSuccess"]
    assert int(partial["rejectedSpans"]) == 2
    assert "trace_id has 4 bytes, expected 16" in partial["errorMessage"]
    assert "start_time_unix_nano is missing" in partial["errorMessage"]
    assert _count(small_collector.db) == before + 1


def test_a_wrong_or_missing_token_is_401(small_collector: Collector) -> None:
    body = json.dumps(_request(_span(300)))
    wrong = httpx.post(small_collector.url, content=body, headers={**JSON, "Authorization": "Bearer nope"})
    missing = httpx.post(small_collector.url, content=body, headers=JSON)
    for answer in (wrong, missing):
        assert answer.status_code == 401
        assert answer.headers["www-authenticate"].startswith("Bearer")
        assert "SELF_IMPROVER_HTTP_TOKEN" in json.loads(answer.text)["message"]


@pytest.mark.parametrize(
    ("body", "headers", "expected"),
    [
        ('{"resourceSpans": [', JSON, "not valid JSON"),
        ("[1, 2]", JSON, "expected a JSON object"),
        (json.dumps(_request(_span(1, trace_id="W46m95gDgQPSabYzgT/GDA=="))), JSON, "not hex digits"),
        ('{"resourceSpans": 5}', JSON, "not an OTLP ExportTraceServiceRequest"),
        (b"\x0a\xff\xff\xff\xff\xff", PROTOBUF, "not a protobuf ExportTraceServiceRequest"),
        (b"\x1f\x8b\x08\x00broken", {**JSON, "Content-Encoding": "gzip"}, "the gzip body"),
    ],
    ids=["truncated-json", "json-list", "base64-ids", "wrong-shape", "protobuf-garbage", "broken-gzip"],
)
def test_a_body_that_does_not_decode_is_400_with_the_reason(
    small_collector: Collector, body: bytes | str, headers: dict[str, str], expected: str
) -> None:
    answer = _post(small_collector, body, headers)
    assert answer.status_code == 400
    if headers["Content-Type"] == "application/x-protobuf":
        message = Status.FromString(answer.content).message
    else:
        message = json.loads(answer.text)["message"]
    assert expected in message


def test_a_body_over_the_cap_is_413_on_the_wire_and_once_decompressed(small_collector: Collector) -> None:
    big = json.dumps(
        _request(
            *[_span(n, attributes=[{"key": "pad", "value": {"stringValue": "x" * 500}}]) for n in range(200)]
        )
    )
    assert len(big) > 64 * 1024
    assert _post(small_collector, big, JSON).status_code == 413
    bomb = gzip.compress(b" " * (4 * 1024 * 1024) + b"{}")
    assert len(bomb) < 64 * 1024
    answer = _post(small_collector, bomb, {**JSON, "Content-Encoding": "gzip"})
    assert answer.status_code == 413 and "limit" in json.loads(answer.text)["message"]


def test_other_content_types_and_encodings_are_415(small_collector: Collector) -> None:
    body = json.dumps(_request(_span(400)))
    plain = _post(small_collector, body, {"Content-Type": "text/plain"})
    assert plain.status_code == 415 and "application/x-protobuf" in plain.text
    brotli = _post(small_collector, body, {**JSON, "Content-Encoding": "br"})
    assert brotli.status_code == 415 and "gzip" in brotli.text


def test_a_host_header_naming_another_site_is_refused(small_collector: Collector) -> None:
    """DNS rebinding: a page on evil.example resolved to 127.0.0.1 sends its own Host."""
    body = json.dumps(_request(_span(500)))
    answer = _post(small_collector, body, {**JSON, "Host": f"evil.example:{small_collector.port}"})
    assert answer.status_code == 421
    origin = _post(small_collector, body, {**JSON, "Origin": "http://evil.example"})
    assert origin.status_code == 421


def test_a_full_queue_is_503_with_retry_after_and_the_held_request_then_succeeds(
    small_collector: Collector,
) -> None:
    """The queue holds 5 spans. While the store is locked, a 5-span request waits in it; the next is 503."""
    held: dict[str, httpx.Response] = {}
    lock = sqlite3.connect(small_collector.db, isolation_level=None)
    lock.execute("BEGIN EXCLUSIVE")
    try:
        first = threading.Thread(
            target=lambda: held.setdefault(
                "answer",
                _post(small_collector, json.dumps(_request(*[_span(600 + n) for n in range(5)])), JSON),
            )
        )
        first.start()
        time.sleep(0.5)
        assert "answer" not in held  # waiting for the store
        full = _post(small_collector, json.dumps(_request(_span(700))), JSON)
        assert full.status_code == 503
        assert full.headers["retry-after"] == "1"
        assert "queue is full" in json.loads(full.text)["message"]
    finally:
        lock.execute("COMMIT")
        lock.close()
    first.join(30)
    assert held["answer"].status_code == 200


def test_collect_refuses_a_users_own_database_and_a_public_address_without_token(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    theirs = tmp_path / "agents.db"
    with sqlite3.connect(theirs) as conn:
        conn.execute("CREATE TABLE tasks (id INTEGER PRIMARY KEY, status TEXT, error TEXT, created_at TEXT)")
    assert main(["collect", "--telemetry-db", str(theirs), "--port", "1"]) == 2
    assert "tasks table that self-improver did not create" in capsys.readouterr().err

    assert main(["collect", "--telemetry-db", "postgresql://agent@db.internal/agents", "--port", "1"]) == 2
    assert "PostgreSQL" in capsys.readouterr().err

    monkeypatch.setenv("SELF_IMPROVER_TELEMETRY__TABLE", "agent_runs")
    assert main(["collect", "--telemetry-db", str(tmp_path / "new.db"), "--port", "1"]) == 2
    assert "[telemetry] mapping" in capsys.readouterr().err
    monkeypatch.delenv("SELF_IMPROVER_TELEMETRY__TABLE")

    assert main(["collect", "--host", "0.0.0.0", "--data-dir", str(tmp_path), "--port", "1"]) == 2
    assert "without a token" in capsys.readouterr().err
