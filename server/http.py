"""Streamable HTTP transport at /mcp, loopback by default, with an optional bearer token.

Binding to an address other than loopback without a token is refused: the tools read production
telemetry and, with other toolsets, write branches and pull requests. On any loopback address (all of
127.0.0.0/8, ::1, localhost) the Host and Origin headers must name that address, localhost or
127.0.0.1 at the bound port, so a web page cannot reach the server through DNS rebinding. Sessions are
capped (`MAX_SESSIONS`, a new one beyond that gets 503) and expire after `SESSION_IDLE_SECONDS`
without a request (their id then gets 404 and the client initialises again).
"""

from __future__ import annotations

import errno
import hmac
import ipaddress
import logging
import socket
from typing import Any

import uvicorn
from mcp.server.mcpserver import MCPServer
from mcp.server.transport_security import TransportSecuritySettings
from starlette.types import ASGIApp, Receive, Scope, Send

from .config import Settings

log = logging.getLogger("self_improver.http")

MAX_SESSIONS = 100  # open MCP sessions at once; another initialize gets 503 until one ends
SESSION_IDLE_SECONDS = 30 * 60  # a session without a request for this long is closed (then 404)


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


class BearerTokenGate:
    """ASGI middleware: every HTTP request must carry `Authorization: Bearer <token>`."""

    def __init__(self, app: ASGIApp, token: str):
        self.app = app
        self.expected = f"Bearer {token}".encode()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            given = dict(scope.get("headers") or []).get(b"authorization", b"")
            if not hmac.compare_digest(given, self.expected):
                await send(
                    {
                        "type": "http.response.start",
                        "status": 401,
                        "headers": [
                            (b"content-type", b"application/json"),
                            (b"www-authenticate", b'Bearer realm="self-improver"'),
                        ],
                    }
                )
                await send(
                    {
                        "type": "http.response.body",
                        "body": (
                            b'{"error":"unauthorized","message":"send Authorization: Bearer <SELF_IMPROVER_HTTP_TOKEN>"}'
                        ),
                    }
                )
                return
        await self.app(scope, receive, send)


def _authority(host: str, port: int | None) -> str:
    name = f"[{host}]" if ":" in host else host
    return f"{name}:{port}" if port is not None else f"{name}:*"


def rebinding_protection(host: str, port: int | None) -> TransportSecuritySettings | None:
    """Host/Origin checks for a loopback bind: the bound address, localhost and 127.0.0.1 at `port`.

    The SDK turns them on by itself only for 127.0.0.1, localhost and ::1; every other loopback address
    (127.0.0.2, ...) would answer any Host. None for other addresses: those require the bearer token,
    which a browser page cannot send.
    """
    if not is_loopback(host):
        return None
    names = dict.fromkeys([host, "localhost", "127.0.0.1", "::1"])
    hosts = [_authority(n, port) for n in names]
    if port == 80:
        hosts += [f"[{n}]" if ":" in n else n for n in names]
    return TransportSecuritySettings(
        enable_dns_rebinding_protection=True,
        allowed_hosts=hosts,
        allowed_origins=[f"http://{h}" for h in hosts],
    )


def http_app(
    server: MCPServer, host: str, token: str | None, port: int | None = None, settings: Settings | None = None
) -> Any:
    """The ASGI app; `port` is the bound port (None: any port is accepted in Host/Origin). With `settings`,
    OTLP/HTTP traces are received at POST /v1/traces next to /mcp, behind the same token."""
    if not is_loopback(host) and not token:
        raise SystemExit(
            f"refusing to serve on {host} without a token: set SELF_IMPROVER_HTTP_TOKEN, or bind to 127.0.0.1"
        )
    app = server.streamable_http_app(
        streamable_http_path="/mcp",
        host=host,
        transport_security=rebinding_protection(host, port),
        max_sessions=MAX_SESSIONS,
        session_idle_timeout=SESSION_IDLE_SECONDS,
    )
    if settings is not None:
        from .otlp_receiver import otlp_routes

        app.router.routes.extend(otlp_routes(settings, token, host=host, port=port))
    return BearerTokenGate(app, token) if token else app


class PortUnavailable(RuntimeError):
    """The address cannot be listened on (in use, not ours, not an address of this machine)."""


def bind_port(host: str, port: int) -> socket.socket:
    """A socket bound to (host, port), before anything says it is serving; a clear error when not."""
    if not 1 <= port <= 65535:
        raise PortUnavailable(f"port must be from 1 to 65535; got {port}")
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    except socket.gaierror as exc:
        raise PortUnavailable(
            f"cannot listen on {host}: not an address of this machine ({exc.strerror})"
        ) from exc
    family, kind, proto, _, address = infos[0]
    sock = socket.socket(family, kind, proto)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind(address)
    except OSError as exc:
        sock.close()
        if exc.errno == errno.EADDRINUSE:
            raise PortUnavailable(
                f"port {port} on {host} is in use (another self-improver?): stop it or choose another --port"
            ) from exc
        raise PortUnavailable(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from exc
    return sock


def serve_http(
    server: MCPServer, host: str, port: int, token: str | None, settings: Settings | None = None
) -> None:
    """Serve until stopped. The port is bound first, so a port that is taken is a PortUnavailable before
    anything (the OTLP receiver, "serving ...") is started or logged."""
    sock = bind_port(host, port)
    try:
        app = http_app(server, host, token, port, settings)
    except BaseException:
        sock.close()
        raise
    log.info(
        "serving MCP over streamable HTTP at http://%s:%d/mcp%s",
        f"[{host}]" if ":" in host else host,
        port,
        " (token required)" if token else "",
    )
    config = uvicorn.Config(app, log_level="warning", access_log=False)
    uvicorn.Server(config).run(sockets=[sock])
