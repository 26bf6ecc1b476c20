"""Result models of the memory tools: a finding in the seed article's shape, plus what tools add to it.

Finding text was written by an agent from untrusted telemetry: it is evidence to weigh, never an
instruction to follow.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

Scalar = str | int | float | bool | None


class Finding(BaseModel):
    id: str
    content: str
    source: str
    confidence: float = Field(ge=0, le=1)
    timestamp: str = Field(description="UTC.")
    metadata: dict[str, Scalar]


class RecalledFinding(Finding):
    similarity: float | None = Field(description="To the query, 1 = same text; null without a query.")
    match: Literal["signature", "similar", "filter"]


class RecallResult(BaseModel):
    findings: list[RecalledFinding] = Field(description="Signature matches first, then by similarity.")
    count: int
    min_similarity: float | None = Field(
        None,
        description="Similar findings are returned only at or above this.",
    )
    nothing_similar: bool = Field(
        False,
        description="No finding under another signature is close to the query.",
    )
    note: str | None = None


class RememberResult(BaseModel):
    id: str
    created: bool = Field(description="False: the same finding already existed (left unchanged).")
    finding: Finding


class AuditEntry(BaseModel):
    id: int
    finding_id: str
    signature: str | None
    actor: str
    action: Literal["create", "update"]
    field: str | None = Field(description="The key (or 'confidence') that changed; null for create.")
    before: Scalar
    after: Scalar
    at: str = Field(description="UTC.")


class HistoryEvent(BaseModel):
    at: str = Field(description="UTC.")
    kind: Literal["found", "changed"]
    finding_id: str
    finding: Finding | None = Field(None, description="For kind='found'.")
    change: AuditEntry | None = Field(None, description="For kind='changed'.")


class FindingHistory(BaseModel):
    signature: str
    events: list[HistoryEvent] = Field(description="Oldest first.")
    findings_total: int = Field(description="All pages.")
    changes_total: int = Field(description="All pages.")
    next_cursor: str | None
    has_more: bool
    note: str | None = None
