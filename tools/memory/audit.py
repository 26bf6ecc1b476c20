"""The audit trail: every change to a finding, who made it and when, in SQLite next to the memory.

chroma keeps only the current state of a finding; this table keeps how it got there (opened PR,
merged, closed, verdicts recorded later), so `finding_history` can tell the whole story. Values are
stored as JSON to keep their types.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from ..support.local_db import committing
from .models import AuditEntry, Scalar

_SCHEMA = """
CREATE TABLE IF NOT EXISTS audit (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    finding_id TEXT NOT NULL,
    signature TEXT,
    actor TEXT NOT NULL,
    action TEXT NOT NULL,
    field TEXT,
    before TEXT,
    after TEXT,
    at TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS audit_by_signature ON audit (signature, at);
CREATE INDEX IF NOT EXISTS audit_by_finding ON audit (finding_id, at);
"""


@dataclass(frozen=True)
class Change:
    finding_id: str
    signature: str | None
    actor: str
    action: str
    field: str | None
    before: Scalar
    after: Scalar
    at: str


class AuditLog:
    def __init__(self, path: Path):
        self.path = path

    def record(self, changes: Iterable[Change]) -> None:
        rows = [
            (
                c.finding_id,
                c.signature,
                c.actor,
                c.action,
                c.field,
                json.dumps(c.before),
                json.dumps(c.after),
                c.at,
            )
            for c in changes
        ]
        if not rows:
            return
        with committing(self.path, _SCHEMA) as conn:
            conn.executemany(
                "INSERT INTO audit (finding_id, signature, actor, action, field, before, after, at) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                rows,
            )

    def entries(self, signature: str, finding_ids: Iterable[str] = ()) -> list[AuditEntry]:
        """Changes recorded under the signature or to any of the findings, oldest first."""
        ids = list(finding_ids)
        marks = ",".join("?" * len(ids))
        where = f"signature = ? OR finding_id IN ({marks})" if ids else "signature = ?"
        with committing(self.path, _SCHEMA) as conn:
            rows = conn.execute(
                "SELECT id, finding_id, signature, actor, action, field, before, after, at FROM audit "
                f"WHERE {where} ORDER BY at, id",
                [signature, *ids],
            ).fetchall()
        return [
            AuditEntry(
                id=r[0],
                finding_id=r[1],
                signature=r[2],
                actor=r[3],
                action=r[4],
                field=r[5],
                before=json.loads(r[6]) if r[6] is not None else None,
                after=json.loads(r[7]) if r[7] is not None else None,
                at=r[8],
            )
            for r in rows
        ]
