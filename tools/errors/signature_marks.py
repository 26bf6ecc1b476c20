"""What people and merged fixes said about a signature, next to the signatures in `signatures.db`.

- `mutes`: a reviewer called a finding noise, or closed a fix's pull request without merging it; the
  signature is muted until a date (`top_errors` shows it only when asked, the nightly prompt skips it).
  A muted signature that escalates comes back by itself: the mute is lifted, with the reason recorded.
- `fixes`: the merged fix a signature was resolved by, with its merge commit and repository when known,
  so the lifecycle can tell whether a failure ran on a release that contains the fix.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from ..support.local_db import open_local_db
from ..telemetry.windows import parse_timestamp, utc_text

SCHEMA = """
CREATE TABLE IF NOT EXISTS mutes (
    signature     TEXT PRIMARY KEY,
    reason        TEXT NOT NULL,
    until         TEXT NOT NULL,
    muted_at      TEXT NOT NULL,
    muted_by      TEXT NOT NULL,
    lifted_at     TEXT,
    lifted_reason TEXT
);
CREATE TABLE IF NOT EXISTS fixes (
    signature   TEXT PRIMARY KEY,
    merged_at   TEXT NOT NULL,
    commit_sha  TEXT,
    repo        TEXT,
    fixed_by    TEXT
);
"""


@dataclass(frozen=True)
class Mute:
    signature: str
    reason: str
    until: datetime
    muted_at: datetime
    muted_by: str
    lifted_at: datetime | None = None
    lifted_reason: str | None = None

    def active(self, now: datetime) -> bool:
        return self.lifted_at is None and now < self.until


@dataclass(frozen=True)
class FixRecord:
    signature: str
    merged_at: datetime
    commit: str | None
    repo: str | None
    fixed_by: str | None


class SignatureMarks:
    """Synchronous; callers run it in a worker thread."""

    def __init__(self, path: Path):
        self.path = path
        self._lock = threading.Lock()
        with self._connect() as conn:
            conn.executescript(SCHEMA)

    def _connect(self) -> sqlite3.Connection:
        return open_local_db(self.path)

    # -- mutes ---------------------------------------------------------------------------------------
    def mute(self, signature: str, reason: str, until: datetime, now: datetime, by: str) -> Mute:
        with self._lock, self._connect() as conn:
            conn.execute(
                "INSERT INTO mutes(signature, reason, until, muted_at, muted_by) VALUES (?, ?, ?, ?, ?) "
                "ON CONFLICT(signature) DO UPDATE SET reason = excluded.reason, until = excluded.until, "
                "muted_at = excluded.muted_at, muted_by = excluded.muted_by, lifted_at = NULL, lifted_reason = NULL",
                (signature, reason, utc_text(until), utc_text(now), by),
            )
        return Mute(signature, reason, until, now, by)

    def lift(self, signature: str, reason: str, now: datetime) -> bool:
        with self._lock, self._connect() as conn:
            cursor = conn.execute(
                "UPDATE mutes SET lifted_at = ?, lifted_reason = ? WHERE signature = ? AND lifted_at IS NULL",
                (utc_text(now), reason, signature),
            )
        return bool(cursor.rowcount)

    def mutes(self, signatures: Iterable[str] | None = None) -> dict[str, Mute]:
        """Every mute (lifted and expired ones too), or those of the given signatures."""
        with self._connect() as conn:
            if signatures is None:
                rows = conn.execute("SELECT * FROM mutes").fetchall()
            else:
                wanted = list(signatures)
                rows = []
                for start in range(0, len(wanted), 500):
                    chunk = wanted[start : start + 500]
                    marks = ",".join("?" * len(chunk))
                    rows += conn.execute(
                        f"SELECT * FROM mutes WHERE signature IN ({marks})", chunk
                    ).fetchall()
        return {r["signature"]: _mute(r) for r in rows}

    def mutes_since(self, since: datetime) -> list[Mute]:
        """Mutes made or lifted since `since`, newest first (for the nightly report)."""
        text = utc_text(since)
        with self._connect() as conn:
            rows = conn.execute(
                "SELECT * FROM mutes WHERE muted_at >= ? OR lifted_at >= ? ORDER BY muted_at DESC",
                (text, text),
            ).fetchall()
        return [_mute(r) for r in rows]

    # -- fixes ---------------------------------------------------------------------------------------
    def record_fix(
        self, signature: str, merged_at: datetime, commit: str | None, repo: str | None, by: str | None
    ) -> None:
        with self._lock, self._connect() as conn:
            conn.execute(
                "INSERT INTO fixes(signature, merged_at, commit_sha, repo, fixed_by) VALUES (?, ?, ?, ?, ?) "
                "ON CONFLICT(signature) DO UPDATE SET merged_at = excluded.merged_at, "
                "commit_sha = excluded.commit_sha, repo = excluded.repo, fixed_by = excluded.fixed_by",
                (signature, utc_text(merged_at), commit, repo, by),
            )

    def fixes(self, signatures: Iterable[str]) -> dict[str, FixRecord]:
        wanted = list(signatures)
        rows: list[sqlite3.Row] = []
        with self._connect() as conn:
            for start in range(0, len(wanted), 500):
                chunk = wanted[start : start + 500]
                marks = ",".join("?" * len(chunk))
                rows += conn.execute(f"SELECT * FROM fixes WHERE signature IN ({marks})", chunk).fetchall()
        return {
            r["signature"]: FixRecord(
                r["signature"], parse_timestamp(r["merged_at"]), r["commit_sha"], r["repo"], r["fixed_by"]
            )
            for r in rows
        }


def _mute(row: sqlite3.Row) -> Mute:
    return Mute(
        row["signature"],
        row["reason"],
        parse_timestamp(row["until"]),
        parse_timestamp(row["muted_at"]),
        row["muted_by"],
        parse_timestamp(row["lifted_at"]) if row["lifted_at"] else None,
        row["lifted_reason"],
    )
