"""Memory's own failures, importable without loading chromadb (the server starts without it)."""

from __future__ import annotations

from ..support.problems import UnavailableError


class EmbeddingMismatchError(UnavailableError):
    """The stored vectors come from another embedding than the configured one."""


class ServerDownError(UnavailableError):
    """The chroma server did not answer; the request may be retried later."""
