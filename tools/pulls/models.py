"""What the pull-request tools return: one row of the seed article's table, and the results around it."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

Status = Literal["open", "merged", "closed"]
Checks = Literal["passing", "failing", "pending", "none"]
StateFilter = Literal["open", "merged", "closed", "all"]


class PullRequest(BaseModel):
    repo: str
    number: int
    title: str
    status: Status
    draft: bool
    checks: Checks
    signature: str | None
    finding_id: str | None = None
    url: str
    head: str
    base: str
    labels: list[str]
    created_at: str
    updated_at: str
    merged_at: str | None = None
    recorded_status: str | None = Field(default=None, description="As memory has it.")


class OpenedPullRequest(BaseModel):
    pull_request: PullRequest
    provider: str = Field(description="Where it lives: a provider name such as github, gitlab or local.")
    deduplicated: bool = Field(description="An open PR existed and is returned.")
    deduplicated_by: str | None = Field(default=None, description="signature, branch or same_diff.")
    pushed_to: str | None = None
    evidence_included: bool = Field(description="False: the signature is unknown to the error store.")
    memory_updated: bool
    dry_run: bool = False
    diffstat: list[str] | None = Field(default=None, description="Dry run: 'path +added -removed'.")
    body: str | None = Field(default=None, description="Dry run: with evidence.")
    note: str | None = None


class VerdictPost(BaseModel):
    repo: str
    number: int
    verdict: str
    text: str = Field(description="The comment, as posted (or as it would be).")
    posted: bool = Field(description="False: this verdict was already posted, or a dry run.")
    dry_run: bool = False
    note: str | None = None


class PullRequestList(BaseModel):
    pull_requests: list[PullRequest]
    count: int
    has_more: bool
    next_cursor: str | None
    note: str | None = None


class StateChange(BaseModel):
    repo: str
    number: int
    signature: str | None
    before: str | None = Field(description="As memory had it (null: never recorded).")
    after: Status
    findings_updated: list[str]
    muted: list[str] = Field(default_factory=list)


class SyncResult(BaseModel):
    checked: int
    changes: list[StateChange]
    pending: int = Field(description="Changes not recorded yet (memory down); the next sync retries.")
    note: str | None = None


class MergedPullRequest(BaseModel):
    repo: str
    number: int
    signature: str | None
    merged_at: str
    finding_id: str | None
    url: str
