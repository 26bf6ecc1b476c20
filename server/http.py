"""Streamable HTTP transport at /mcp, loopback by default, with an optional bearer token.

Binding to an address other than loopback without a token is refused: the tools read production
telemetry and, with other toolsets, write branches and pull requests.
"""

from __future__ import annotations

import hmac
import ipaddress
import logging
from typing import Any

import uvicorn
from mcp.server.mcpserver import MCPServer
from starlette.types import ASGIApp, Receive, Scope, Send

log = logging.getLogger("self_improver.http")


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


def http_app(server: MCPServer, host: str, token: str | None) -> Any:
    if not is_loopback(host) and not token:
        raise SystemExit(
            f"refusing to serve on {host} without a token: set SELF_IMPROVER_HTTP_TOKEN, or bind to 127.0.0.1"
        )
    app = server.streamable_http_app(streamable_http_path="/mcp", host=host)
    return BearerTokenGate(app, token) if token else app


def serve_http(server: MCPServer, host: str, port: int, token: str | None) -> None:
    app = http_app(server, host, token)
    log.info(
        "serving MCP over streamable HTTP at http://%s:%d/mcp%s",
        host,
        port,
        " (token required)" if token else "",
    )
    uvicorn.run(app, host=host, port=port, log_level="warning", access_log=False)
