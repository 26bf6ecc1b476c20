"""The errors toolset on the seed night: stable signatures, states, incremental clustering, evidence."""

from __future__ import annotations

import hashlib
import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from mcp import Client
from mcp_calls import call, call_error
from self_improver.examples.demo_telemetry import DEMO_ANCHOR, SECRET_FRAGMENTS, build_demo_db
from self_improver.server.app import build_server
from self_improver.tools.errors.lifecycle import is_escalating_on, state_of


@pytest.fixture
def night(tmp_path: Path):
    """A private copy of the demo night (tests here add tasks to it)."""
    facts = build_demo_db(tmp_path / "telemetry.db")
    return facts


def _server(make_settings, facts, **extra):
    return build_server(make_settings(telemetry_db=facts.path, now=extra.pop("now", DEMO_ANCHOR), **extra))


async def test_top_errors_returns_signature_groups_with_rates_trends_and_states(make_settings, night) -> None:
    async with Client(_server(make_settings, night)) as client:
        top = await call(client, "top_errors", days=7, limit=3)
    gateway, imap, attribute = top["groups"]
    assert [g["count"] for g in top["groups"]] == [10, 4, 2]
    assert attribute["title"] == "AttributeError: '_email_context_until'"
    assert imap["title"].startswith("TimeoutError: IMAP timeout")
    for group in top["groups"]:
        assert len(group["signature"]) == 12
        assert len(group["trend"]) == 8 and sum(d["count"] for d in group["trend"]) == group["count"]
        assert group["rate_per_1000"] == round(1000 * group["count"] / top["total_tasks"], 2)
        assert group["first_seen"] <= group["last_seen"]
    # First seen on Feb 15 -> new; the gateway timeouts jumped on Feb 15 against a quiet week -> escalating.
    assert attribute["state"] == "new"
    assert gateway["state"] == "escalating"
    assert top["failed_tasks"] == 27 and top["has_more"]


async def test_state_filter_shows_only_rising_problems(make_settings, night) -> None:
    async with Client(_server(make_settings, night)) as client:
        rising = await call(client, "top_errors", states=["new", "escalating"])
        assert "Input should be 'new'" in await call_error(client, "top_errors", states=["hot"])
    assert {g["state"] for g in rising["groups"]} <= {"new", "escalating"}
    assert "AttributeError: '_email_context_until'" in [g["title"] for g in rising["groups"]]
    assert all("IMAP" not in g["title"] for g in rising["groups"])


def _add_failure(db: Path, created: datetime, error: str, error_type: str, traceback: str) -> None:
    conn = sqlite3.connect(db)
    conn.execute(
        "INSERT INTO tasks(status, error, error_type, traceback, created_at, agent) VALUES ('failed',?,?,?,?,?)",
        (error, error_type, traceback, created.strftime("%Y-%m-%d %H:%M:%S"), "email-agent"),
    )
    conn.commit()
    conn.close()


async def test_a_week_later_the_same_error_keeps_its_signature_and_only_new_tasks_are_processed(
    make_settings, night, tmp_path: Path
) -> None:
    conn = sqlite3.connect(night.path)
    error, error_type, traceback = conn.execute(
        "SELECT error, error_type, traceback FROM tasks WHERE error LIKE '%IMAP timeout%' ORDER BY id DESC LIMIT 1"
    ).fetchone()
    conn.close()
    async with Client(_server(make_settings, night)) as client:
        before = {g["title"]: g["signature"] for g in (await call(client, "top_errors", limit=50))["groups"]}
    signatures_db = tmp_path / "data" / "signatures.db"
    assigned = sqlite3.connect(signatures_db).execute("SELECT COUNT(*) FROM task_signatures").fetchone()[0]

    later = DEMO_ANCHOR + timedelta(days=7)
    shifted = (
        traceback.replace("line ", "line 1")
        .replace("30s", "47s")
        .replace("imap.mail.example.com", "imap2.example.org")
    )
    _add_failure(night.path, later - timedelta(hours=1), error.replace("30s", "47s"), error_type, shifted)
    async with Client(_server(make_settings, night, now=later)) as client:
        after = await call(client, "top_errors", days=1, limit=50)
    imap_signature = next(s for t, s in before.items() if "IMAP" in t)
    assert [g["signature"] for g in after["groups"]] == [imap_signature]
    rows = sqlite3.connect(signatures_db).execute("SELECT COUNT(*) FROM task_signatures").fetchone()[0]
    assert rows == assigned + 1, "re-clustering must process only the task it had not seen"


async def test_clustering_never_writes_into_the_telemetry_database(
    make_settings, night, tmp_path: Path
) -> None:
    digest = hashlib.sha256(night.path.read_bytes()).hexdigest()
    async with Client(_server(make_settings, night)) as client:
        top = await call(client, "top_errors")
        await call(client, "error_cluster", signature=top["groups"][0]["signature"])
    assert hashlib.sha256(night.path.read_bytes()).hexdigest() == digest
    assert (tmp_path / "data" / "signatures.db").is_file()


