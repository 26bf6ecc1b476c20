"""Memory fixtures: a real embedded chromadb in a temp dir with the offline embedding and a pinned clock."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from self_improver.tools.memory.store import MemoryStore

NIGHT = datetime(2026, 2, 16, 3, 0, tzinfo=UTC)


class Clock:
    """A settable clock, so tests decide which night a finding belongs to."""

    def __init__(self, moment: datetime = NIGHT):
        self.moment = moment

    def __call__(self) -> datetime:
        return self.moment


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def store(tmp_path: Path, clock: Clock) -> Iterator[MemoryStore]:
    memory = MemoryStore(tmp_path / "data", embedding="offline", now=clock)
    yield memory
    memory.close()
