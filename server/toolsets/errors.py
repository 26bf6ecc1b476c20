"""Toolset `errors`: repeated failures as stable signatures, with states and the evidence to fix them."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Literal

from mcp.server.mcpserver import Context
from pydantic import Field

from ...tools.errors.results import ErrorCluster, TopErrors
from ..context import progress_reporter, resources
from ..lazy import lazy_import
from ..registry import READ_ONLY, Toolset
from .params import Agent, Days, Limit, Signature, Until

if TYPE_CHECKING:
    from ...tools.errors import reports
else:
    reports = lazy_import("self_improver.tools.errors.reports")


toolset = Toolset(
    "errors", "Error signatures: top error groups with lifecycle states, one signature in detail."
)

State = Literal["new", "ongoing", "escalating", "resolved", "regressed", "muted"]
BRIEF_TRACEBACK_LINES = (
    40  # error_cluster(detail="brief"): the last exception of the chain, at most this long
)
_CHAINED = (
    "\nThe above exception was the direct cause of the following exception:\n",
    "\nDuring handling of the above exception, another exception occurred:\n",
)


@toolset.tool(title="Top error signatures", annotations=READ_ONLY)
async def top_errors(
    ctx: Context,
    days: Days = 7,
    until: Until = None,
    limit: Annotated[Limit, Field(le=50, description="Most groups to return.")] = 5,
    agent: Agent = None,
    states: Annotated[
        list[State] | None, Field(None, max_length=5, description="Only groups in these states.")
    ] = None,
) -> TopErrors:
    """Failed tasks of a window grouped by stable error signature, most frequent first.

    Use it to find the repeated problems worth fixing; states=["new", "escalating"] shows the rising
    ones. A problem keeps its signature night after night. Muted ones (called noise) show only with
    states=["muted"]. When has_more, raise limit or filter by states or agent; then
    error_cluster(signature) gives the evidence.
    Example: top_errors(days=7, states=["escalating"]).
    """
    return await reports.top_errors(
        resources(ctx).errors,
        days=days,
        until=until,
        limit=limit,
        agent=agent,
        states=states,
        progress=progress_reporter(ctx),
    )


@toolset.tool(title="One error signature in detail", annotations=READ_ONLY)
async def error_cluster(
    ctx: Context,
    signature: Signature,
    samples: Annotated[int, Field(ge=1, le=10, description="Sample task ids and extra variants.")] = 3,
    detail: Annotated[
        Literal["brief", "full"],
        Field(description="brief: the traceback's last exception; full: all of it."),
    ] = "brief",
) -> ErrorCluster:
    """The evidence to fix one problem: a representative traceback, the app's own frames with their
    source lines, message variants, counts per day, agents, state and related signatures.

    Use it after top_errors, before reading code or proposing a fix.
    Example: error_cluster(signature="3b8fe4199281").
    """
    cluster = await reports.error_cluster(
        resources(ctx).errors, signature, samples=samples, progress=progress_reporter(ctx)
    )
    if detail == "full":
        return cluster
    return cluster.model_copy(update={"traceback": brief_traceback(cluster.traceback)})


def brief_traceback(traceback: str | None) -> str | None:
    """The last exception of a chained traceback (the one the task died of, with the app's frames),
    at most BRIEF_TRACEBACK_LINES lines, with a note of what was left out."""
    if traceback is None:
        return None
    cut = max(((traceback.rfind(m), m) for m in _CHAINED), key=lambda found: found[0])
    last = traceback if cut[0] < 0 else traceback[cut[0] + len(cut[1]) :].lstrip("\n")
    lines = last.splitlines(keepends=True)
    if len(lines) > BRIEF_TRACEBACK_LINES:
        lines = lines[:1] + lines[-(BRIEF_TRACEBACK_LINES - 1) :]
    kept = "".join(lines)
    left_out = traceback.count("\n") - kept.count("\n")
    if left_out <= 0:
        return traceback
    return f"[{left_out} earlier lines left out; detail='full' shows the whole traceback]\n{kept}"
