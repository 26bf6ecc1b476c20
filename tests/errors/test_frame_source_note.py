"""error_cluster says why a frame has no source lines: no repo_root, file not found, line out of range, ..."""

from __future__ import annotations

import sqlite3
from datetime import timedelta
from pathlib import Path

from mcp import Client
from mcp_calls import call
from self_improver.examples.demo_telemetry import DEMO_ANCHOR, build_demo_db
from self_improver.server.app import build_server

AGENT_PY = "".join(f"value_{n} = {n}\n" for n in range(1, 21))  # 20 lines
KEY = "-----BEGIN " + "OPENSSH PRIVATE KEY-----\nAAAA\n-----END " + "OPENSSH PRIVATE KEY-----\n"
FRAMES = [
    ("email_agent/agent.py", 10, "in range"),
    ("email_agent/agent.py", 400, "past the end"),
    ("email_agent/gone.py", 3, "not in the checkout"),
    ("docs/key_notes.py", 1, "holds a private key"),
]


def _failure(db: Path) -> None:
    lines = ["Traceback (most recent call last):"]
    for file, line, code in FRAMES:
        lines += [f'  File "/srv/agents/{file}", line {line}, in run', f"    {code}"]
    conn = sqlite3.connect(db)
    conn.execute(
        "INSERT INTO tasks(status, error, error_type, traceback, created_at, agent) VALUES ('failed',?,?,?,?,?)",
        (
            "RuntimeError: source note probe",
            "RuntimeError",
            "\n".join([*lines, "RuntimeError: source note probe"]),
            (DEMO_ANCHOR - timedelta(hours=1)).strftime("%Y-%m-%d %H:%M:%S"),
            "email-agent",
        ),
    )
    conn.commit()
    conn.close()


async def _frames(settings) -> list[dict]:  # type: ignore[no-untyped-def, type-arg]
    async with Client(build_server(settings)) as client:
        top = await call(client, "top_errors", days=1, limit=50)
        signature = next(g["signature"] for g in top["groups"] if "source note probe" in g["title"])
        return (await call(client, "error_cluster", signature=signature))["in_app_frames"]  # type: ignore[no-any-return]


async def test_each_frame_without_source_says_why(make_settings, tmp_path: Path) -> None:
    checkout = tmp_path / "checkout"
    (checkout / "email_agent").mkdir(parents=True)
    (checkout / "email_agent" / "agent.py").write_text(AGENT_PY)
    (checkout / "docs").mkdir()
    (checkout / "docs" / "key_notes.py").write_text(KEY)
    facts = build_demo_db(tmp_path / "telemetry.db")
    _failure(facts.path)
    frames = await _frames(make_settings(telemetry_db=facts.path, now=DEMO_ANCHOR, repo_root=checkout))
    by_line = {(f["file"].removeprefix("/srv/agents/"), f["line"]): f for f in frames}

    shown = by_line[("email_agent/agent.py", 10)]
    assert [s["line"] for s in shown["source"]] == [7, 8, 9, 10, 11, 12, 13] and shown["source_note"] is None
    past = by_line[("email_agent/agent.py", 400)]
    assert past["source"] == [] and past["repo_path"] == "email_agent/agent.py"
    assert "line 400 is out of range" in past["source_note"] and "has 20 lines" in past["source_note"]
    gone = by_line[("email_agent/gone.py", 3)]
    assert gone["repo_path"] is None and "not under repo_root" in gone["source_note"]
    key = by_line[("docs/key_notes.py", 1)]
    assert key["source"] == [] and "private key" in key["source_note"]
    assert "OPENSSH" not in repr(frames)


async def test_without_repo_root_every_frame_says_to_configure_it(make_settings, tmp_path: Path) -> None:
    facts = build_demo_db(tmp_path / "telemetry.db")
    _failure(facts.path)
    frames = await _frames(make_settings(telemetry_db=facts.path, now=DEMO_ANCHOR))
    assert frames and all(f["source"] == [] for f in frames)
    assert all("no repo_root is configured" in f["source_note"] for f in frames)