async def test_error_cluster_gives_traceback_frames_with_source_and_variants(
    make_settings, night, tmp_path
) -> None:
    root = tmp_path / "checkout"
    (root / "email_agent").mkdir(parents=True)
    (root / "email_agent" / "agent.py").write_text("".join(f"# line {n}\n" for n in range(1, 601)))
    async with Client(_server(make_settings, night, repo_root=root)) as client:
        top = await call(client, "top_errors", limit=3)
        attribute = top["groups"][2]["signature"]
        detail = await call(client, "error_cluster", signature=attribute)
        missing = await call_error(client, "error_cluster", signature="0123456789ab")
    assert detail["error_type"] == "AttributeError" and detail["occurrences"] == 2
    assert "Traceback (most recent call last)" in detail["traceback"]
    frame = next(f for f in detail["in_app_frames"] if f["function"] == "_should_refresh_context")
    assert frame["repo_path"] == "email_agent/agent.py"
    assert [s["line"] for s in frame["source"]] == list(range(frame["line"] - 3, frame["line"] + 4))
    assert frame["source"][3]["text"] == f"# line {frame['line']}"
    assert detail["variants"][0]["count"] == 2
    assert sum(d["count"] for d in detail["per_day"]) == 2
    assert "top_errors" in missing


async def test_secrets_in_tracebacks_are_redacted(make_settings, night) -> None:
    async with Client(_server(make_settings, night)) as client:
        top = await call(client, "top_errors", days=30, limit=50)
        texts = []
        for group in top["groups"]:
            detail = await call(client, "error_cluster", signature=group["signature"])
            texts += [
                detail["traceback"] or "",
                group["example"],
                *[v["message"] for v in detail["variants"]],
            ]
    blob = "\n".join(texts)
    assert "smtp" in blob.lower(), "the demo's leaked-secret failure should be among the groups"
    for fragment in SECRET_FRAGMENTS:
        assert fragment not in blob


def test_escalation_needs_a_real_jump_not_small_counts() -> None:
    day = datetime(2026, 2, 15).date()
    quiet = {day - timedelta(days=i): 0 for i in range(1, 8)}
    assert not is_escalating_on({**quiet, day: 2}, day)
    assert is_escalating_on({**quiet, day: 4}, day)
    busy = {day - timedelta(days=i): 10 for i in range(1, 8)}
    assert not is_escalating_on({**busy, day: 14}, day)
    assert is_escalating_on({**busy, day: 25}, day)


def test_resolved_and_regressed_follow_the_resolution_mark() -> None:
    now = datetime(2026, 2, 16, tzinfo=UTC)
    first, fixed = now - timedelta(days=30), now - timedelta(days=3)
    assert state_of({}, first, fixed - timedelta(hours=1), now.date(), now, resolved_at=fixed) == "resolved"
    assert state_of({}, first, fixed + timedelta(hours=1), now.date(), now, resolved_at=fixed) == "regressed"
    assert state_of({}, now - timedelta(days=2), now, now.date(), now) == "new"
    assert state_of({}, first, now, now.date(), now) == "ongoing"


def _log_db(path: Path, rows: list[tuple[str, str]]) -> Path:
    conn = sqlite3.connect(path)
    conn.execute(
        "CREATE TABLE IF NOT EXISTS tasks (id INTEGER PRIMARY KEY, status TEXT, error TEXT, created_at TEXT)"
    )
    conn.executemany("INSERT INTO tasks(status, error, created_at) VALUES ('failed', ?, ?)", rows)
    conn.commit()
    conn.close()
    return path


async def test_log_style_errors_are_mined_into_one_signature_that_later_nights_keep(
    make_settings, tmp_path: Path
) -> None:
    """No traceback, and the varying part is a plain word: the template miner groups them, and a new
    name a night later joins the same signature instead of starting its own."""
    names = ["alice", "bob", "carol", "dave", "erin", "frank"]
    db = _log_db(
        tmp_path / "logs.db",
        [(f"user {n} not found in directory", f"2026-02-15 0{i}:00:00") for i, n in enumerate(names)],
    )
    async with Client(build_server(make_settings(telemetry_db=db, now=DEMO_ANCHOR))) as client:
        first = await call(client, "top_errors", days=7)
    assert [g["count"] for g in first["groups"]] == [6]
    signature = first["groups"][0]["signature"]
    assert "<*>" in first["groups"][0]["template"] or "<" in first["groups"][0]["template"]

    _log_db(db, [("user zoe not found in directory", "2026-02-16 12:00:00")])
    later = DEMO_ANCHOR + timedelta(days=1)
    async with Client(build_server(make_settings(telemetry_db=db, now=later))) as client:
        second = await call(client, "top_errors", days=1)
    assert [(g["signature"], g["count"]) for g in second["groups"]] == [(signature, 1)]
