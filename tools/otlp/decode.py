"""OTLP/HTTP trace request bodies: content types, compression, protobuf and OTLP JSON.

Decoding uses the official `opentelemetry-proto` messages (protobuf via `FromString`, JSON via
`google.protobuf.json_format`). OTLP JSON differs from protobuf's canonical JSON mapping in one way that
matters here: trace and span ids are hex digits, not base64, so they are converted before parsing (and
back in `request_to_json`). Enums may be integers or names, keys lowerCamelCase or snake_case, int64
values numbers or strings; unknown fields are ignored, as the OTLP specification asks of receivers.

Every failure is a `DecodeError` (a `ValueError`) whose message says what is wrong and what to send.
"""

from __future__ import annotations

import base64
import json
import re
import zlib
from typing import Any

from google.protobuf import json_format
from google.protobuf.message import DecodeError as ProtobufDecodeError
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

PROTOBUF = "protobuf"
JSON = "json"
MEDIA_TYPES = {
    "application/x-protobuf": PROTOBUF,
    "application/protobuf": PROTOBUF,
    "application/json": JSON,
}
ENCODINGS = ("gzip", "x-gzip", "deflate", "identity")
_HEX_RE = re.compile(r"[0-9a-fA-F]*")
# (camelCase, snake_case) names of the id fields, in spans and in their links.
_SPAN_IDS = (("traceId", "trace_id"), ("spanId", "span_id"), ("parentSpanId", "parent_span_id"))
_LINK_IDS = (("traceId", "trace_id"), ("spanId", "span_id"))


class DecodeError(ValueError):
    """A body that is not an ExportTraceServiceRequest; the message says why."""


class TooLarge(ValueError):
    """A body that decompresses to more than the size cap."""


def body_format(content_type: str | None) -> str | None:
    """`protobuf`, `json`, or None for a media type OTLP/HTTP does not use (parameters are ignored)."""
    if not content_type:
        return None
    return MEDIA_TYPES.get(content_type.split(";", 1)[0].strip().lower())


def decompress(body: bytes, encoding: str | None, limit: int) -> bytes:
    """The body without its Content-Encoding (gzip, deflate or none), at most `limit` bytes.

    Raises TooLarge above the limit (a small gzip body may expand a thousandfold), DecodeError for a
    truncated or corrupt stream, ValueError for an encoding not in ENCODINGS.
    """
    name = (encoding or "identity").strip().lower() or "identity"
    if name not in ENCODINGS:
        raise ValueError(f"Content-Encoding {name!r} is not supported: send gzip, deflate or none")
    if name == "identity":
        if len(body) > limit:
            raise TooLarge(f"the body is {len(body)} bytes, over the limit of {limit} bytes")
        return body
    gzip = name in ("gzip", "x-gzip")
    return _inflate(body, 31 if gzip else 15, limit, "gzip" if gzip else "deflate")


def _inflate(data: bytes, wbits: int, limit: int, name: str) -> bytes:
    out = bytearray()
    while True:  # gzip allows several members one after the other
        inflater = zlib.decompressobj(wbits)
        try:
            out += inflater.decompress(data, limit + 1 - len(out))
        except zlib.error as exc:
            if wbits == 15 and not out:  # "deflate" sent as a raw stream, without the zlib header
                return _inflate(data, -15, limit, name)
            raise DecodeError(f"the {name} body does not decompress ({exc})") from exc
        if len(out) > limit:
            raise TooLarge(f"the {name} body decompresses to over the limit of {limit} bytes")
        if not inflater.eof:
            raise DecodeError(f"the {name} body is truncated")
        data = inflater.unused_data
        if not data or wbits != 31:
            return bytes(out)


def parse_request(body: bytes, fmt: str) -> ExportTraceServiceRequest:
    return parse_protobuf(body) if fmt == PROTOBUF else parse_json(body)


