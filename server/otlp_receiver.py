"""OTLP/HTTP trace receiver: `POST /v1/traces`, next to /mcp (`otlp_routes`) or alone (`self-improver collect`).

Answers as the OTLP/HTTP specification asks: 200 with an `ExportTraceServiceResponse` in the request's
encoding (its `partial_success` counts the task spans that were rejected, and says why), 400 for a body
that does not decode, 413 above the size cap (on the wire or decompressed), 415 for a content type other
than `application/x-protobuf` / `application/json` or an encoding other than gzip, deflate or none,
503 with Retry-After when the write queue is full or the store is busy; error bodies are a
`google.rpc.Status`. A 200 is sent once the task rows are committed, so an exporter that sees it never
needs to send them again, and one that retries anyway changes nothing (a span is stored once).

Security follows `serve --http`: with a token every request needs `Authorization: Bearer <token>` (401);
on a loopback address the Host header must name that address, localhost or 127.0.0.1 (421), so a web
page cannot post spans through DNS rebinding; `collect` refuses a non-loopback address without a token.
Spans are written only into self-improver's own store (see `tools.otlp.store.refusal`): `collect` refuses
to start otherwise; next to /mcp the route answers 404 with the reason, and says so at start-up.
"""

from __future__ import annotations

import asyncio
import hmac
import logging
import sys
import threading
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from google.protobuf import json_format
from google.rpc.status_pb2 import Status
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTracePartialSuccess,
    ExportTraceServiceResponse,
)
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from ..tools.otlp.decode import (
    ENCODINGS,
    PROTOBUF,
    DecodeError,
    TooLarge,
    body_format,
    decompress,
    parse_request,
)
from ..tools.otlp.mapping import Mapped, map_request
from ..tools.otlp.store import SpanWriter, StoreUnavailable, refusal
from ..tools.support.problems import ToolInputError
from .config import Settings
from .http import is_loopback

log = logging.getLogger("self_improver.otlp")

PATH = "/v1/traces"
DEFAULT_PORT = 4318  # OTLP/HTTP's usual port
DEFAULT_QUEUE_SPANS = 50_000  # task rows waiting to be written, at most; more gets 503
DEFAULT_MAX_BODY_BYTES = 16 * 1024 * 1024  # per request, on the wire and decompressed
BODIES_IN_FLIGHT = 4  # bodies being read and decoded at once, in units of the size cap
RETRY_AFTER_FULL = 1  # seconds
RETRY_AFTER_UNAVAILABLE = 5
# google.rpc.Code values for the Status body of error responses.
_INVALID_ARGUMENT, _FAILED_PRECONDITION, _RESOURCE_EXHAUSTED = 3, 9, 8
_UNAVAILABLE, _UNAUTHENTICATED, _PERMISSION_DENIED = 14, 16, 7


