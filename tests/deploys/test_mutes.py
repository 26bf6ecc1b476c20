"""Learning from reviewers: noise mutes a signature, top_errors hides it unless asked, recall shows why,
the nightly watch list skips it, and an escalation brings it back by itself."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from deploys.releases_world import NOW, OTHER, failures, steady, write_tasks
from mcp import Client
from mcp_calls import call, remember
from self_improver.server.app import build_server
from self_improver.server.context import AppResources
from self_improver.server.nightly import run_nightly_async
from self_improver.tools.memory.mutes import mute_signature


def _steady_world(tmp_path: Path) -> Path:
    """Twenty quiet days: the reset error about once a day, the ValueError a few times."""
    db = tmp_path / "telemetry.db"
    start = NOW - timedelta(days=20)
    write_tasks(db, steady(start, NOW, None) + failures(start, NOW - timedelta(hours=3), 20, None))
    write_tasks(db, failures(start, NOW - timedelta(days=1), 4, None, OTHER))
    return db


async def test_noise_mutes_its_signature_and_an_escalation_unmutes_it(tmp_path: Path, make_settings) -> None:
    db = _steady_world(tmp_path)
    settings = make_settings(telemetry_db=db, now=NOW, embedding="offline", mute_days=14)
    async with Client(build_server(settings)) as client:
        top = await call(client, "top_errors", days=7)
        signature = next(g["signature"] for g in top["groups"] if "reset" in g["title"])
        assert next(g for g in top["groups"] if g["signature"] == signature)["state"] == "ongoing"
        remembered = await remember(
            client,
            signature,
            "Connection resets: the peer drops idle connections; retried by the client anyway.",
        )
        updated = await call(
            client,
            "update_finding",
            id=remembered["id"],
            metadata={"status": "noise", "reason": "the client retries; no user impact"},
            actor="reviewer@example.com",
        )
        assert updated["metadata"]["status"] == "noise"
        assert updated["metadata"]["muted_until"] == "2026-03-15 12:00:00"

        hidden = await call(client, "top_errors", days=7)
        assert signature not in {g["signature"] for g in hidden["groups"]}
        assert hidden["groups"], "the other signature is still shown"
        muted = await call(client, "top_errors", days=7, states=["muted"])
        group = next(g for g in muted["groups"] if g["signature"] == signature)
        assert group["state"] == "muted"
        assert "until 2026-03-15" in group["note"] and "the client retries; no user impact" in group["note"]
        recalled = await call(client, "recall_findings", signature=signature)
        meta = recalled["findings"][0]["metadata"]
        assert meta["noise_reason"] == "the client retries; no user impact"
        assert meta["mute_reason"] == "the client retries; no user impact"

    night = await run_nightly_async(settings)
    report = night.report_path.read_text()
    assert "## What reviewers told us" in report
    assert f"Muted until 2026-03-15 by `reviewer@example.com`: `{signature}`" in report
    watch = report.split("### Escalating and new signatures", 1)[1].split("###", 1)[0]
    assert signature not in watch

    write_tasks(db, failures(NOW - timedelta(hours=2), NOW - timedelta(minutes=5), 12, None))  # escalates
    async with Client(build_server(settings)) as client:
        back = await call(client, "top_errors", days=7)
    group = next(g for g in back["groups"] if g["signature"] == signature)
    assert group["state"] == "escalating" and "unmuted" in group["note"]
    app = AppResources.from_settings(settings)
    try:
        mute = app.errors.signatures.marks.mutes([signature])[signature]
    finally:
        await app.close()
    assert mute.lifted_at is not None and "escalated" in (mute.lifted_reason or "")


async def test_a_pull_request_closed_unmerged_mutes_through_mute_signature(
    tmp_path: Path, make_settings
) -> None:
    db = _steady_world(tmp_path)
    settings = make_settings(telemetry_db=db, now=NOW, embedding="offline")
    async with Client(build_server(settings)) as client:
        top = await call(client, "top_errors", days=7)
        signature = next(g["signature"] for g in top["groups"] if "reset" in g["title"])
        await remember(
            client,
            signature,
            "Connection resets after the proxy upgrade.",
            0.7,
            pr_number=3,
            pr_status="open",
        )
    app = AppResources.from_settings(settings)
    try:
        mute_signature(
            app.errors.signatures, signature, "PR #3 closed: wrong layer", NOW + timedelta(days=30), NOW
        )
    finally:
        await app.close()
    async with Client(build_server(settings)) as client:
        hidden = await call(client, "top_errors", days=7)
        recalled = await call(client, "recall_findings", signature=signature)
    assert signature not in {g["signature"] for g in hidden["groups"]}
    assert recalled["findings"][0]["metadata"]["mute_reason"] == "PR #3 closed: wrong layer"
