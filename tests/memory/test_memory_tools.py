"""The memory tools and resource as a host calls them, including the errors the model reads."""

from __future__ import annotations

import json

import pytest
from mcp import Client
from mcp.shared.exceptions import MCPError
from mcp_calls import call, call_error
from self_improver.server.app import ALL_TOOLSETS, build_server
from self_improver.server.registry import READ_ONLY, WRITE_IDEMPOTENT

IMAP = "IMAP login times out after 30s on mail-3.acme.com; raised the timeout to 60s in PR #42"
META = {
    "signature": "sig-imap",
    "error_type": "TimeoutError",
    "occurrences": 57,
    "pr_number": 42,
    "pr_status": "open",
    "repo": "acme/worker",
}


@pytest.fixture
def server(make_settings):
    return build_server(make_settings(now="2026-02-16T03:00:00Z"))


def test_memory_tools_declare_their_annotations() -> None:
    declared = {spec.name: spec.annotations for spec in ALL_TOOLSETS["memory"].tools}
    assert declared == {
        "remember_finding": WRITE_IDEMPOTENT,
        "recall_findings": READ_ONLY,
        "update_finding": WRITE_IDEMPOTENT,
        "finding_history": READ_ONLY,
    }


async def test_remember_is_idempotent_and_recall_finds_it(server) -> None:
    async with Client(server) as client:
        first = await call(client, "remember_finding", content=IMAP, confidence=0.7, metadata=META)
        again = await call(client, "remember_finding", content=IMAP, confidence=0.7, metadata=META)
        assert first["created"] and not again["created"] and again["id"] == first["id"]
        assert first["finding"]["timestamp"] == "2026-02-16T03:00:00Z"
        got = await call(
            client,
            "recall_findings",
            query="imaplib.IMAP4.abort: socket error: timed out",
            signature="sig-imap",
            top_k=3,
        )
        assert got["count"] == 1 and got["findings"][0]["id"] == first["id"]
        assert got["findings"][0]["match"] == "signature" and got["findings"][0]["metadata"] == META
        filtered = await call(
            client, "recall_findings", where={"pr_status": {"$in": ["open"]}}, since="2026-02-01"
        )
        assert [f["id"] for f in filtered["findings"]] == [first["id"]]


async def test_update_then_history_shows_the_audit_trail(server) -> None:
    async with Client(server) as client:
        found = await call(client, "remember_finding", content=IMAP, confidence=0.7, metadata=META)
        merged = await call(client, "update_finding", id=found["id"], metadata={"pr_status": "merged"})
        assert merged["metadata"]["pr_status"] == "merged"
        assert (
            await call(client, "update_finding", id=found["id"], metadata={"pr_status": "merged"}) == merged
        )
        history = await call(client, "finding_history", signature="sig-imap", limit=1)
        assert history["has_more"] and history["events"][0]["kind"] == "found"
        rest = await call(client, "finding_history", signature="sig-imap", cursor=history["next_cursor"])
        [change] = [e["change"] for e in rest["events"]]
        assert (change["field"], change["before"], change["after"]) == ("pr_status", "open", "merged")
        assert not rest["has_more"]


@pytest.mark.parametrize(
    ("tool", "arguments", "expected"),
    [
        (
            "remember_finding",
            {"content": IMAP, "confidence": 1.5, "metadata": META},
            "less than or equal to 1",
        ),
        (
            "remember_finding",
            {"content": IMAP, "confidence": 0.5, "metadata": {"evidence": {"n": 1}}},
            "must be scalars",
        ),
        (
            "remember_finding",
            {"content": IMAP, "confidence": 0.5, "metadata": {"tags": [1, 2]}},
            "flatten it",
        ),
        ("recall_findings", {}, "send query"),
        ("recall_findings", {"query": "x", "top_k": 500}, "less than or equal to 50"),
        ("recall_findings", {"where": {"pr_status": {"$like": "o%"}}}, "unknown operator"),
        ("update_finding", {"id": "fnd_nope", "metadata": {"pr_status": "merged"}}, "no finding with id"),
        ("update_finding", {"id": "fnd_nope", "metadata": {"x": {"y": 1}}}, "must be scalars"),
        ("finding_history", {"signature": "sig-imap", "cursor": "garbage"}, "next_cursor"),
    ],
)
async def test_bad_input_is_an_error_result_that_says_what_to_do(server, tool, arguments, expected) -> None:
    async with Client(server) as client:
        assert expected in await call_error(client, tool, **arguments)


async def test_a_down_chroma_server_is_an_error_result_never_a_stored_finding(make_settings) -> None:
    server = build_server(make_settings(memory_url="http://127.0.0.1:9"))  # discard port: nothing listens
    async with Client(server) as client:
        text = await call_error(client, "remember_finding", content=IMAP, confidence=0.5, metadata=META)
        assert "did not answer" in text and "NOT stored yet" in text and "queued locally" in text
        assert "did not answer" in await call_error(client, "recall_findings", query="imap timeout")


async def test_each_finding_is_a_json_resource(server) -> None:
    async with Client(server) as client:
        found = await call(client, "remember_finding", content=IMAP, confidence=0.7, metadata=META)
        templates = (await client.list_resource_templates()).resource_templates
        assert "memory://findings/{finding_id}" in [t.uri_template for t in templates]
        read = await client.read_resource(f"memory://findings/{found['id']}")
        assert json.loads(read.contents[0].text) == found["finding"]
        with pytest.raises(MCPError, match="no finding with id"):
            await client.read_resource("memory://findings/fnd_000000000000000000000000")


async def test_settings_choose_the_embedding(make_settings, monkeypatch) -> None:
    monkeypatch.setenv("SELF_IMPROVER_EMBEDDING", "minilm")
    monkeypatch.setenv("SELF_IMPROVER_MEMORY_URL", "http://127.0.0.1:8000")
    settings = make_settings()
    assert (settings.embedding, settings.memory_url) == ("minilm", "http://127.0.0.1:8000")
    with pytest.raises(ValueError, match="offline"):
        make_settings(embedding="word2vec")