class OtlpReceiver:
    """The endpoint and its writer; one per server process."""

    def __init__(
        self,
        settings: Settings,
        token: str | None,
        *,
        host: str | None = None,
        port: int | None = None,
        queue_spans: int = DEFAULT_QUEUE_SPANS,
        max_body_bytes: int = DEFAULT_MAX_BODY_BYTES,
    ):
        if queue_spans < 1 or max_body_bytes < 1:
            raise ValueError("queue_spans and max_body_bytes must be at least 1")
        self.refusal = refusal(settings.telemetry_location, settings.telemetry)
        self.path = settings.telemetry_path
        self.max_body_bytes = max_body_bytes
        self.max_inflight_bytes = BODIES_IN_FLIGHT * max_body_bytes
        self.writer = SpanWriter(self.path, queue_spans)
        self._expected = f"Bearer {token}".encode() if token else None
        self._hosts = _loopback_names(host) if host is not None and is_loopback(host) else None
        self._port = port
        self._inflight = 0
        self._start_lock = threading.Lock()

    def routes(self) -> list[Route]:
        return [Route(PATH, self.handle, methods=["POST"])]

    def start(self) -> None:
        """Open the store and start the writer (ToolInputError when the store cannot be written)."""
        with self._start_lock:
            self.writer.start()

    def close(self) -> None:
        self.writer.close()

    async def handle(self, request: Request) -> Response:
        fmt = body_format(request.headers.get("content-type"))
        if self._hosts is not None and not self._host_allowed(request):
            return _error(421, _PERMISSION_DENIED, "the Host or Origin header does not name this server", fmt)
        if self._expected is not None:
            given = request.headers.get("authorization", "").encode()
            if not hmac.compare_digest(given, self._expected):
                return _error(
                    401,
                    _UNAUTHENTICATED,
                    "send Authorization: Bearer <SELF_IMPROVER_HTTP_TOKEN>",
                    fmt,
                    {"WWW-Authenticate": 'Bearer realm="self-improver"'},
                )
        if self.refusal is not None:
            return _error(
                404, _FAILED_PRECONDITION, f"this server does not receive spans: {self.refusal}", fmt
            )
        if fmt is None:
            shown = request.headers.get("content-type") or "none"
            return _error(
                415,
                _INVALID_ARGUMENT,
                f"Content-Type {shown!r} is not supported: send application/x-protobuf or application/json",
                None,
            )
        encoding = request.headers.get("content-encoding")
        if (encoding or "identity").strip().lower() not in ENCODINGS:
            return _error(
                415,
                _INVALID_ARGUMENT,
                f"Content-Encoding {encoding!r} is not supported: send gzip, deflate or none",
                fmt,
            )
        declared = _content_length(request)
        if declared is not None and declared > self.max_body_bytes:
            return self._too_large(
                fmt, f"the body is {declared} bytes, over the limit of {self.max_body_bytes} bytes"
            )
        reserved = declared if declared is not None else self.max_body_bytes
        if self._inflight and self._inflight + reserved > self.max_inflight_bytes:
            return self._busy(fmt, "too many request bodies are being decoded")
        self._inflight += reserved
        try:
            body = await self._read(request)
            mapped = await asyncio.to_thread(self._decode, body, encoding, fmt)
        except TooLarge as exc:
            return self._too_large(fmt, str(exc))
        except DecodeError as exc:
            return _error(400, _INVALID_ARGUMENT, str(exc), fmt)
        finally:
            self._inflight -= reserved
        if mapped.rows:
            try:
                if not self.writer.running:
                    await asyncio.to_thread(self.start)
                future = self.writer.submit(mapped.rows)
                if future is None:
                    return self._busy(fmt, f"the write queue is full ({self.writer.pending} spans waiting)")
                await asyncio.wrap_future(future)
            except (StoreUnavailable, ToolInputError) as exc:
                if isinstance(exc, ToolInputError):
                    log.error("received spans cannot be stored: %s", exc)
                return _error(503, _UNAVAILABLE, str(exc), fmt, {"Retry-After": str(RETRY_AFTER_UNAVAILABLE)})
        return _success(mapped, fmt)

    def _decode(self, body: bytes, encoding: str | None, fmt: str) -> Mapped:
        return map_request(parse_request(decompress(body, encoding, self.max_body_bytes), fmt))

    async def _read(self, request: Request) -> bytes:
        chunks, size = [], 0
        async for chunk in request.stream():
            size += len(chunk)
            if size > self.max_body_bytes:
                raise TooLarge(f"the body is over the limit of {self.max_body_bytes} bytes")
            chunks.append(chunk)
        return b"".join(chunks)

    def _too_large(self, fmt: str, detail: str) -> Response:
        hint = "send smaller batches (the exporter's max_export_batch_size)"
        return _error(413, _RESOURCE_EXHAUSTED, f"{detail}: {hint}", fmt)

    def _busy(self, fmt: str, detail: str) -> Response:
        retry = {"Retry-After": str(RETRY_AFTER_FULL)}
        return _error(503, _UNAVAILABLE, f"{detail}: retry after {RETRY_AFTER_FULL} s", fmt, retry)

    def _host_allowed(self, request: Request) -> bool:
        assert self._hosts is not None
        if not _authority_allowed(request.headers.get("host", ""), self._hosts, self._port):
            return False
        origin = request.headers.get("origin")
        if origin is None:
            return True
        scheme, _, authority = origin.partition("://")
        return scheme in ("http", "https") and _authority_allowed(authority, self._hosts, self._port)


