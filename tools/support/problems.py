"""Errors a caller can fix, shared by every domain module.

The MCP layer turns these into error results with the message intact, so every message must say
what went wrong *and* what to send or do instead. Anything else raised inside a tool is a bug and
reaches the client only as a generic failure.
"""


class ToolInputError(ValueError):
    """A bad argument: the message names the argument and the accepted values."""


class NotFoundError(ToolInputError):
    """An id, signature, repo or file that does not exist; the message says how to list valid ones."""


class UnavailableError(RuntimeError):
    """A dependency is missing or down (database file, chroma server); the message says how to fix it."""