def parse_protobuf(body: bytes) -> ExportTraceServiceRequest:
    try:
        return ExportTraceServiceRequest.FromString(body)
    except (ProtobufDecodeError, RecursionError, ValueError) as exc:
        raise DecodeError(
            f"not a protobuf ExportTraceServiceRequest ({exc}); send the OTLP message "
            "opentelemetry.proto.collector.trace.v1.ExportTraceServiceRequest"
        ) from exc


def parse_json(body: bytes | str) -> ExportTraceServiceRequest:
    """One OTLP JSON ExportTraceServiceRequest (hex ids)."""
    try:
        document = json.loads(body)
    except json.JSONDecodeError as exc:
        raise DecodeError(f"not valid JSON ({exc.msg} at line {exc.lineno} column {exc.colno})") from exc
    except (UnicodeDecodeError, RecursionError) as exc:
        raise DecodeError(f"not valid JSON ({exc.__class__.__name__})") from exc
    if not isinstance(document, dict):
        raise DecodeError(
            'expected a JSON object (an ExportTraceServiceRequest such as {"resourceSpans": [...]}), '
            f"got {type(document).__name__}"
        )
    _ids_hex_to_base64(document)
    try:
        return json_format.ParseDict(document, ExportTraceServiceRequest(), ignore_unknown_fields=True)
    except (json_format.ParseError, RecursionError, ValueError, TypeError) as exc:
        raise DecodeError(f"not an OTLP ExportTraceServiceRequest: {exc}") from exc


def request_to_json(request: ExportTraceServiceRequest) -> str:
    """One line of OTLP JSON, as the Collector's file exporter writes it: hex ids, integer enums."""
    document = json_format.MessageToDict(request, use_integers_for_enums=True)
    for spans, _ in _span_lists(document):
        for span in spans:
            if isinstance(span, dict):
                _convert(span, ("traceId", "spanId", "parentSpanId"), _base64_to_hex)
                for link in span.get("links") or ():
                    _convert(link, ("traceId", "spanId"), _base64_to_hex)
    return json.dumps(document, separators=(",", ":"), ensure_ascii=False)


def _span_lists(document: dict[str, Any]) -> list[tuple[list[Any], str]]:
    """Every `spans` list of the request, with where it is (for messages)."""
    found = []
    for r, resource in enumerate(_items(document, "resourceSpans", "resource_spans")):
        for s, scope in enumerate(_items(resource, "scopeSpans", "scope_spans")):
            spans = _items(scope, "spans", "spans")
            found.append((spans, f"resourceSpans[{r}].scopeSpans[{s}]"))
    return found


def _items(parent: Any, camel: str, snake: str) -> list[Any]:
    if not isinstance(parent, dict):
        return []
    value = parent.get(camel, parent.get(snake))
    return value if isinstance(value, list) else []


def _ids_hex_to_base64(document: dict[str, Any]) -> None:
    for spans, where in _span_lists(document):
        for n, span in enumerate(spans):
            if not isinstance(span, dict):
                continue
            _hex_fields(span, _SPAN_IDS, f"{where}.spans[{n}]")
            for k, link in enumerate(span.get("links") or ()):
                if isinstance(link, dict):
                    _hex_fields(link, _LINK_IDS, f"{where}.spans[{n}].links[{k}]")


def _hex_fields(holder: dict[str, Any], names: tuple[tuple[str, str], ...], where: str) -> None:
    for camel, snake in names:
        for key in (camel, snake):
            value = holder.get(key)
            if value is None:
                continue
            if not isinstance(value, str) or len(value) % 2 or not _HEX_RE.fullmatch(value):
                raise DecodeError(
                    f"{where}.{camel} is {json.dumps(value)[:60]}, not hex digits: OTLP JSON writes "
                    "trace and span ids as hex (32 and 16 digits), not base64"
                )
            holder[key] = base64.b64encode(bytes.fromhex(value)).decode("ascii")


def _convert(holder: dict[str, Any], keys: tuple[str, ...], convert: Any) -> None:
    for key in keys:
        if isinstance(holder.get(key), str):
            holder[key] = convert(holder[key])


def _base64_to_hex(value: str) -> str:
    return base64.b64decode(value).hex()
