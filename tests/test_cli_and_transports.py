"""The command line: settings precedence, config show, and the server over real stdio and HTTP."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import httpx
import httpx2
import pytest
from local_ports import free_port, serve_demo_http
from mcp import Client, StdioServerParameters
from mcp.client.streamable_http import streamable_http_client
from mcp_calls import call
from self_improver.examples.demo_telemetry import DEMO_ANCHOR
from self_improver.server.cli import main

CLI = [sys.executable, "-m", "self_improver.server.cli"]


def test_config_show_layers_file_env_and_flags_and_masks_secrets(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture
) -> None:
    config = tmp_path / "si.toml"
    config.write_text('timezone = "Asia/Tokyo"\ntelemetry_db = "/from/file.db"\nquery_timeout_seconds = 9\n')
    monkeypatch.setenv("SELF_IMPROVER_TIMEZONE", "Europe/Berlin")
    monkeypatch.setenv("SELF_IMPROVER_HTTP_TOKEN", "s3cret-token-value")
    flags = [
        "--telemetry-db",
        "/from/flag.db",
        "--memory-url",
        "http://127.0.0.1:8000",
        "--embedding",
        "minilm",
    ]
    assert main(["config", "show", "--config", str(config), *flags]) == 0
    shown = json.loads(capsys.readouterr().out)
    assert (shown["memory_url"], shown["embedding"]) == ("http://127.0.0.1:8000", "minilm")
    assert shown["telemetry_db"] == "/from/flag.db"  # flag beats file
    assert shown["timezone"] == "Europe/Berlin"  # env beats file
    assert shown["query_timeout_seconds"] == 9  # file beats default
    assert shown["http_token"] == "********"
    assert "s3cret" not in json.dumps(shown)


def test_invalid_settings_exit_with_a_message(capsys: pytest.CaptureFixture) -> None:
    assert main(["config", "show", "--timezone", "Mars/Olympus"]) == 2
    assert "unknown timezone" in capsys.readouterr().err


def _env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SELF_IMPROVER_")}
    env.update(extra)
    return env


async def test_serve_over_stdio_answers_tools_prompts_and_the_nightly_report(
    demo_db: Path, tmp_path: Path
) -> None:
    flags = ["--telemetry-db", str(demo_db), "--now", DEMO_ANCHOR.isoformat(), "--data-dir", str(tmp_path)]
    nightly = subprocess.run(
        [*CLI, "nightly", *flags], env=_env(), capture_output=True, text=True, timeout=120
    )
    assert nightly.returncode == 0, nightly.stderr
    params = StdioServerParameters(
        command=sys.executable, args=["-m", "self_improver.server.cli", "serve", *flags], env=_env()
    )
    async with Client(params) as client:
        names = {t.name for t in (await client.list_tools()).tools}
        assert {"telemetry_summary", "top_errors", "query_telemetry"} <= names
        summary = await call(client, "telemetry_summary", day="yesterday")
        prompt = await client.get_prompt("nightly_self_improvement", {"days": "7", "max_prs": "3"})
        report = await client.read_resource("reports://nightly/latest")
    assert (summary["total"], summary["failed"]) == (169, 13)
    assert "top_errors(days=7)" in prompt.messages[0].content.text
    text = report.contents[0].text
    assert "2026-02-16" in text and "## Top errors" in text


async def test_the_seed_night_over_stdio_with_the_real_clock(demo_db: Path, tmp_path: Path) -> None:
    """Months after the seed night, a window ending then still has its groups (clustered on demand)."""
    params = StdioServerParameters(
        command=sys.executable,
        args=[
            "-m",
            "self_improver.server.cli",
            "serve",
            "--telemetry-db",
            str(demo_db),
            "--data-dir",
            str(tmp_path),
        ],
        env=_env(),
    )
    async with Client(params) as client:
        top = await call(client, "top_errors", days=7, until="2026-02-16")
    counts = {
        g["title"].split(":")[0] + ":" + g["title"].split(":")[1][:8]: g["count"] for g in top["groups"][:3]
    }
    assert [g["count"] for g in top["groups"][:3]] == [9, 4, 2], counts
    titles = [g["title"] for g in top["groups"][:3]]
    assert (
        "Gateway timeout" in titles[0] and "IMAP timeout" in titles[1] and "_email_context_until" in titles[2]
    )
    assert top["window_start"] == "2026-02-09 00:00:00" and top["window_end"] == "2026-02-16 00:00:00"
    assert top["warnings"] == []


async def test_serve_over_http_requires_the_bearer_token(demo_db: Path, tmp_path: Path) -> None:
    proc, port = serve_demo_http(demo_db, tmp_path, SELF_IMPROVER_HTTP_TOKEN="test-token-123")
    try:
        url = f"http://127.0.0.1:{port}/mcp"
        assert httpx.post(url, json={}).status_code == 401
        assert httpx.post(url, json={}, headers={"Authorization": "Bearer wrong"}).status_code == 401
        authed = httpx2.AsyncClient(headers={"Authorization": "Bearer test-token-123"})

        async with authed, Client(streamable_http_client(url, http_client=authed)) as client:
            summary = await call(client, "telemetry_summary", day="2026-02-15")
        assert summary["total"] == 169
    finally:
        proc.terminate()
        out, _ = proc.communicate(timeout=10)
    assert out == "", "the HTTP server wrote to stdout"


def test_http_on_a_public_address_without_token_is_refused(tmp_path: Path) -> None:
    result = subprocess.run(
        [
            *CLI,
            "serve",
            "--http",
            "--host",
            "0.0.0.0",
            "--port",
            str(free_port()),
            "--data-dir",
            str(tmp_path),
        ],
        env=_env(),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode != 0
    assert "without a token" in result.stderr and "SELF_IMPROVER_HTTP_TOKEN" in result.stderr
