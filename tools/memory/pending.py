"""A local write-ahead for findings that could not reach a chroma server.

When the server is down, remember_finding keeps the finding here and answers with an error (never
`created: true`); the next call that reaches chroma writes the queued findings first. So an outage
delays a finding but does not lose it.
"""

from __future__ import annotations

from pathlib import Path

from ..support.local_db import committing
from .models import Finding

_SCHEMA = """
CREATE TABLE IF NOT EXISTS pending (
    id TEXT PRIMARY KEY,
    finding TEXT NOT NULL,
    actor TEXT NOT NULL,
    queued_at TEXT NOT NULL
);
"""


class PendingWrites:
    def __init__(self, path: Path):
        self.path = path

    def put(self, finding: Finding, actor: str, queued_at: str) -> None:
        with committing(self.path, _SCHEMA) as conn:
            conn.execute(
                "INSERT OR IGNORE INTO pending (id, finding, actor, queued_at) VALUES (?, ?, ?, ?)",
                (finding.id, finding.model_dump_json(), actor, queued_at),
            )

    def all(self) -> list[tuple[Finding, str]]:
        with committing(self.path, _SCHEMA) as conn:
            rows = conn.execute("SELECT finding, actor FROM pending ORDER BY queued_at, id").fetchall()
        return [(Finding.model_validate_json(row[0]), row[1]) for row in rows]

    def remove(self, finding_ids: list[str]) -> None:
        if finding_ids:
            with committing(self.path, _SCHEMA) as conn:
                conn.executemany("DELETE FROM pending WHERE id = ?", [(i,) for i in finding_ids])

    def count(self) -> int:
        if not self.path.exists():
            return 0
        with committing(self.path, _SCHEMA) as conn:
            return int(conn.execute("SELECT COUNT(*) FROM pending").fetchone()[0])
