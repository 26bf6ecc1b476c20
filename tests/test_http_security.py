"""The HTTP transport: DNS-rebinding protection on every loopback address, capped and expiring sessions."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from local_ports import free_port
from mcp.server.mcpserver import MCPServer
from self_improver.server import http
from self_improver.server.http import http_app, rebinding_protection
from starlette.testclient import TestClient

PORT = 8765
INITIALIZE = {
    "jsonrpc": "2.0",
    "id": 1,
    "method": "initialize",
    "params": {
        "protocolVersion": "2025-06-18",
        "capabilities": {},
        "clientInfo": {"name": "t", "version": "1"},
    },
}
ACCEPT = {"accept": "application/json, text/event-stream", "content-type": "application/json"}


def _post(client: TestClient | httpx.Client, url: str, host: str, **headers: str) -> httpx.Response:
    return client.post(url, json=INITIALIZE, headers=ACCEPT | {"host": host} | headers)


@pytest.mark.parametrize("host", ["127.0.0.1", "127.0.0.2", "127.255.255.254", "localhost", "::1"])
def test_every_loopback_address_gets_host_and_origin_checks(host: str) -> None:
    settings = rebinding_protection(host, PORT)
    assert settings is not None and settings.enable_dns_rebinding_protection
    bound = f"[{host}]:{PORT}" if ":" in host else f"{host}:{PORT}"
    assert {bound, f"localhost:{PORT}", f"127.0.0.1:{PORT}"} <= set(settings.allowed_hosts)
    assert f"http://{bound}" in settings.allowed_origins
    assert not any("*" in h or "evil" in h for h in settings.allowed_hosts)
    assert rebinding_protection("0.0.0.0", PORT) is None  # not loopback: the bearer token is required


@pytest.fixture
def app_on_127_0_0_2(demo_server: MCPServer) -> Iterator[TestClient]:
    with TestClient(
        http_app(demo_server, "127.0.0.2", None, PORT), base_url=f"http://127.0.0.2:{PORT}"
    ) as client:
        yield client


def test_a_rebound_host_or_a_foreign_origin_is_refused(app_on_127_0_0_2: TestClient) -> None:
    client = app_on_127_0_0_2
    assert _post(client, "/mcp", "evil.example").status_code == 421
    assert _post(client, "/mcp", f"evil.example:{PORT}").status_code == 421
    assert _post(client, "/mcp", "127.0.0.2:9999").status_code == 421
    assert _post(client, "/mcp", f"127.0.0.2:{PORT}", origin="http://evil.example").status_code == 403
    for good in (f"127.0.0.2:{PORT}", f"localhost:{PORT}", f"127.0.0.1:{PORT}"):
        answer = _post(client, "/mcp", good, origin=f"http://{good}")
        assert answer.status_code == 200 and answer.headers.get("mcp-session-id"), good


def test_sessions_are_capped(demo_server: MCPServer, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(http, "MAX_SESSIONS", 2)
    host = f"127.0.0.1:{PORT}"
    with TestClient(http_app(demo_server, "127.0.0.1", None, PORT)) as client:
        first, second = (_post(client, "/mcp", host) for _ in range(2))
        assert first.status_code == second.status_code == 200
        refused = _post(client, "/mcp", host)
        assert refused.status_code == 503 and "Too many open sessions" in refused.text
        ended = client.delete(
            "/mcp",
            headers={
                "host": host,
                "mcp-session-id": first.headers["mcp-session-id"],
                "mcp-protocol-version": "2025-06-18",
            },
        )
        assert ended.status_code == 200
        assert _post(client, "/mcp", host).status_code == 200  # room again once one ends


def test_idle_sessions_expire_and_answer_404(demo_server: MCPServer, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(http, "SESSION_IDLE_SECONDS", 0.5)
    host = f"127.0.0.1:{PORT}"
    with TestClient(http_app(demo_server, "127.0.0.1", None, PORT)) as client:
        session = _post(client, "/mcp", host).headers["mcp-session-id"]
        time.sleep(1.2)
        late = client.post(
            "/mcp",
            json={"jsonrpc": "2.0", "id": 2, "method": "tools/list"},
            headers=ACCEPT | {"host": host, "mcp-session-id": session, "mcp-protocol-version": "2025-06-18"},
        )
        assert late.status_code == 404 and "Session not found" in late.text  # the client initialises again


def test_the_defaults_are_a_cap_of_100_and_30_minutes(demo_server: MCPServer) -> None:
    http_app(demo_server, "127.0.0.1", None, PORT)
    manager = demo_server.session_manager
    assert (manager.max_sessions, manager.session_idle_timeout) == (100, 30 * 60)
    assert (http.MAX_SESSIONS, http.SESSION_IDLE_SECONDS) == (100, 30 * 60)


def test_serve_on_127_0_0_2_refuses_a_foreign_host_header(demo_db: Path, tmp_path: Path) -> None:
    try:
        port = free_port("127.0.0.2")
    except OSError:
        pytest.skip("127.0.0.2 is not routed to loopback here")
    env = {k: v for k, v in os.environ.items() if not k.startswith("SELF_IMPROVER_")}
    proc = subprocess.Popen(
        [sys.executable, "-m", "self_improver.server.cli", "serve", "--http", "--host", "127.0.0.2"]
        + ["--port", str(port), "--telemetry-db", str(demo_db), "--data-dir", str(tmp_path)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                socket.create_connection(("127.0.0.2", port), timeout=0.5).close()
                break
            except OSError:
                assert proc.poll() is None and time.monotonic() < deadline, (
                    proc.stderr.read() if proc.stderr else ""
                )
                time.sleep(0.1)
        with httpx.Client(base_url=f"http://127.0.0.2:{port}") as client:
            assert _post(client, "/mcp", "evil.example").status_code == 421
            assert _post(client, "/mcp", f"127.0.0.2:{port}").status_code == 200
    finally:
        proc.terminate()
        proc.communicate(timeout=10)
