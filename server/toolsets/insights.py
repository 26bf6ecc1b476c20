"""Toolset `insights`: verify a merged fix with honest statistics, and find operations that got slower."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

from mcp.server.mcpserver import Context, MCPServer
from mcp.server.mcpserver.exceptions import ResourceError
from pydantic import Field

from ...tools.insights.results import ImpactResult, SlowOperations
from ...tools.support.problems import ToolInputError
from ..config import Settings
from ..context import progress_reporter, resources
from ..lazy import lazy_import
from ..registry import READ_ONLY, WRITE_IDEMPOTENT, Toolset
from .params import Agent, Limit, OptionalSignature

if TYPE_CHECKING:
    from ...tools.deploys import listing
    from ...tools.insights import impact, slow, verdict_memory
else:
    listing = lazy_import("self_improver.tools.deploys.listing")
    impact = lazy_import("self_improver.tools.insights.impact")
    slow = lazy_import("self_improver.tools.insights.slow")
    verdict_memory = lazy_import("self_improver.tools.insights.verdict_memory")


toolset = Toolset(
    "insights", "Impact of merged fixes (rate ratios with exact intervals) and slow operations."
)

WindowDays = Annotated[int, Field(ge=1, le=90, description="Days on this side of the merge.")]


def _fix_resolver(app: object, pr_number: int | None, merged_at: str | None) -> impact.FixResolver | None:
    """The PR service's `merged_fix(pr_number) -> MergedFix`, when it offers one and it is needed.

    Contract for the pull-request service: `async merged_fix(pr_number: int) -> impact.MergedFix`, from
    its own records (no remote call: this tool is closed-world); merged_at None when not merged.
    """
    if pr_number is None or merged_at is not None:
        return None
    resolver = getattr(getattr(app, "pulls", None), "merged_fix", None)
    if resolver is None:
        raise ToolInputError(
            f"cannot look up PR #{pr_number} here: the pull-request service offers no merge-time lookup yet, "
            "so pass merged_at (the PR's merge time, ISO 8601; list_pull_requests(state='merged') shows it) "
            "and signature together with pr_number"
        )
    return resolver  # type: ignore[no-any-return]


@toolset.tool(title="Did a merged fix work?", annotations=WRITE_IDEMPOTENT)
async def measure_impact(
    ctx: Context,
    signature: OptionalSignature = None,
    pr_number: Annotated[int | None, Field(None, ge=1, description="The merged pull request.")] = None,
    merged_at: Annotated[
        str | None,
        Field(
            None,
            max_length=40,
            description="Merge time, ISO 8601 (no offset: configured timezone).",
        ),
    ] = None,
    before_days: WindowDays = 7,
    after_days: WindowDays = 7,
    agent: Agent = None,
) -> ImpactResult:
    """Did a merged fix work? The signature's failures per 1000 tasks before vs after the merge, with an
    exact 95% interval of the rate ratio and a verdict to report as is.

    Use it on later nights for every merged fix. For inconclusive, tasks_needed_after says how long
    to wait; `worse` marks the signature regressed: flag the PR. Widen the windows for rare signatures.
    Example: measure_impact(signature="3b8fe4199281", pr_number=42, merged_at="2026-02-09T14:00:00Z").
    """
    app = resources(ctx)
    measure = impact.measure_impact(
        app.errors,
        signature=signature,
        pr_number=pr_number,
        merged_at=merged_at,
        before_days=before_days,
        after_days=after_days,
        agent=agent,
        resolve_fix=_fix_resolver(app, pr_number, merged_at),
        progress=progress_reporter(ctx),
    )
    return await verdict_memory.measure_and_record(app.memory, measure)


@toolset.tool(title="Operations that got slower", annotations=READ_ONLY)
async def slow_operations(
    ctx: Context,
    days: Annotated[
        int, Field(ge=1, le=30, description="Recent window: full days before today, plus today.")
    ] = 7,
    baseline_days: Annotated[
        int, Field(ge=1, le=90, description="Baseline days before the recent window.")
    ] = 28,
    limit: Annotated[Limit, Field(le=100, description="Most operations to return.")] = 10,
    only_flagged: Annotated[bool, Field(description="Only operations flagged as slower.")] = False,
) -> SlowOperations:
    """Task types (task_name per agent) that got slower: p50/p95 of the recent days vs a baseline,
    with a significance test.

    Use it after the error review, to catch slowdowns that do not fail yet. Flagged operations come
    first. When has_more, raise limit or set only_flagged=true.
    Example: slow_operations(days=7, only_flagged=True).
    """
    app = resources(ctx)
    return await slow.slow_operations(
        app.telemetry,
        days=days,
        baseline_days=baseline_days,
        limit=limit,
        only_flagged=only_flagged,
        cache=app.durations,
        progress=progress_reporter(ctx),
    )


DEPLOYS_PAGE = 100


def register_resources(server: MCPServer, settings: Settings) -> None:
    """Expose the known deploys as `deploys://recent` (JSON, newest 100) and `deploys://after/{cursor}`
    (the next page, from next_cursor): reference data for a host, outside the tools' context budget.
    First sightings appear once a nightly run (or top_errors over a fixed signature) has learned them."""

    async def page(cursor: str | None) -> str:
        from ...tools.deploys.store import DeployStore

        try:
            found = await listing.list_deploys(
                DeployStore.in_dir(settings.data_dir), None, DEPLOYS_PAGE, cursor
            )
        except ToolInputError as exc:
            raise ResourceError(str(exc)) from exc
        return found.model_dump_json()

    @server.resource(
        "deploys://recent",
        name="deploys",
        title="Known deploys",
        description="When each release went live, newest first (recorded with `self-improver deploy record`, or "
        "the first task seen on it), as JSON: deploys, total, has_more, next_cursor.",
        mime_type="application/json",
    )
    async def recent_deploys() -> str:
        return await page(None)

    @server.resource(
        "deploys://after/{cursor}",
        name="deploys-page",
        title="Known deploys, next page",
        description="The deploys after next_cursor of deploys://recent (or of an earlier page).",
        mime_type="application/json",
    )
    async def deploys_after(cursor: str) -> str:
        return await page(cursor)
