"""Toolset `github`: turn a fix branch into a reviewed pull request, list them with checks, sync their state.

Works with every registered provider (GitHub, GitLab, or the local stand-in; see
tools/pulls/providers/registry.py): the same tools, the same rules.
`list_pull_requests` only reads. Recording state changes in memory is a write, so it has its own tool,
`sync_pull_requests`, which a read-only server does not expose.
"""

from __future__ import annotations

from typing import Annotated

from mcp.server.mcpserver import Context
from pydantic import Field

from ...tools.pulls.merger import MergeResult
from ...tools.pulls.models import OpenedPullRequest, PullRequestList, StateFilter, SyncResult
from ..context import resources
from ..registry import DESTRUCTIVE_REMOTE, READ_ONLY_REMOTE, SYNC_FROM_REMOTE, WRITE_REMOTE, Toolset
from .params import Branch, Cursor, Limit, OptionalRepo, RepoName

toolset = Toolset(
    "github",
    "Pull requests for fixes: open one per signature (deduplicated, capped, secret-scanned), list them with "
    "checks, record their state changes in memory.",
)


@toolset.tool(title="Open a pull request for a fix", annotations=WRITE_REMOTE)
async def open_pull_request(
    ctx: Context,
    repo: RepoName,
    branch: Annotated[Branch, Field(description="The fix branch, 'self-improver/<signature>-<slug>'.")],
    title: Annotated[str, Field(min_length=1, max_length=256, description="One line: what the fix does.")],
    body: Annotated[
        str,
        Field(
            min_length=1,
            max_length=50_000,
            description="Markdown: problem, change, how it was verified (evidence is appended).",
        ),
    ],
    signature: Annotated[
        str,
        Field(min_length=6, max_length=64, pattern=r"^[0-9a-f]+$", description="The signature it fixes."),
    ],
    finding_id: Annotated[
        str | None,
        Field(None, max_length=100, description="Memory finding to link to the PR."),
    ] = None,
    draft: Annotated[bool, Field(description="Open as a draft.")] = True,
    labels: Annotated[
        list[str] | None,
        Field(None, max_length=10, description="Extra labels ('self-improver' is always added)."),
    ] = None,
) -> OpenedPullRequest:
    """Open a pull request for a committed fix branch whose checks passed, once per signature.

    A repeat (same signature or same diff) returns the open PR. Refused, with what to change, over
    max_prs_per_run or max_open_prs or for text that looks like a secret. Evidence is appended.
    Example: open_pull_request(repo="worker", branch="self-improver/3b8fe4199281-imap-timeout",
    title="Raise IMAP timeout to 60s", body="...", signature="3b8fe4199281").
    """
    return await resources(ctx).pulls.open_pull_request(
        repo, branch, title, body, signature, finding_id=finding_id, draft=draft, labels=labels
    )


@toolset.tool(title="List self-improver pull requests", annotations=READ_ONLY_REMOTE)
async def list_pull_requests(
    ctx: Context,
    repo: OptionalRepo = None,
    state: Annotated[
        StateFilter,
        Field(description="'closed' means closed without merging."),
    ] = "open",
    limit: Annotated[Limit, Field(le=25, description="Most pull requests to return.")] = 10,
    cursor: Cursor = None,
) -> PullRequestList:
    """The pull requests self-improver opened, newest first, with status, checks and signature.

    Use it before fixing (is a signature already handled?) and for the report. When recorded_status
    differs from status, call sync_pull_requests. When has_more, pass next_cursor.
    Example: list_pull_requests(state="merged").
    """
    return await resources(ctx).pulls.list_pull_requests(repo, state, limit, cursor)


@toolset.tool(title="Record pull request state changes in memory", annotations=SYNC_FROM_REMOTE)
async def sync_pull_requests(ctx: Context, repo: OptionalRepo = None) -> SyncResult:
    """Record in memory what happened to self-improver pull requests (merged, closed) since last time.

    Call it at the start of a nightly run, before recall_findings and measure_impact: linked findings
    get the new pr_status; a PR closed unmerged mutes its signatures. Safe to repeat.
    Example: sync_pull_requests().
    """
    return await resources(ctx).pulls.sync_pull_requests(repo)


@toolset.tool(title="Merge a low-risk self-improver pull request", annotations=DESTRUCTIVE_REMOTE)
async def merge_pull_request(
    ctx: Context,
    number: Annotated[int, Field(ge=1, le=10**9, description="The pull request's number.")],
    repo: RepoName,
    actor: Annotated[
        str, Field(min_length=1, max_length=200, description="Who asks (kept in the audit).")
    ] = "self-improver",
) -> MergeResult:
    """Merge a self-improver pull request, only if the [auto_merge] policy (off by default) allows it.

    Every rule must pass (not a draft, checks passing, small, only allowed_paths, no dependency or CI
    files, a test changed); else merged=false with each rule and what to change; audited.
    Example: merge_pull_request(number=12, repo="worker").
    """
    res = resources(ctx)
    return await res.pulls.merge_pull_request(repo, number, res.settings.auto_merge, actor=actor)
