"""Toolset `github`: turn a fix branch into a reviewed pull request, list them with checks, sync their state.

Works with GitHub (token set) or the local stand-in (no token): the same tools, the same rules.
`list_pull_requests` only reads. Recording state changes in memory is a write, so it has its own tool,
`sync_pull_requests`, which a read-only server does not expose.
"""

from __future__ import annotations

from typing import Annotated

from mcp.server.mcpserver import Context
from pydantic import Field

from ...tools.pulls.merge_policy import MergeResult
from ...tools.pulls.models import OpenedPullRequest, PullRequestList, StateFilter, SyncResult
from ..context import resources
from ..registry import DESTRUCTIVE_REMOTE, READ_ONLY_REMOTE, SYNC_FROM_REMOTE, WRITE_REMOTE, Toolset

toolset = Toolset(
    "github",
    "Pull requests for fixes: open one per signature (deduplicated, capped, secret-scanned), list them with "
    "checks, record their state changes in memory.",
)

RepoName = Annotated[
    str,
    Field(min_length=1, max_length=100, description="A configured repo name (the [[repos]] table's name)."),
]
OptionalRepo = Annotated[
    str | None,
    Field(None, max_length=100, description="Only this configured repo; default all configured repos."),
]


@toolset.tool(title="Open a pull request for a fix", annotations=WRITE_REMOTE)
async def open_pull_request(
    ctx: Context,
    repo: RepoName,
    branch: Annotated[
        str,
        Field(
            min_length=1,
            max_length=200,
            description="The fix branch, 'self-improver/<signature>-<slug>', committed in the repo.",
        ),
    ],
    title: Annotated[str, Field(min_length=1, max_length=256, description="One line: what the fix does.")],
    body: Annotated[
        str,
        Field(
            min_length=1,
            max_length=50_000,
            description="Markdown: the problem, the change and how it was verified. Evidence is appended for you.",
        ),
    ],
    signature: Annotated[
        str,
        Field(
            min_length=6, max_length=64, pattern=r"^[0-9a-f]+$", description="The error signature it fixes."
        ),
    ],
    finding_id: Annotated[
        str | None,
        Field(
            None, max_length=100, description="Memory finding to link: gets pr_number and pr_status='open'."
        ),
    ] = None,
    draft: Annotated[bool, Field(description="Open as a draft, so people review before CI merges.")] = True,
    labels: Annotated[
        list[str] | None,
        Field(None, max_length=10, description="Extra labels; 'self-improver' is always added."),
    ] = None,
) -> OpenedPullRequest:
    """Publish a committed fix branch as a pull request (GitHub when a token is set, else the local stand-in).

    Call it after the fix is committed on its branch and the checks passed, once per signature. If an
    open pull request for the signature (or the branch) exists, it is returned with deduplicated=true and
    nothing is published, so a repeat is safe. Refused, with the reason and what to change, when: the
    branch is missing, the default branch, or not 'self-improver/...'; the run already opened
    max_prs_per_run pull requests or max_open_prs are open; the diff, title or body contain something
    that looks like a secret (file:line and kind are named, never the value). The body gets an evidence
    section (counts, first/last seen, redacted sample traceback) and a hidden signature marker. With
    finding_id, that finding gets pr_number and pr_status='open'.
    Example: open_pull_request(repo="worker", branch="self-improver/3b8fe4199281-imap-timeout",
    title="Raise IMAP login timeout to 60s", body="IMAP logins time out ...", signature="3b8fe4199281",
    finding_id="fnd_0123456789abcdef01234567").
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
        Field(description="'open', 'merged', 'closed' (closed without merging) or 'all'."),
    ] = "open",
    limit: Annotated[int, Field(ge=1, le=25, description="Most pull requests to return.")] = 10,
    cursor: Annotated[
        str | None, Field(None, max_length=500, description="next_cursor of the previous call, same filters.")
    ] = None,
) -> PullRequestList:
    """The pull requests self-improver opened: number, title, status, checks, signature and url, newest first.

    Use it before fixing (is a signature already being handled?) and in the nightly report. checks
    combines commit statuses and check runs of the head commit: failing, pending, passing or none.
    Reads only: when a pull request's status differs from what memory recorded (recorded_status),
    call sync_pull_requests to record it. has_more with next_cursor pages on.
    Example: list_pull_requests(state="open") or list_pull_requests(repo="worker", state="merged").
    """
    return await resources(ctx).pulls.list_pull_requests(repo, state, limit, cursor)


@toolset.tool(title="Record pull request state changes in memory", annotations=SYNC_FROM_REMOTE)
async def sync_pull_requests(ctx: Context, repo: OptionalRepo = None) -> SyncResult:
    """Read the current state of self-improver pull requests and record changes (merged, closed) in memory.

    Call it at the start of a nightly run, before recall and the impact checks: each pull request whose
    status changed since last recorded updates its linked findings (pr_status, pr_number) — the one named
    when it was opened and findings of its signature citing its number. Safe to repeat: a second call
    finds nothing new. If memory is down, changes stay pending and the next call records them.
    Example: sync_pull_requests() or sync_pull_requests(repo="worker").
    """
    return await resources(ctx).pulls.sync_pull_requests(repo)


@toolset.tool(title="Merge a low-risk self-improver pull request", annotations=DESTRUCTIVE_REMOTE)
async def merge_pull_request(
    ctx: Context,
    number: Annotated[int, Field(ge=1, le=10**9, description="The pull request's number.")],
    repo: RepoName,
    actor: Annotated[
        str, Field(min_length=1, max_length=200, description="Who asks for the merge (kept in the audit).")
    ] = "self-improver",
) -> MergeResult:
    """Merge a self-improver pull request into the default branch, only if the [auto_merge] policy allows it.

    Every rule must pass: the policy is enabled (it is off by default); the pull request is labelled
    'self-improver', open and not a draft, and targets the default branch; all checks of its head pass;
    it merges cleanly; it changes at most max_files paths and max_changed_lines lines; every path is in
    allowed_paths; no dependency, build or CI file changes (pyproject.toml, requirements*.txt, lock
    files, .github/, Dockerfile, Makefile, tox.ini, ...); and it adds or changes a test. Otherwise
    nothing is merged and the result has merged=false with each rule, passed or not, and what to change.
    GitHub squash-merges exactly the head that was evaluated; the local provider puts a merge commit on
    the remote's default branch (the user's checkout is never touched). Every attempt is written to the
    merge audit (who, when, head, default branch before and after), returned as audit and history.
    A merged fix is judged by the next nights' measure_impact; a 'worse' verdict opens a revert PR.
    Example: merge_pull_request(number=12, repo="worker").
    """
    res = resources(ctx)
    return await res.pulls.merge_pull_request(repo, number, res.settings.auto_merge, actor=actor)
