"""Log notifications to the client (`notifications/message`) at the level it chose with `logging/setLevel`.

A client that sends `logging/setLevel` gets messages at that level and above, for its own connection;
until then it gets `info` and above. (From protocol 2026-07-28 each request carries its own level in
`_meta`, which the SDK applies.) Tools log where they work long (the start and end of clustering,
a test run) and what they warn about (every entry of a result's `warnings`). Sending is best effort: a
log that cannot be delivered never fails a tool.

The SDK marks the logging capability deprecated as of protocol 2026-07-28 (which drops
`logging/setLevel` and lets each request opt in through `_meta`); it still governs the protocol
versions hosts speak today, so the deprecation warning is silenced here, and only here.
"""

from __future__ import annotations

import logging
import warnings
from typing import Any, Literal, get_args

from mcp.server.context import ServerRequestContext
from mcp.server.mcpserver import Context
from mcp.shared.exceptions import MCPDeprecationWarning
from mcp_types import EmptyResult, SetLevelRequestParams
from mcp_types.version import MODERN_PROTOCOL_VERSIONS

Level = Literal["debug", "info", "notice", "warning", "error", "critical", "alert", "emergency"]
LEVELS: tuple[Level, ...] = get_args(Level)
DEFAULT_LEVEL: Level = "info"
LOGGER_NAME = "self-improver"
_STATE_KEY = "self_improver.log_level"

log = logging.getLogger("self_improver.tool_log")


def _connection_state(session: Any) -> dict[str, Any] | None:
    """The connection's scratch state (`Connection.state`), which lives as long as the client's session."""
    connection = getattr(session, "_connection", None)
    state = getattr(connection, "state", None)
    return state if isinstance(state, dict) else None


async def set_level(ctx: ServerRequestContext[Any, Any], params: SetLevelRequestParams) -> EmptyResult:
    """The `logging/setLevel` handler: remember the level for this client's connection."""
    state = _connection_state(ctx.session)
    if state is not None:
        state[_STATE_KEY] = params.level
    return EmptyResult()


def chosen_level(session: Any) -> Level:
    state = _connection_state(session)
    level = state.get(_STATE_KEY) if state is not None else None
    return level if level in LEVELS else DEFAULT_LEVEL


async def send(ctx: Context, level: Level, message: str) -> None:
    """Send `message` to the client if `level` is at or above the level it chose."""
    try:
        request = ctx.request_context
        # From 2026-07-28 each request opts in to a level in its `_meta` and the SDK applies it.
        legacy = request.protocol_version not in MODERN_PROTOCOL_VERSIONS
        if legacy and LEVELS.index(level) < LEVELS.index(chosen_level(request.session)):
            return
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", MCPDeprecationWarning)
            await ctx.log(level, message, logger_name=LOGGER_NAME)
    except Exception as exc:  # best effort: no request context, a closed stream, ...
        log.debug("log notification not sent: %r", exc)
