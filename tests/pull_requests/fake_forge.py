"""What the fake forges (`fake_github_api`, `fake_gitlab_api`) share, so each keeps only its own API.

Both are HTTP servers on 127.0.0.1 that the provider tests talk to over real HTTP. They share the
server's lifecycle, the request log (`requests`, `count`), injected failures (`inject`: a status before
or *after* handling a request, Retry-After and other headers, slow answers) and, in the request
handler, reading and answering requests: a forge says how it checks the token, what its 401 and
bad-JSON bodies look like, and routes an authorized request to its endpoints (`_route`).
"""

from __future__ import annotations

import json
import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, ClassVar, Self
from urllib.parse import SplitResult, parse_qs, urlsplit

Answer = tuple[int, Any, dict[str, str] | None]  # status, JSON (or text) body, extra headers


def utc_now(timespec: str) -> str:
    """The time as the forges write it (`2026-01-02T03:04:05Z`), to `timespec` as in `isoformat`."""
    return datetime.now(UTC).isoformat(timespec=timespec).replace("+00:00", "Z")


@dataclass
class Fault:
    method: str
    path: re.Pattern[str]
    status: int | None
    body: Any
    headers: dict[str, str]
    times: int
    after: bool  # handle the request first (side effects happen), then answer with the fault (or late)
    delay: float


class FakeForge:
    """The server: started by `with`, it answers on `base_url` until the block ends."""

    def __init__(self, token: str, handler_for: Callable[[Any], type[FakeForgeHandler]]):
        self.token = token
        self.requests: list[tuple[str, str, dict[str, list[str]]]] = []
        self.faults: list[Fault] = []
        self.lock = threading.RLock()
        handler = handler_for(self)
        handler.fake = self
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, args=(0.05,), daemon=True)

    # -- lifecycle -----------------------------------------------------------------------------------

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def __enter__(self) -> Self:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._server.shutdown()
        self._server.server_close()

    # -- test controls -------------------------------------------------------------------------------

    def inject(
        self,
        method: str,
        path: str,
        status: int | None = None,
        body: Any = None,
        headers: dict[str, str] | None = None,
        times: int = 1,
        after: bool = False,
        delay: float = 0.0,
    ) -> None:
        self.faults.append(Fault(method, re.compile(path), status, body, headers or {}, times, after, delay))

    def count(self, method: str, path: str) -> int:
        pattern = re.compile(path)
        return sum(1 for m, p, _ in self.requests if m == method and pattern.fullmatch(p))

    def log_request(self, method: str, path: str, query: dict[str, list[str]]) -> Fault | None:
        """Log a request and take one use of the first fault injected for it, if any."""
        with self.lock:
            self.requests.append((method, path, query))
            fault = next(
                (f for f in self.faults if f.times > 0 and f.method == method and f.path.fullmatch(path)),
                None,
            )
            if fault is not None:
                fault.times -= 1
            return fault


class FakeForgeHandler(BaseHTTPRequestHandler):
    """Reads a request, logs it, applies its fault and answers with what `_route` returns."""

    protocol_version = "HTTP/1.1"
    fake: ClassVar[FakeForge]
    json_type: ClassVar[str] = "application/json"
    default_headers: ClassVar[dict[str, str]] = {}  # sent with every JSON (or text) answer
    unauthorized: ClassVar[Any]  # the body of a 401 answer
    bad_json: ClassVar[Any]  # the body of the 400 answer to a request body that is not JSON

    def log_message(self, *_: Any) -> None:  # keep test output quiet
        return None

    def do_GET(self) -> None:
        self._dispatch("GET")

    def do_POST(self) -> None:
        self._dispatch("POST")

    def do_PUT(self) -> None:
        self._dispatch("PUT")

    # (PATCH only where a forge's API has it, so the other answers it with 501 as before)

    # -- to be given by a forge ----------------------------------------------------------------------

    def _authorized(self) -> bool:
        raise NotImplementedError

    def _route(self, method: str, path: str, query: dict[str, list[str]], payload: Any) -> Answer:
        """Answer an authorized request with a JSON body; called holding the fake's lock."""
        raise NotImplementedError

    # -- plumbing ------------------------------------------------------------------------------------

    def _send_raw(self, status: int, data: bytes, headers: dict[str, str]) -> None:
        try:
            self.send_response(status)
            for key, value in headers.items():
                self.send_header(key, value)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client gave up (timeout tests)

    def _send(self, status: int, body: Any, headers: dict[str, str] | None = None) -> None:
        data = b"" if body is None else body.encode() if isinstance(body, str) else json.dumps(body).encode()
        kind = "text/plain" if isinstance(body, str) else self.json_type
        self._send_raw(status, data, {"Content-Type": kind, **self.default_headers, **(headers or {})})

    def _body(self) -> bytes:
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""

    def _dispatch(self, method: str) -> None:
        parts = urlsplit(self.path)
        query = parse_qs(parts.query)
        raw = self._body()
        fault = self.fake.log_request(method, parts.path, query)
        self._serve(method, parts, query, raw, fault)

    def _serve(
        self, method: str, parts: SplitResult, query: dict[str, list[str]], raw: bytes, fault: Fault | None
    ) -> None:
        if not self._authorized():
            self._send(401, self.unauthorized)
            return
        if fault is not None and fault.delay and not fault.after:
            time.sleep(fault.delay)
        if fault is not None and fault.status is not None and not fault.after:
            self._send(fault.status, fault.body, fault.headers)
            return
        try:
            payload = json.loads(raw) if raw else {}
        except ValueError:
            self._send(400, self.bad_json)
            return
        with self.fake.lock:
            status, body, headers = self._route(method, parts.path, query, payload)
        if fault is not None and fault.after:
            time.sleep(fault.delay)  # the work is done; only the answer is slow (or replaced below)
            if fault.status is not None:
                self._send(fault.status, fault.body, fault.headers)
                return
        self._send(status, body, headers)

    @staticmethod
    def _first_route(
        routes: list[tuple[str, str, Callable[[re.Match[str]], Answer]]], method: str, rest: str
    ) -> Answer | None:
        """The answer of the first route whose verb and pattern match, or None."""
        for verb, pattern, answer in routes:
            matched = re.fullmatch(pattern, rest)
            if matched and verb == method:
                return answer(matched)
        return None
