"""`pulls.db`: the local provider's pull requests, and what we last saw of GitHub ones.

One table for both providers. For `local` a row *is* the pull request; for `github` it is a record
of a pull request we opened or saw (its last known state, the linked finding, the run that opened it),
used to count per-run opens, to notice state changes and to answer `merged_pull_requests`.
`synced_state` is the state memory last recorded; a row whose `state` differs has a change to sync.
"""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from ..support.local_db import columns, create_tables, immediate, read_rows
from .models import PullRequest

SCHEMA = """
CREATE TABLE IF NOT EXISTS pull_requests (
    provider     TEXT NOT NULL,
    repo         TEXT NOT NULL,
    number       INTEGER NOT NULL,
    title        TEXT NOT NULL,
    body         TEXT NOT NULL DEFAULT '',
    state        TEXT NOT NULL,
    draft        INTEGER NOT NULL DEFAULT 0,
    head         TEXT NOT NULL,
    head_sha     TEXT,
    base         TEXT NOT NULL,
    labels       TEXT NOT NULL DEFAULT '[]',
    checks       TEXT NOT NULL DEFAULT 'pending',
    signature    TEXT,
    finding_id   TEXT,
    url          TEXT NOT NULL,
    created_at   TEXT NOT NULL,
    updated_at   TEXT NOT NULL,
    merged_at    TEXT,
    synced_state TEXT,
    opened_run   TEXT,
    PRIMARY KEY (provider, repo, number)
);
CREATE INDEX IF NOT EXISTS idx_pulls_signature ON pull_requests(provider, repo, signature, state);
CREATE INDEX IF NOT EXISTS idx_pulls_run ON pull_requests(opened_run);
"""
_COLUMNS = (
    "repo, number, title, state, draft, checks, signature, finding_id, url, head, base, labels, "
    "created_at, updated_at, merged_at, synced_state"
)


_SAME_NAMED = (
    "repo number title checks signature finding_id url head base created_at updated_at merged_at".split()
)


def _row_to_pull(row: sqlite3.Row) -> PullRequest:
    return PullRequest(
        **columns(row, _SAME_NAMED),
        status=row["state"],
        draft=bool(row["draft"]),
        labels=json.loads(row["labels"]),
        recorded_status=row["synced_state"],
    )


