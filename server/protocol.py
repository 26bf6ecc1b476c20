"""The SDK's MCPServer, completed on the protocol and lean in the model's context.

- `tools/list` sends lean schemas (`schemas`) and descriptions without their docstring indentation.
- A tool call with an argument the tool does not have is refused, naming it and the valid ones (the
  SDK would drop it silently and run with the defaults).
- `logging/setLevel` is answered and tools send log notifications at the chosen level (`tool_log`).
- `completion/complete` offers signatures, repositories, report dates, ... (`completions`).
- `prompts/get` checks a prompt's arguments first and refuses wrong ones with INVALID_PARAMS.
- `serverInfo.version` is the package's version.
"""

from __future__ import annotations

import difflib
import inspect
from collections.abc import Callable
from typing import Any

from mcp.server.mcpserver import Context, MCPServer
from mcp.server.mcpserver.exceptions import ToolError
from mcp.server.mcpserver.prompts.base import Prompt
from mcp.shared.exceptions import MCPError
from mcp_types import (
    INVALID_PARAMS,
    CallToolResult,
    CompleteRequestParams,
    GetPromptResult,
    InputRequiredResult,
    SetLevelRequestParams,
)
from mcp_types import Tool as MCPTool
from pydantic import ValidationError

from . import tool_log
from .completions import complete_handler
from .schemas import lean_input_schema, lean_output_schema
from .version import package_version

PromptCheck = Callable[[dict[str, str] | None], dict[str, str]]


class SelfImproverServer(MCPServer[Any]):
    def __init__(self, name: str, **kwargs: Any) -> None:
        super().__init__(name, version=package_version(), **kwargs)
        self._prompt_checks: dict[str, PromptCheck] = {}
        # The SDK's low-level server dispatches these two; MCPServer registers no handler for them.
        lowlevel = self._lowlevel_server
        lowlevel.add_request_handler("logging/setLevel", SetLevelRequestParams, tool_log.set_level)
        lowlevel.add_request_handler(
            "completion/complete",
            CompleteRequestParams,
            complete_handler(self._prompt_names, self._template_uris),
        )

    # -- tools ---------------------------------------------------------------------------------

    def add_tool(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> None:
        """As the SDK's, with the docstring dedented: the model reads it, the source's indentation is noise."""
        if kwargs.get("description") is None and fn.__doc__:
            kwargs["description"] = inspect.cleandoc(fn.__doc__)
        super().add_tool(fn, *args, **kwargs)

    async def list_tools(self) -> list[MCPTool]:
        return [
            tool.model_copy(
                update={
                    "input_schema": lean_input_schema(tool.input_schema),
                    "output_schema": lean_output_schema(tool.output_schema) if tool.output_schema else None,
                }
            )
            for tool in await super().list_tools()
        ]

    async def call_tool(
        self, name: str, arguments: dict[str, Any], context: Context[Any, Any] | None = None
    ) -> CallToolResult | InputRequiredResult:
        tool = self._tool_manager.get_tool(name)
        if tool is not None:
            valid = list(tool.parameters.get("properties", {}))
            unknown = [arg for arg in arguments if arg not in valid]
            if unknown:
                raise ToolError(unknown_arguments_message(name, unknown, valid))
        try:
            return await super().call_tool(name, arguments, context)
        except ToolError as exc:
            if isinstance(exc.__cause__, ValidationError):
                raise ToolError(invalid_arguments_message(name, exc.__cause__)) from exc.__cause__
            raise

    # -- prompts -------------------------------------------------------------------------------

    def add_prompt(self, prompt: Prompt, check: PromptCheck | None = None) -> None:
        super().add_prompt(prompt)
        if check is not None:
            self._prompt_checks[prompt.name] = check

    async def get_prompt(
        self, name: str, arguments: dict[str, Any] | None = None, context: Context[Any, Any] | None = None
    ) -> GetPromptResult | InputRequiredResult:
        if self._prompt_manager.get_prompt(name) is None:
            known = ", ".join(sorted(self._prompt_names())) or "none"
            raise MCPError(INVALID_PARAMS, f"unknown prompt {name!r}: the prompts are {known}")
        check = self._prompt_checks.get(name)
        return await super().get_prompt(name, check(arguments) if check else arguments, context)

    def _prompt_names(self) -> set[str]:
        return {p.name for p in self._prompt_manager.list_prompts()}

    def _template_uris(self) -> set[str]:
        return {t.uri_template for t in self._resource_manager.list_templates()}


def unknown_arguments_message(tool: str, unknown: list[str], valid: list[str]) -> str:
    """The refusal, e.g. `unknown argument 'dayz' (did you mean 'days'?): nothing was done; top_errors
    takes days, until, limit, agent, states`."""
    parts = []
    for arg in unknown:
        close = difflib.get_close_matches(arg, valid, n=1)
        parts.append(f"{arg!r}" + (f" (did you mean {close[0]!r}?)" if close else ""))
    noun = "argument" if len(unknown) == 1 else "arguments"
    takes = ", ".join(valid) if valid else "no arguments"
    return f"unknown {noun} {', '.join(parts)}: nothing was done; {tool} takes {takes}"


def invalid_arguments_message(tool: str, error: ValidationError) -> str:
    """pydantic's report, one short line per argument: 'limit: Input should be less than or equal to 50
    (got 500)', without its model name, error codes and documentation links."""
    problems = []
    for item in error.errors(include_url=False):
        where = ".".join(str(part) for part in item["loc"]) or "arguments"
        if item["type"] == "missing":
            problems.append(f"{where}: required, not sent")
            continue
        got = item.get("input")
        shown = repr(got) if len(repr(got)) <= 60 else repr(got)[:57] + "..."
        problems.append(f"{where}: {item['msg']} (got {shown})")
    return f"invalid arguments for {tool}: " + "; ".join(problems)
