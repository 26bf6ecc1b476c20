"""Named toolsets, the four annotation presets, and the conversion of domain errors to tool errors.

A toolset module declares its tools with `@toolset.tool(...)`; the app picks toolsets by name and
drops every tool that writes when the server is read-only. Annotations are required at declaration,
so no tool can reach a host without all four hints.
"""

from __future__ import annotations

import functools
import inspect
import json
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

from mcp.server.mcpserver import Context
from mcp.server.mcpserver.exceptions import ToolError
from mcp.types import CallToolResult, TextContent, ToolAnnotations
from pydantic import BaseModel, ValidationError

from ..tools.support.problems import ToolInputError, UnavailableError
from ..tools.support.text import strip_control, strip_control_deep
from . import tool_log

F = TypeVar("F", bound=Callable[..., Any])
SLOW_SECONDS = 2.0  # a tool that works longer than this says so in a log notification when it ends


def _hints(read_only: bool, destructive: bool, idempotent: bool, open_world: bool) -> ToolAnnotations:
    return ToolAnnotations(
        read_only_hint=read_only,
        destructive_hint=destructive,
        idempotent_hint=idempotent,
        open_world_hint=open_world,
    )


# The presets every tool chooses from. "Closed world" = only our own databases and configured repos.
READ_ONLY = _hints(read_only=True, destructive=False, idempotent=True, open_world=False)
READ_ONLY_REMOTE = _hints(read_only=True, destructive=False, idempotent=True, open_world=True)
WRITE_IDEMPOTENT = _hints(read_only=False, destructive=False, idempotent=True, open_world=False)
WRITE_ADDITIVE = _hints(read_only=False, destructive=False, idempotent=False, open_world=False)
# Writes only our own records, reads a remote, and a repeat changes nothing more (e.g. syncing PR states).
SYNC_FROM_REMOTE = _hints(read_only=False, destructive=False, idempotent=True, open_world=True)
WRITE_REMOTE = _hints(read_only=False, destructive=False, idempotent=False, open_world=True)
DESTRUCTIVE_REMOTE = _hints(read_only=False, destructive=True, idempotent=False, open_world=True)


@dataclass(frozen=True)
class ToolSpec:
    fn: Callable[..., Any]
    name: str
    title: str
    annotations: ToolAnnotations

    @property
    def writes(self) -> bool:
        return not self.annotations.read_only_hint


@dataclass
class Toolset:
    name: str
    description: str
    tools: list[ToolSpec] = field(default_factory=list)

    def tool(self, *, title: str, annotations: ToolAnnotations) -> Callable[[F], F]:
        """Declare a tool; its docstring is the description the model reads."""

        def register(fn: F) -> F:
            if not (fn.__doc__ or "").strip():
                raise TypeError(f"tool {fn.__name__} needs a docstring: it is the tool's description")
            self.tools.append(
                ToolSpec(fn=fixable_errors(fn), name=fn.__name__, title=title, annotations=annotations)
            )
            return fn

        return register


def fixable_errors(fn: F) -> F:
    """Turn errors the caller can act on into ToolError, whose message the SDK passes to the model, and
    strip control characters and escape sequences from every result and message (untrusted text stays text).

    A result goes out once as structured content and once as compact JSON text (for hosts that read only
    the text), never pretty-printed. Its `warnings` are also sent as log notifications, and work that
    took a while is logged when it ends (`tool_log`). Any other exception stays a crash: the SDK reports
    only a generic failure and logs the traceback.
    """
    if not inspect.iscoroutinefunction(fn):
        raise TypeError(f"tool {fn.__name__} must be async")

    @functools.wraps(fn)
    async def wrapper(*args: Any, **kwargs: Any) -> Any:
        ctx = next((a for a in (*args, *kwargs.values()) if isinstance(a, Context)), None)
        started = time.monotonic()
        try:
            result = await fn(*args, **kwargs)
        except (ToolInputError, UnavailableError) as exc:
            message = tidy_message(strip_control(str(exc)))
            if ctx is not None and isinstance(exc, UnavailableError):
                await tool_log.send(ctx, "error", f"{fn.__name__}: {message}")
            raise ToolError(message) from exc
        if not isinstance(result, BaseModel):
            return result
        # Telemetry text may carry terminal escapes: never pass them on.
        structured = strip_control_deep(result.model_dump(mode="json", by_alias=True))
        try:
            clean = type(result).model_validate(structured)  # what the SDK checks the answer against
        except ValidationError:  # a value JSON cannot carry (an infinite float): the SDK converts the model
            clean = type(result).model_validate(strip_control_deep(result.model_dump()))
            structured = None
        if ctx is not None:
            await _log_outcome(ctx, fn.__name__, clean, time.monotonic() - started)
        return clean if structured is None else compact_result(structured)

    return wrapper  # type: ignore[return-value]


def compact_result(structured: Any) -> CallToolResult:
    """The structured content, and the same JSON, compact, as the text for hosts that read only text."""
    text = json.dumps(structured, ensure_ascii=False, separators=(",", ":"))
    return CallToolResult(content=[TextContent(type="text", text=text)], structured_content=structured)


async def _log_outcome(ctx: Context, tool: str, result: BaseModel, seconds: float) -> None:
    for warning in getattr(result, "warnings", None) or []:
        await tool_log.send(ctx, "warning", f"{tool}: {warning}")
    if seconds >= SLOW_SECONDS:
        await tool_log.send(ctx, "info", f"{tool}: done in {seconds:.1f} s")


_DOUBLED_STOP = re.compile(r"(?<=[\w)\]}>\"'`])\.\.(?=\s|$)")


def tidy_message(message: str) -> str:
    """A message joined from parts may end a sentence twice ("... failed.. Send ..."): once is enough.

    Only a doubled full stop after a word is touched; '..' in a path and '...' are left alone.
    """
    return _DOUBLED_STOP.sub(".", message)
