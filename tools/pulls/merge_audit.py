"""The merge audit trail: the `merge_audit` table in pulls.db.

One row per merge attempt (merged, refused or failed) and per revert pull request, with who, when, the
head commit and the default branch before and after. Rows are only ever inserted. `merger.py` writes
it; `PullRequestService.merge_audit()` reads it; a revert is allowed only for a merge recorded here.
"""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, Field

from ..support.local_db import columns, committing, create_tables, read_rows

AUDIT_SCHEMA = """
CREATE TABLE IF NOT EXISTS merge_audit (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    at          TEXT NOT NULL,
    actor       TEXT NOT NULL,
    action      TEXT NOT NULL,
    outcome     TEXT NOT NULL,
    provider    TEXT NOT NULL,
    repo        TEXT NOT NULL,
    number      INTEGER NOT NULL,
    head_sha    TEXT,
    branch      TEXT,
    before_sha  TEXT,
    after_sha   TEXT,
    failed      TEXT NOT NULL DEFAULT '[]',
    detail      TEXT
);
CREATE INDEX IF NOT EXISTS idx_merge_audit_pull ON merge_audit(provider, repo, number, id);
"""

Action = Literal["merge", "revert"]
Outcome = Literal["merged", "refused", "failed", "opened", "dry_run"]


class MergeAuditEntry(BaseModel):
    id: int
    at: str = Field(description="UTC.")
    actor: str
    action: Action = Field(description="'revert': a revert PR opened.")
    outcome: Outcome = Field(description="'refused': a rule failed; 'dry_run': evaluated only.")
    provider: str
    repo: str
    number: int
    head_sha: str | None = Field(description="Evaluated head (or the revert commit).")
    branch: str | None = Field(description="Moved (merge) or created (revert).")
    before_sha: str | None = Field(description="That branch before; null: it did not exist.")
    after_sha: str | None = Field(description="That branch after; null: nothing moved.")
    failed_rules: list[str] = Field(description="'rule: detail' per failed rule.")
    detail: str | None = None


class MergeAudit:
    """Inserts and reads `merge_audit` in pulls.db; synchronous (callers use a worker thread)."""

    def __init__(self, path: Path):
        self.path = path
        create_tables(path, AUDIT_SCHEMA)

    def record(
        self,
        *,
        at: str,
        actor: str,
        action: Action,
        outcome: Outcome,
        provider: str,
        repo: str,
        number: int,
        head_sha: str | None = None,
        branch: str | None = None,
        before_sha: str | None = None,
        after_sha: str | None = None,
        failed_rules: list[str] | None = None,
        detail: str | None = None,
    ) -> MergeAuditEntry:
        with committing(self.path) as conn:
            cursor = conn.execute(
                "INSERT INTO merge_audit (at, actor, action, outcome, provider, repo, number, head_sha, branch, "
                "before_sha, after_sha, failed, detail) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    at,
                    actor,
                    action,
                    outcome,
                    provider,
                    repo,
                    number,
                    head_sha,
                    branch,
                    before_sha,
                    after_sha,
                    json.dumps(failed_rules or []),
                    detail,
                ),
            )
            row = conn.execute("SELECT * FROM merge_audit WHERE id = ?", (cursor.lastrowid,)).fetchone()
        return _entry(row)

    def entries(
        self,
        repo: str | None = None,
        number: int | None = None,
        provider: str | None = None,
        action: Action | None = None,
        outcome: Outcome | None = None,
        since: str | None = None,
        limit: int = 50,
    ) -> list[MergeAuditEntry]:
        """Newest first, filtered by whatever is given."""
        where, params = [], []
        for column, value in (
            ("repo", repo),
            ("number", number),
            ("provider", provider),
            ("action", action),
            ("outcome", outcome),
        ):
            if value is not None:
                where.append(f"{column} = ?")
                params.append(value)
        if since is not None:
            where.append("at >= ?")
            params.append(since)
        clause = f"WHERE {' AND '.join(where)}" if where else ""
        rows = read_rows(
            self.path, f"SELECT * FROM merge_audit {clause} ORDER BY id DESC LIMIT ?", (*params, limit)
        )
        return [_entry(r) for r in rows]

    def merged_by_us(self, provider: str, repo: str, number: int) -> MergeAuditEntry | None:
        found = self.entries(repo=repo, number=number, provider=provider, action="merge", outcome="merged")
        return found[0] if found else None


_SAME_NAMED = tuple(name for name in MergeAuditEntry.model_fields if name != "failed_rules")


def _entry(row: sqlite3.Row) -> MergeAuditEntry:
    return MergeAuditEntry(**columns(row, _SAME_NAMED), failed_rules=json.loads(row["failed"]))
