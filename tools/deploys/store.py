"""`deploys.db`: when each release went live, in the data dir (never in the user's telemetry).

A deploy is recorded by `self-improver deploy record --release R [--commit SHA] [--at TIME]`
(`source = 'recorded'`), or learned from the telemetry: where tasks carry a release, the first time a
release is seen counts as its deploy when none was recorded (`source = 'first_seen'`). A recorded deploy
always wins over a first-seen one; a later first sighting never moves an earlier one.
"""

from __future__ import annotations

import sqlite3
import threading
from datetime import datetime
from pathlib import Path
from typing import Any

from ..support.local_db import open_local_db
from ..telemetry.windows import parse_timestamp, utc_text

DEPLOYS_DB = "deploys.db"
SCHEMA = """
CREATE TABLE IF NOT EXISTS deploys (
    release      TEXT PRIMARY KEY,
    commit_sha   TEXT,
    deployed_at  TEXT NOT NULL,          -- canonical UTC text
    source       TEXT NOT NULL,          -- 'recorded' | 'first_seen'
    recorded_at  TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS idx_deploys_at ON deploys(deployed_at, release);
CREATE TABLE IF NOT EXISTS marks (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
"""


class DeployStore:
    """Synchronous; callers run it in a worker thread. One lock serialises writers."""

    def __init__(self, path: Path):
        self.path = path
        self._lock = threading.Lock()
        with self._connect() as conn:
            conn.executescript(SCHEMA)

    @classmethod
    def in_dir(cls, data_dir: Path) -> DeployStore:
        return cls(Path(data_dir) / DEPLOYS_DB)

    def _connect(self) -> sqlite3.Connection:
        return open_local_db(self.path)

    def record(self, release: str, at: datetime, commit: str | None, now: datetime) -> bool:
        """Record a deploy said by a person or a pipeline; returns True when it is new."""
        with self._lock, self._connect() as conn:
            before = conn.execute("SELECT 1 FROM deploys WHERE release = ?", (release,)).fetchone()
            conn.execute(
                "INSERT INTO deploys(release, commit_sha, deployed_at, source, recorded_at) "
                "VALUES (?, ?, ?, 'recorded', ?) ON CONFLICT(release) DO UPDATE SET "
                "commit_sha = coalesce(excluded.commit_sha, deploys.commit_sha), "
                "deployed_at = excluded.deployed_at, source = 'recorded', recorded_at = excluded.recorded_at",
                (release, commit, utc_text(at), utc_text(now)),
            )
        return before is None

    def observe(self, first_seen: dict[str, datetime], now: datetime) -> int:
        """Releases seen in the telemetry: a release without a deploy gets one at its first sighting
        (an earlier sighting moves a first-seen deploy back). Returns how many releases were new."""
        if not first_seen:
            return 0
        with self._lock, self._connect() as conn:
            known = {r[0] for r in conn.execute("SELECT release FROM deploys")}
            conn.executemany(
                "INSERT INTO deploys(release, commit_sha, deployed_at, source, recorded_at) "
                "VALUES (?, NULL, ?, 'first_seen', ?) ON CONFLICT(release) DO UPDATE SET "
                "deployed_at = min(deploys.deployed_at, excluded.deployed_at) WHERE deploys.source = 'first_seen'",
                [(release, utc_text(at), utc_text(now)) for release, at in first_seen.items()],
            )
        return len(set(first_seen) - known)

    def all(self) -> list[sqlite3.Row]:
        """Every deploy, oldest first."""
        with self._connect() as conn:
            return conn.execute("SELECT * FROM deploys ORDER BY deployed_at, release").fetchall()

    def page(self, limit: int, after: tuple[str, str] | None = None) -> list[sqlite3.Row]:
        """Newest first; `after` is the (deployed_at, release) of the previous page's last row."""
        params: list[Any] = []
        where = ""
        if after is not None:
            where, params = "WHERE (deployed_at, release) < (?, ?)", [after[0], after[1]]
        with self._connect() as conn:
            return conn.execute(
                f"SELECT * FROM deploys {where} ORDER BY deployed_at DESC, release DESC LIMIT ?",
                [*params, limit],
            ).fetchall()

    def count(self) -> int:
        with self._connect() as conn:
            return int(conn.execute("SELECT COUNT(*) FROM deploys").fetchone()[0])

    def mark(self, key: str) -> datetime | None:
        with self._connect() as conn:
            row = conn.execute("SELECT value FROM marks WHERE key = ?", (key,)).fetchone()
        return parse_timestamp(row["value"]) if row else None

    def set_mark(self, key: str, at: datetime) -> None:
        with self._lock, self._connect() as conn:
            conn.execute(
                "INSERT INTO marks(key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value",
                (key, utc_text(at)),
            )
