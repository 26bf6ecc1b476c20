"""OTLP bodies: OTLP JSON's hex ids both ways, the JSON spellings receivers must accept, compression and caps."""

from __future__ import annotations

import gzip
import json
import zlib

import pytest
from otlp.collector import FIXTURE
from self_improver.tools.otlp.decode import (
    DecodeError,
    TooLarge,
    body_format,
    decompress,
    parse_json,
    parse_protobuf,
    request_to_json,
)


def test_fixture_lines_read_and_write_back_identically() -> None:
    for line in FIXTURE.read_text().splitlines():
        request = parse_json(line)
        assert request_to_json(request) == line
        assert parse_protobuf(request.SerializeToString()) == request


def test_ids_are_hex_and_snake_case_enum_names_and_unknown_fields_are_accepted() -> None:
    document = {
        "resource_spans": [
            {
                "scope_spans": [
                    {
                        "spans": [
                            {
                                "trace_id": "4BF92F3577B34DA6A3CE929D0E0E4736",
                                "span_id": "00f067aa0ba902b7",
                                "parent_span_id": "",
                                "name": "x",
                                "kind": "SPAN_KIND_SERVER",
                                "status": {"code": "STATUS_CODE_ERROR"},
                                "start_time_unix_nano": 5,
                                "links": [
                                    {
                                        "traceId": "4bf92f3577b34da6a3ce929d0e0e4736",
                                        "spanId": "00f067aa0ba902b7",
                                    }
                                ],
                                "somethingNew": {"added": "in a later OTLP version"},
                            }
                        ]
                    }
                ]
            }
        ]
    }
    span = parse_json(json.dumps(document)).resource_spans[0].scope_spans[0].spans[0]
    assert (
        span.trace_id.hex() == "4bf92f3577b34da6a3ce929d0e0e4736" and span.span_id.hex() == "00f067aa0ba902b7"
    )
    assert span.parent_span_id == b"" and span.kind == 2 and span.status.code == 2
    assert span.start_time_unix_nano == 5 and span.links[0].span_id.hex() == "00f067aa0ba902b7"


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ("{", "not valid JSON"),
        ('"text"', "expected a JSON object"),
        (
            '{"resourceSpans": [{"scopeSpans": [{"spans": [{"spanId": "xyz0"}]}]}]}',
            "resourceSpans[0].scopeSpans[0].spans[0].spanId",
        ),
        ('{"resourceSpans": [{"scopeSpans": [{"spans": [{"traceId": "abc"}]}]}]}', "not hex digits"),
        (
            '{"resourceSpans": [{"scopeSpans": [{"spans": [{"name": 5}]}]}]}',
            "not an OTLP ExportTraceServiceRequest",
        ),
    ],
)
def test_json_that_is_not_a_request_says_why(body: str, expected: str) -> None:
    with pytest.raises(DecodeError, match=expected.replace("[", r"\[").replace("]", r"\]")):
        parse_json(body)


def test_protobuf_garbage_is_a_decode_error() -> None:
    with pytest.raises(DecodeError, match="not a protobuf ExportTraceServiceRequest"):
        parse_protobuf(b"\x0a\xff\xff\xff\xff\xff")


def test_content_types_with_parameters_are_recognised() -> None:
    assert body_format("application/x-protobuf") == "protobuf"
    assert body_format("Application/JSON; charset=utf-8") == "json"
    assert body_format("text/plain") is None and body_format(None) is None


def test_gzip_deflate_and_several_gzip_members_decompress() -> None:
    data = b'{"resourceSpans": []}'
    assert decompress(gzip.compress(data), "gzip", 100) == data
    assert decompress(gzip.compress(data[:5]) + gzip.compress(data[5:]), "gzip", 100) == data
    assert decompress(zlib.compress(data), "deflate", 100) == data
    raw = zlib.compressobj(wbits=-15)
    assert decompress(raw.compress(data) + raw.flush(), "deflate", 100) == data
    assert decompress(data, None, 100) == data and decompress(data, "identity", 100) == data


def test_caps_apply_before_and_after_decompression() -> None:
    with pytest.raises(TooLarge):
        decompress(b"x" * 101, None, 100)
    with pytest.raises(TooLarge):
        decompress(gzip.compress(b" " * 10_000), "gzip", 100)
    with pytest.raises(DecodeError, match="truncated"):
        decompress(gzip.compress(b"x" * 1000)[:-12], "gzip", 10_000)
    with pytest.raises(ValueError, match="'br' is not supported"):
        decompress(b"x", "br", 100)
