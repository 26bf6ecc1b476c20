"""What the pull-request tools return: one row of the seed article's table, and the results around it."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

Status = Literal["open", "merged", "closed"]
Checks = Literal["passing", "failing", "pending", "none"]
StateFilter = Literal["open", "merged", "closed", "all"]


class PullRequest(BaseModel):
    repo: str = Field(description="Configured repo name ([[repos]] name).")
    number: int
    title: str
    status: Status
    draft: bool
    checks: Checks = Field(
        description="Combined commit statuses and check runs of the head commit: 'failing' if any failed, "
        "'pending' if any still runs, 'passing' if all passed, 'none' if nothing reported."
    )
    signature: str | None = Field(description="The error signature this pull request fixes (from its body).")
    finding_id: str | None = Field(default=None, description="The memory finding linked to it, when known.")
    url: str
    head: str = Field(description="Branch with the fix.")
    base: str = Field(description="Branch it merges into.")
    labels: list[str]
    created_at: str
    updated_at: str
    merged_at: str | None = None
    recorded_status: str | None = Field(
        default=None,
        description="The status memory last recorded for it; differs from `status` until sync_pull_requests runs.",
    )


class OpenedPullRequest(BaseModel):
    pull_request: PullRequest
    provider: Literal["github", "local"]
    deduplicated: bool = Field(
        description="True: an open pull request for this signature already existed and is returned unchanged."
    )
    pushed_to: str | None = Field(
        default=None, description="The remote the branch was pushed to (credentials masked)."
    )
    evidence_included: bool = Field(
        description="False when the signature is unknown to the error store and the body says so."
    )
    memory_updated: bool = Field(description="The linked finding now has pr_number and pr_status='open'.")
    note: str | None = None


class PullRequestList(BaseModel):
    pull_requests: list[PullRequest]
    count: int
    has_more: bool
    next_cursor: str | None = Field(description="Pass as cursor for the next page; null on the last page.")
    note: str | None = None


class StateChange(BaseModel):
    repo: str
    number: int
    signature: str | None
    before: str | None = Field(description="Status memory had recorded (null: never recorded).")
    after: Status
    findings_updated: list[str] = Field(description="Finding ids whose pr_status/pr_number were updated.")


class SyncResult(BaseModel):
    checked: int = Field(description="Pull requests whose state was read.")
    changes: list[StateChange]
    pending: int = Field(description="Changes not recorded yet (memory unavailable); the next sync retries.")
    note: str | None = None


class MergedPullRequest(BaseModel):
    repo: str
    number: int
    signature: str | None
    merged_at: str
    finding_id: str | None
    url: str
