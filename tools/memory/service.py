"""The memory operations as async functions for the MCP tools.

chroma and SQLite calls block, so each operation runs in a worker thread and the event loop stays
free for other requests. Tools stay thin: validation and errors live in the domain modules.
"""

from __future__ import annotations

import asyncio
from typing import Any

from ..support.threads import in_thread
from .history import finding_history as _history
from .models import Finding, FindingHistory, RememberResult
from .recall import recall as _recall
from .store import DEFAULT_ACTOR, MemoryStore


async def remember_finding(
    store: MemoryStore,
    content: str,
    confidence: float,
    metadata: dict[str, Any] | None,
    source: str = DEFAULT_ACTOR,
    timestamp: str | None = None,
) -> RememberResult:
    finding = store.draft(content, confidence, metadata, source=source, timestamp=timestamp)
    return await asyncio.to_thread(store.remember, finding)


recall_findings = in_thread(_recall)


async def update_finding(
    store: MemoryStore,
    finding_id: str,
    metadata: dict[str, Any] | None,
    confidence: float | None = None,
    actor: str = DEFAULT_ACTOR,
) -> Finding:
    return await asyncio.to_thread(store.update, finding_id, metadata, confidence, actor)


async def finding_history(
    store: MemoryStore, signature: str, limit: int = 50, cursor: str | None = None
) -> FindingHistory:
    return await asyncio.to_thread(_history, store, signature, limit, cursor)


async def get_finding(store: MemoryStore, finding_id: str) -> Finding:
    return await asyncio.to_thread(store.get, finding_id)
