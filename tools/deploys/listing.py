"""The deploys as the `list_deploys` tool and `self-improver deploy list` show them, newest first."""

from __future__ import annotations

import asyncio
from typing import Literal

from pydantic import BaseModel, Field

from ..support.paging import decode_cursor, encode_cursor
from ..support.problems import ToolInputError
from ..telemetry.source import TelemetryStore
from ..telemetry.windows import utc_text
from .releases import learn_first_seen
from .store import DeployStore

CURSOR_KIND = "deploys"


class DeployEntry(BaseModel):
    release: str
    commit: str | None
    deployed_at: str = Field(description="UTC.")
    source: Literal["recorded", "first_seen"] = Field(
        description="recorded: `deploy record`; first_seen: the first task seen on it."
    )


class DeployList(BaseModel):
    deploys: list[DeployEntry] = Field(description="Newest first.")
    count: int
    total: int
    has_more: bool
    next_cursor: str | None
    note: str | None = None


async def list_deploys(
    store: DeployStore, telemetry: TelemetryStore | None, limit: int = 20, cursor: str | None = None
) -> DeployList:
    if not 1 <= limit <= 200:
        raise ToolInputError(f"limit must be from 1 to 200, got {limit}")
    after = None
    if cursor:
        key = decode_cursor(CURSOR_KIND, cursor)
        if len(key) != 2 or not all(isinstance(k, str) for k in key):
            raise ToolInputError("cursor is not valid here: pass next_cursor from the previous call")
        after = (key[0], key[1])
    if telemetry is not None and cursor is None:
        await learn_first_seen(telemetry, store)
    rows = await asyncio.to_thread(store.page, limit + 1, after)
    total = await asyncio.to_thread(store.count)
    shown = rows[:limit]
    entries = [
        DeployEntry(
            release=r["release"],
            commit=r["commit_sha"],
            deployed_at=utc_text_of(r["deployed_at"]),
            source=r["source"],
        )
        for r in shown
    ]
    more = len(rows) > limit
    note = None
    if total == 0:
        note = (
            "no deploys known: record them with `self-improver deploy record --release R --commit SHA`, "
            "or map a `release` column in [telemetry.columns] so first sightings count as deploys"
        )
    return DeployList(
        deploys=entries,
        count=len(entries),
        total=total,
        has_more=more,
        next_cursor=encode_cursor(CURSOR_KIND, [shown[-1]["deployed_at"], shown[-1]["release"]])
        if more
        else None,
        note=note,
    )


def utc_text_of(stored: str) -> str:
    """Stored canonical UTC text as it is shown (unchanged; kept as one place to change it)."""
    from ..telemetry.windows import parse_timestamp

    return utc_text(parse_timestamp(stored))