def otlp_routes(
    settings: Settings, token: str | None, *, host: str | None = None, port: int | None = None
) -> list[Route]:
    """`POST /v1/traces` for an HTTP server that also serves /mcp; the store is opened on the first spans.

    `host`/`port` are the bound address (Host checks on loopback); `token` is checked by the route itself,
    so it is safe behind the same BearerTokenGate as /mcp and safe without it.
    """
    receiver = OtlpReceiver(settings, token, host=host, port=port)
    if receiver.refusal is not None:
        log.warning("POST %s answers 404: %s", PATH, receiver.refusal)
    else:
        log.info("receiving OTLP/HTTP traces at %s into %s", PATH, receiver.path)
    return receiver.routes()


def collect_app(receiver: OtlpReceiver) -> Starlette:
    """The receiver alone, its writer closed (queue written) when the server stops."""

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        try:
            yield
        finally:
            await asyncio.to_thread(receiver.close)

    return Starlette(routes=receiver.routes(), lifespan=lifespan)


def serve_collect(
    settings: Settings,
    host: str,
    port: int,
    queue_spans: int = DEFAULT_QUEUE_SPANS,
    max_body_bytes: int = DEFAULT_MAX_BODY_BYTES,
) -> int:
    """`self-improver collect`: refuse what `serve --http` refuses, and a store that is not ours."""
    import uvicorn

    token = settings.http_token.get_secret_value() if settings.http_token else None
    if not is_loopback(host) and not token:
        print(
            f"self-improver collect: refusing to serve on {host} without a token: set "
            "SELF_IMPROVER_HTTP_TOKEN, or bind to 127.0.0.1",
            file=sys.stderr,
        )
        return 2
    receiver = OtlpReceiver(
        settings, token, host=host, port=port, queue_spans=queue_spans, max_body_bytes=max_body_bytes
    )
    if receiver.refusal is not None:
        print(f"self-improver collect: refusing to start: {receiver.refusal}", file=sys.stderr)
        return 2
    try:
        receiver.start()
    except ToolInputError as exc:
        print(f"self-improver collect: {exc}", file=sys.stderr)
        return 2
    shown = f"[{host}]" if ":" in host else host
    log.info(
        "receiving OTLP/HTTP traces at http://%s:%d%s into %s%s",
        shown,
        port,
        PATH,
        receiver.path,
        " (token required)" if token else "",
    )
    uvicorn.run(collect_app(receiver), host=host, port=port, log_level="warning", access_log=False)
    return 0


def _success(mapped: Mapped, fmt: str) -> Response:
    response = ExportTraceServiceResponse()
    if mapped.rejected:
        response.partial_success.CopyFrom(
            ExportTracePartialSuccess(
                rejected_spans=len(mapped.rejected), error_message=mapped.rejection_message()
            )
        )
    return _encoded(200, response, fmt)


def _error(
    status: int, code: int, message: str, fmt: str | None, headers: dict[str, str] | None = None
) -> Response:
    return _encoded(status, Status(code=code, message=message), fmt, headers)


def _encoded(status: int, message: Any, fmt: str | None, headers: dict[str, str] | None = None) -> Response:
    if fmt == PROTOBUF:
        return Response(message.SerializeToString(), status, headers, "application/x-protobuf")
    body = json_format.MessageToJson(message, indent=None, ensure_ascii=False)
    return Response(body, status, headers, "application/json")


def _content_length(request: Request) -> int | None:
    value = request.headers.get("content-length")
    return int(value) if value is not None and value.strip().isdigit() else None


def _loopback_names(host: str) -> frozenset[str]:
    names = {host.lower(), "localhost", "127.0.0.1", "::1"}
    return frozenset(f"[{n}]" if ":" in n else n for n in names)


def _authority_allowed(authority: str, names: frozenset[str], port: int | None) -> bool:
    """`name[:port]` names this server: one of `names`, at `port` (None: any; 80 may be left out)."""
    authority = authority.strip().lower()
    if authority.startswith("["):
        name, _, rest = authority.partition("]")
        name += "]"
        given = rest[1:] if rest.startswith(":") else None
    else:
        name, sep, given_port = authority.partition(":")
        given = given_port if sep else None
    if name not in names:
        return False
    if port is None:
        return True
    return given == str(port) or (given is None and port == 80)
