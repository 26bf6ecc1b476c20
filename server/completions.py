"""`completion/complete`: values for the arguments of our prompts and resource templates.

What an argument takes decides what is offered: a `signature` gets the error signatures recorded so
far (most recently seen first), a `repo` the configured repositories, a report `date` the dates that
have a nightly report, a `chart` the chart names, a `finding_id` the remembered findings. Values start
with what was typed so far. An unknown prompt, template or argument gets an empty list, never an error.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import anyio.to_thread
from mcp.server.context import ServerRequestContext
from mcp_types import CompleteRequestParams, CompleteResult, Completion, PromptReference

from ..tools.nightly.report_files import CHARTS, available_dates, reports_dir
from .context import AppResources

MAX_VALUES = 100  # the protocol's cap on one answer


Source = Callable[[AppResources], list[str]]


def _signatures(app: AppResources) -> list[str]:
    return [row["signature"] for row in app.errors.signatures.all_signatures()]


def _repos(app: AppResources) -> list[str]:
    return [repo.name for repo in app.settings.repos]


def _report_dates(app: AppResources) -> list[str]:
    return available_dates(reports_dir(app.settings.data_dir))


def _charts(app: AppResources) -> list[str]:
    return list(CHARTS)


def _finding_ids(app: AppResources) -> list[str]:
    got = app.memory.run(lambda collection: collection.get(include=[], limit=1000))
    return sorted(got.get("ids") or [], reverse=True)


# What each argument of each prompt (by name) and resource template (by URI template) is completed from.
PROMPT_ARGUMENTS: dict[str, dict[str, Source]] = {
    "investigate_error": {"signature": _signatures},
}
TEMPLATE_ARGUMENTS: dict[str, dict[str, Source]] = {
    "memory://findings/{finding_id}": {"finding_id": _finding_ids},
    "reports://nightly/{date}": {"date": _report_dates},
    "reports://nightly/{date}/{chart}": {"date": _report_dates, "chart": _charts},
}
# Any other prompt or template argument with one of these names (prompts added later) gets the same.
BY_ARGUMENT_NAME: dict[str, Source] = {
    "signature": _signatures,
    "repo": _repos,
    "finding_id": _finding_ids,
    "chart": _charts,
}


def source_for(
    params: CompleteRequestParams, known_prompts: set[str], known_templates: set[str]
) -> Source | None:
    ref, name = params.ref, params.argument.name
    if isinstance(ref, PromptReference):
        if ref.name not in known_prompts:
            return None
        return PROMPT_ARGUMENTS.get(ref.name, {}).get(name) or BY_ARGUMENT_NAME.get(name)
    if ref.uri not in known_templates:
        return None
    return TEMPLATE_ARGUMENTS.get(ref.uri, {}).get(name) or BY_ARGUMENT_NAME.get(name)


def completion(values: list[str], typed: str) -> Completion:
    prefix = typed.strip().lower()
    matching = [v for v in dict.fromkeys(values) if v.lower().startswith(prefix)]
    return Completion(values=matching[:MAX_VALUES], total=len(matching), has_more=len(matching) > MAX_VALUES)


def complete_handler(
    known_prompts: Callable[[], set[str]], known_templates: Callable[[], set[str]]
) -> Callable[[ServerRequestContext[Any, Any], CompleteRequestParams], Any]:
    async def complete(ctx: ServerRequestContext[Any, Any], params: CompleteRequestParams) -> CompleteResult:
        source = source_for(params, known_prompts(), known_templates())
        app = ctx.lifespan_context
        if source is None or not isinstance(app, AppResources):
            return CompleteResult(completion=Completion(values=[]))
        try:
            values = await anyio.to_thread.run_sync(lambda: source(app))
        except Exception:  # a store that is down or empty offers nothing, it does not fail the request
            values = []
        return CompleteResult(completion=completion(values, params.argument.value))

    return complete
