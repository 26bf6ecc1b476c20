"""remember_finding and update_finding store (and echo) findings with their secrets masked."""

from __future__ import annotations

import json

import pytest
from errors.secret_corpus import ALNUM, fake
from mcp import Client
from mcp_calls import call
from self_improver.server.app import build_server

TOKEN = "ghp_" + fake(ALNUM, 36, "memory-token")
API_KEY = "sk-proj-" + fake(ALNUM, 48, "memory-key")
CONTENT = (
    f"SMTP login failed with password=hunt3r2 and the bot token {TOKEN}; "
    "moved both to the vault in PR #42, error signature 3f2a9c1b8e7d"
)


@pytest.fixture
def server(make_settings):
    return build_server(make_settings(now="2026-02-16T03:00:00Z"))


async def test_remember_and_update_store_no_secret(server) -> None:
    meta = {
        "signature": "3f2a9c1b8e7d",
        "repo": "acme/worker",
        "reproduce": f"curl -H 'X-Api-Key: {API_KEY}' /v1",
    }
    async with Client(server) as client:
        stored = await call(client, "remember_finding", content=CONTENT, confidence=0.8, metadata=meta)
        again = await call(client, "remember_finding", content=CONTENT, confidence=0.8, metadata=meta)
        updated = await call(
            client,
            "update_finding",
            id=stored["id"],
            metadata={"note": f"rotated; old key was api_key={API_KEY}"},
        )
        recalled = await call(client, "recall_findings", signature="3f2a9c1b8e7d", top_k=3)
    everything = json.dumps([stored, again, updated, recalled])
    for secret in (TOKEN[4:], "hunt3r2", API_KEY[8:]):
        assert secret not in everything
    finding = stored["finding"]
    assert "password=*** and the bot token ghp_***;" in finding["content"]
    assert finding["content"].endswith("in PR #42, error signature 3f2a9c1b8e7d")  # the rest is kept
    assert finding["metadata"]["signature"] == "3f2a9c1b8e7d"
    assert finding["metadata"]["reproduce"] == "curl -H 'X-Api-Key: sk-proj-***' /v1"
    assert again["id"] == stored["id"] and not again["created"]  # the same finding, stored once
    assert updated["metadata"]["note"] == "rotated; old key was api_key=sk-proj-***"