class PullRecords:
    """Synchronous; callers run it in a worker thread. Writes take an immediate transaction."""

    def __init__(self, path: Path):
        self.path = path
        self._lock = threading.Lock()
        create_tables(path, SCHEMA)

    @contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        with self._lock, immediate(self.path) as conn:
            yield conn

    def _read(self, sql: str, params: tuple[object, ...] = ()) -> list[sqlite3.Row]:
        return read_rows(self.path, sql, params)

    # -- writes ----------------------------------------------------------------------------------

    def insert_local(self, pull: PullRequest, body: str, head_sha: str, run_id: str) -> PullRequest:
        """Store a new local pull request under the next number of its repo."""
        with self._write() as conn:
            (number,) = conn.execute(
                "SELECT COALESCE(MAX(number), 0) + 1 FROM pull_requests WHERE provider = 'local' AND repo = ?",
                (pull.repo,),
            ).fetchone()
            created = pull.model_copy(
                update={"number": number, "url": pull.url.replace("{number}", str(number))}
            )
            self._upsert(conn, "local", created, body=body, head_sha=head_sha, run_id=run_id)
        return created

    def record(
        self, provider: str, pull: PullRequest, run_id: str | None = None, head_sha: str | None = None
    ) -> None:
        """Insert or refresh what we know of a pull request; keeps its run, finding link and sync mark."""
        with self._write() as conn:
            self._upsert(conn, provider, pull, body="", head_sha=head_sha, run_id=run_id)

    @staticmethod
    def _upsert(
        conn: sqlite3.Connection,
        provider: str,
        pull: PullRequest,
        body: str,
        head_sha: str | None,
        run_id: str | None,
    ) -> None:
        conn.execute(
            "INSERT INTO pull_requests (provider, repo, number, title, body, state, draft, head, head_sha, base, "
            "labels, checks, signature, finding_id, url, created_at, updated_at, merged_at, opened_run) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) "
            "ON CONFLICT (provider, repo, number) DO UPDATE SET title = excluded.title, state = excluded.state, "
            "draft = excluded.draft, head_sha = COALESCE(excluded.head_sha, head_sha), labels = excluded.labels, "
            "checks = excluded.checks, signature = COALESCE(excluded.signature, signature), "
            "finding_id = COALESCE(excluded.finding_id, finding_id), url = excluded.url, "
            "updated_at = excluded.updated_at, merged_at = excluded.merged_at, "
            "opened_run = COALESCE(opened_run, excluded.opened_run)",
            (
                provider,
                pull.repo,
                pull.number,
                pull.title,
                body,
                pull.status,
                int(pull.draft),
                pull.head,
                head_sha,
                pull.base,
                json.dumps(pull.labels),
                pull.checks,
                pull.signature,
                pull.finding_id,
                pull.url,
                pull.created_at,
                pull.updated_at,
                pull.merged_at,
                run_id,
            ),
        )

    def set_fields(self, provider: str, repo: str, number: int, **fields: object) -> bool:
        """Change columns of one row (state, checks, merged_at, updated_at, finding_id, synced_state)."""
        allowed = {"state", "checks", "merged_at", "updated_at", "finding_id", "synced_state"}
        if not fields or set(fields) - allowed:
            raise ValueError(f"set_fields takes {sorted(allowed)}, got {sorted(fields)}")
        assignments = ", ".join(f"{name} = ?" for name in fields)
        with self._write() as conn:
            cursor = conn.execute(
                f"UPDATE pull_requests SET {assignments} WHERE provider = ? AND repo = ? AND number = ?",
                (*fields.values(), provider, repo, number),
            )
            return cursor.rowcount > 0

    # -- reads -----------------------------------------------------------------------------------

    def get(self, provider: str, repo: str, number: int) -> PullRequest | None:
        rows = self._read(
            f"SELECT {_COLUMNS} FROM pull_requests WHERE provider = ? AND repo = ? AND number = ?",
            (provider, repo, number),
        )
        return _row_to_pull(rows[0]) if rows else None

    def by_number(self, number: int) -> list[PullRequest]:
        """Every recorded pull request with this number (one per repository and provider)."""
        rows = self._read(f"SELECT {_COLUMNS} FROM pull_requests WHERE number = ?", (number,))
        return [_row_to_pull(r) for r in rows]

    def head_sha(self, provider: str, repo: str, number: int) -> str | None:
        rows = self._read(
            "SELECT head_sha FROM pull_requests WHERE provider = ? AND repo = ? AND number = ?",
            (provider, repo, number),
        )
        return rows[0]["head_sha"] if rows else None

    def open_with_signature(self, provider: str, repo: str, signature: str) -> list[PullRequest]:
        rows = self._read(
            f"SELECT {_COLUMNS} FROM pull_requests WHERE provider = ? AND repo = ? AND signature = ? "
            "AND state = 'open' ORDER BY number DESC",
            (provider, repo, signature),
        )
        return [_row_to_pull(r) for r in rows]

    def count_open(self, provider: str, repos: list[str]) -> int:
        marks = ",".join("?" for _ in repos) or "NULL"
        rows = self._read(
            f"SELECT COUNT(*) AS n FROM pull_requests WHERE provider = ? AND state = 'open' AND repo IN ({marks}) "
            "AND labels LIKE '%\"self-improver\"%'",
            (provider, *repos),
        )
        return int(rows[0]["n"])

    def opened_in_run(self, run_id: str) -> int:
        rows = self._read("SELECT COUNT(*) AS n FROM pull_requests WHERE opened_run = ?", (run_id,))
        return int(rows[0]["n"])

    def page(
        self, provider: str, repo: str, states: tuple[str, ...], before_number: int | None, limit: int
    ) -> list[PullRequest]:
        """Newest first, starting after `before_number` (keyset paging)."""
        marks = ",".join("?" for _ in states)
        rows = self._read(
            f"SELECT {_COLUMNS} FROM pull_requests WHERE provider = ? AND repo = ? AND state IN ({marks}) "
            "AND number < ? ORDER BY number DESC LIMIT ?",
            (provider, repo, *states, before_number if before_number is not None else 2**62, limit),
        )
        return [_row_to_pull(r) for r in rows]

    def recorded_states(self, provider: str, repo: str, numbers: list[int]) -> dict[int, str | None]:
        marks = ",".join("?" for _ in numbers) or "NULL"
        rows = self._read(
            f"SELECT number, synced_state FROM pull_requests WHERE provider = ? AND repo = ? AND number IN ({marks})",
            (provider, repo, *numbers),
        )
        return {r["number"]: r["synced_state"] for r in rows}

    def to_refresh(self, provider: str, repo: str, limit: int) -> list[PullRequest]:
        """Rows whose live state may have moved on: still open, or changed but not yet synced."""
        rows = self._read(
            f"SELECT {_COLUMNS} FROM pull_requests WHERE provider = ? AND repo = ? "
            "AND (state = 'open' OR synced_state IS NOT state) ORDER BY updated_at LIMIT ?",
            (provider, repo, limit),
        )
        return [_row_to_pull(r) for r in rows]

    def unsynced(self, provider: str, repo: str) -> list[PullRequest]:
        rows = self._read(
            f"SELECT {_COLUMNS} FROM pull_requests WHERE provider = ? AND repo = ? AND synced_state IS NOT state "
            "ORDER BY number",
            (provider, repo),
        )
        return [_row_to_pull(r) for r in rows]

    def merged_since(self, since: str) -> list[PullRequest]:
        rows = self._read(
            f"SELECT {_COLUMNS} FROM pull_requests WHERE state = 'merged' AND merged_at >= ? "
            "ORDER BY merged_at, repo, number",
            (since,),
        )
        return [_row_to_pull(r) for r in rows]
