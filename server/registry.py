"""Named toolsets, the four annotation presets, and the conversion of domain errors to tool errors.

A toolset module declares its tools with `@toolset.tool(...)`; the app picks toolsets by name and
drops every tool that writes when the server is read-only. Annotations are required at declaration,
so no tool can reach a host without all four hints.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

from mcp.server.mcpserver.exceptions import ToolError
from mcp.types import ToolAnnotations
from pydantic import BaseModel

from ..tools.support.problems import ToolInputError, UnavailableError
from ..tools.support.text import strip_control, strip_control_deep

F = TypeVar("F", bound=Callable[..., Any])


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

    Any other exception stays a crash: the SDK reports only a generic failure and logs the traceback.
    """
    if not inspect.iscoroutinefunction(fn):
        raise TypeError(f"tool {fn.__name__} must be async")

    @functools.wraps(fn)
    async def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            result = await fn(*args, **kwargs)
        except (ToolInputError, UnavailableError) as exc:
            raise ToolError(strip_control(str(exc))) from exc
        if isinstance(result, BaseModel):  # telemetry text may carry terminal escapes: never pass them on
            return type(result).model_validate(strip_control_deep(result.model_dump()))
        return result

    return wrapper  # type: ignore[return-value]
