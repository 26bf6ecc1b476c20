"""The story of one error signature: what was found each night and every change made since.

Findings come from chroma, changes from the audit trail; both are merged into one timeline, oldest
first, and paged with a keyset cursor so a page boundary never skips or repeats an event.
"""

from __future__ import annotations

from typing import Any

from ..support.paging import decode_cursor, encode_cursor
from ..support.problems import ToolInputError
from .fields import from_chroma
from .models import FindingHistory, HistoryEvent
from .store import MemoryStore

CURSOR_KIND = "memory_history"
MAX_LIMIT = 200
MAX_SIGNATURE_CHARS = 500


def _key(event: HistoryEvent) -> list[Any]:
    if event.kind == "found":
        return [event.at, 0, event.finding_id]
    assert event.change is not None
    return [event.at, 1, f"{event.change.id:012d}"]


def _cursor_key(cursor: str) -> list[Any]:
    key = decode_cursor(CURSOR_KIND, cursor)
    if (
        len(key) != 3
        or not isinstance(key[0], str)
        or not isinstance(key[1], int)
        or not isinstance(key[2], str)
    ):
        raise ToolInputError(
            "cursor is not valid for finding_history: pass the next_cursor of the previous page"
        )
    return key


def finding_history(
    store: MemoryStore, signature: str, limit: int = 50, cursor: str | None = None
) -> FindingHistory:
    sig = (signature or "").strip()
    if not sig or len(sig) > MAX_SIGNATURE_CHARS:
        raise ToolInputError(
            "signature must be the non-empty signature returned by top_errors or recall_findings"
        )
    if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= MAX_LIMIT:
        raise ToolInputError(f"limit must be an integer from 1 to {MAX_LIMIT}, got {limit!r}")
    after = _cursor_key(cursor) if cursor else None

    def read(collection: Any) -> FindingHistory:
        got = collection.get(where={"signature": {"$eq": sig}}, include=["documents", "metadatas"])
        findings = [
            from_chroma(i, d, m)
            for i, d, m in zip(got["ids"], got["documents"], got["metadatas"], strict=True)
        ]
        changes = [c for c in store.audit.entries(sig, [f.id for f in findings]) if c.action != "create"]
        events = [
            HistoryEvent(at=f.timestamp, kind="found", finding_id=f.id, finding=f, change=None)
            for f in findings
        ]
        events += [
            HistoryEvent(at=c.at, kind="changed", finding_id=c.finding_id, finding=None, change=c)
            for c in changes
        ]
        events.sort(key=_key)
        if after is not None:
            events = [e for e in events if _key(e) > after]
        page = events[:limit]
        has_more = len(events) > limit
        return FindingHistory(
            signature=sig,
            events=page,
            findings_total=len(findings),
            changes_total=len(changes),
            next_cursor=encode_cursor(CURSOR_KIND, _key(page[-1])) if has_more else None,
            has_more=has_more,
            note=None
            if findings or changes
            else (
                f"nothing is stored for signature {sig!r}: recall_findings(query=<its error message>) finds the "
                "same problem recorded under another signature"
            ),
        )

    return store.run(read)  # type: ignore[no-any-return]
