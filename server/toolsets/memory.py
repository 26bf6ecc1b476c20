"""Toolset `memory`: what earlier nights found, tried and concluded, searchable by meaning and signature."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any

from mcp.server.mcpserver import Context, MCPServer
from mcp.server.mcpserver.exceptions import ResourceError, ResourceNotFoundError
from pydantic import Field

from ...tools.memory.models import Finding, FindingHistory, RecallResult, RememberResult
from ...tools.support.problems import NotFoundError, ToolInputError, UnavailableError
from ..context import resources
from ..lazy import lazy_import
from ..registry import READ_ONLY, WRITE_IDEMPOTENT, Toolset
from .params import Cursor, Limit

if TYPE_CHECKING:
    from ...tools.memory import mutes, service
else:
    service = lazy_import("self_improver.tools.memory.service")
    mutes = lazy_import("self_improver.tools.memory.mutes")


toolset = Toolset("memory", "Findings of every night with their evidence: remember, recall, update, history.")

Metadata = Annotated[
    dict[str, Any],
    Field(
        description=("Scalars; known keys: signature, error_type, occurrences, pr_number, pr_status, repo.")
    ),
]
FindingSignature = Annotated[
    str, Field(min_length=1, max_length=500, description="A signature from top_errors.")
]


@toolset.tool(title="Remember a finding", annotations=WRITE_IDEMPOTENT)
async def remember_finding(
    ctx: Context,
    content: Annotated[
        str,
        Field(
            min_length=1,
            max_length=20_000,
            description="What was found and tried, with the evidence (error, counts, PR).",
        ),
    ],
    confidence: Annotated[float, Field(ge=0, le=1, description="0 (a guess) to 1 (certain).")],
    metadata: Metadata,
    source: Annotated[
        str, Field(min_length=1, max_length=200, description="Who records it.")
    ] = "self-improver",
    timestamp: Annotated[
        str | None,
        Field(
            None,
            max_length=40,
            description="When it was found (ISO 8601); default now. A retry passes the first time.",
        ),
    ] = None,
) -> RememberResult:
    """Store a finding of tonight's run with its evidence, so later nights can recall it.

    Call it after investigating a signature (after a PR: pr_number, pr_status in metadata). Safe to
    retry: the same content, signature and night is stored once.
    Example: remember_finding(content="IMAP timeouts: timeout raised to 60s in PR #42", confidence=0.7,
    metadata={"signature": "3b8fe4199281", "pr_number": 42, "pr_status": "open"}).
    """
    return await service.remember_finding(
        resources(ctx).memory, content, confidence, metadata, source=source, timestamp=timestamp
    )


@toolset.tool(title="Recall past findings", annotations=READ_ONLY)
async def recall_findings(
    ctx: Context,
    query: Annotated[
        str | None,
        Field(
            None,
            max_length=5_000,
            description="An error message or a description of the problem.",
        ),
    ] = None,
    signature: Annotated[
        str | None,
        Field(None, max_length=500, description="Its findings come first."),
    ] = None,
    where: Annotated[
        dict[str, Any] | None,
        Field(
            None,
            description="Metadata filter: {key: value} or {key: {op: value}}, op $eq $ne $gt $gte $lt $lte $in $nin.",
        ),
    ] = None,
    top_k: Annotated[int, Field(ge=1, le=50, description="Most findings to return.")] = 5,
    since: Annotated[
        str | None, Field(None, max_length=40, description="Only findings from this ISO time on.")
    ] = None,
) -> RecallResult:
    """Have we seen this, what was tried, did it work? Ask before working on a problem.

    Pass the signature and its error message: findings of that signature come first, then similar
    ones. Skip problems an open PR addresses; learn from closed ones. Narrow with where, e.g.
    {"pr_status": "merged"}, and since. Needs query, signature or where.
    Example: recall_findings(query="IMAP timeout after 30s", signature="3b8fe4199281").
    """
    app = resources(ctx)
    return await mutes.recall_annotated(
        app.memory,
        app.errors.signatures,
        app.telemetry.now(),
        query=query,
        signature=signature,
        where=where,
        top_k=top_k,
        since=since,
    )


@toolset.tool(title="Update a finding", annotations=WRITE_IDEMPOTENT)
async def update_finding(
    ctx: Context,
    id: Annotated[str, Field(min_length=1, max_length=100, description="A finding id.")],
    metadata: Annotated[
        dict[str, Any],
        Field(description="Keys to change, merged into the metadata; null clears a key."),
    ],
    confidence: Annotated[float | None, Field(None, ge=0, le=1, description="New confidence.")] = None,
    actor: Annotated[
        str, Field(min_length=1, max_length=200, description="Who makes the change.")
    ] = "self-improver",
) -> Finding:
    """Record what happened to a finding later: PR opened, merged or closed, a verdict, new counts.

    Only the keys sent change, each one audited (see finding_history); a repeat changes nothing.
    A reviewer's {"status": "noise", "reason": ...} mutes the signature for mute_days.
    Example: update_finding(id="fnd_...", metadata={"pr_status": "merged"}).
    """
    app = resources(ctx)
    return await mutes.update_or_mute(
        app.memory,
        app.errors.signatures,
        id,
        metadata,
        confidence,
        actor,
        app.settings.mute_days,
        app.telemetry.now(),
    )


@toolset.tool(title="History of a signature", annotations=READ_ONLY)
async def finding_history(
    ctx: Context,
    signature: FindingSignature,
    limit: Annotated[Limit, Field(le=200, description="Events per page.")] = 50,
    cursor: Cursor = None,
) -> FindingHistory:
    """Everything memory holds about one signature, oldest first: each finding and every change to it.

    Use it before fixing a recurring problem: which PRs were opened, merged or closed, which verdicts
    were recorded. When has_more, pass next_cursor. Example: finding_history(signature="3b8fe4199281").
    """
    return await service.finding_history(resources(ctx).memory, signature, limit=limit, cursor=cursor)


def register_resources(server: MCPServer) -> None:
    """Expose each finding as `memory://findings/{finding_id}` (JSON), for hosts that attach resources."""

    @server.resource(
        "memory://findings/{finding_id}",
        name="finding",
        title="A remembered finding",
        description="One finding of the memory toolset as JSON (id, content, source, confidence, timestamp, "
        "metadata).",
        mime_type="application/json",
    )
    async def finding_resource(finding_id: str, ctx: Context) -> str:
        try:
            finding = await service.get_finding(resources(ctx).memory, finding_id)
        except NotFoundError as exc:
            raise ResourceNotFoundError(str(exc)) from exc
        except (ToolInputError, UnavailableError) as exc:
            raise ResourceError(str(exc)) from exc
        return finding.model_dump_json()
