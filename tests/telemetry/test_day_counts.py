"""Counts of finished days are reused; recent days and imports are never answered from the cache."""

from __future__ import annotations

import json
import sqlite3
from datetime import UTC, datetime
from pathlib import Path

from mcp import Client
from mcp_calls import call
from self_improver.server.app import build_server
from self_improver.server.cli import main
from self_improver.server.config import load_settings
from self_improver.tools.telemetry.schema import open_writable

NOW = datetime(2026, 2, 16, 0, 17, tzinfo=UTC)


def _store(path: Path) -> Path:
    conn = open_writable(str(path))
    rows = [
        ("failed" if h % 5 == 0 else "done", f"2026-02-{d:02d} {h:02d}:00:00")
        for d in range(5, 16)
        for h in range(24)
    ]
    conn.executemany("INSERT INTO tasks(status, created_at) VALUES (?, ?)", rows)
    conn.commit()
    conn.close()
    return path


async def _trend(settings) -> dict[str, tuple[int, int]]:  # type: ignore[no-untyped-def]
    async with Client(build_server(settings)) as client:
        trend = await call(client, "failure_trend", days=10, until="2026-02-16")
    return {d["day"]: (d["total"], d["failed"]) for d in trend["days"]}


async def test_recent_days_are_counted_live_and_ingest_clears_the_cache(tmp_path: Path) -> None:
    db = _store(tmp_path / "telemetry.db")
    settings = load_settings(None, data_dir=tmp_path / "data", telemetry_db=db, now=NOW)
    first = await _trend(settings)
    assert first["2026-02-08"] == (24, 5) and (tmp_path / "data" / "day_counts.db").exists()
    with sqlite3.connect(db) as conn:  # a late task yesterday: yesterday is always counted live
        conn.execute("INSERT INTO tasks(status, created_at) VALUES ('failed', '2026-02-15 23:00:00')")
    assert (await _trend(settings))["2026-02-15"] == (25, 6)
    lines = tmp_path / "old.jsonl"
    lines.write_text(
        json.dumps({"status": "failed", "error": "x", "created_at": "2026-02-08T12:30:00Z"}) + "\n"
    )
    assert main(["ingest", str(lines), "--data-dir", str(tmp_path / "data"), "--telemetry-db", str(db)]) == 0
    assert (await _trend(settings))["2026-02-08"] == (25, 6)


async def test_answers_with_and_without_the_cache_agree(tmp_path: Path) -> None:
    db = _store(tmp_path / "telemetry.db")
    settings = load_settings(
        None, data_dir=tmp_path / "data", telemetry_db=db, now=NOW, timezone="Europe/Berlin"
    )
    cold, warm = await _trend(settings), await _trend(settings)
    async with Client(build_server(settings)) as client:
        top = await call(client, "top_errors", days=10, until="2026-02-16")
    assert cold == warm and top["total_tasks"] == sum(t for t, _ in warm.values())
