"""Three days of planted tasks with known daily totals and three causes, for every telemetry shape."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

DAYS = ("2026-02-13", "2026-02-14", "2026-02-15")
CAUSES = {
    "imap": lambda i: f"TimeoutError: IMAP timeout after {20 + i % 9}s on imap{i % 4}.example.com",
    "key": lambda i: "KeyError: 'thread_id'",
    "gateway": lambda i: (
        f"Gateway timeout: upstream llm-gw-{i % 3}.internal:8443 did not respond (request {i:08x})"
    ),
}


@dataclass(frozen=True)
class Task:
    at: datetime
    failed: bool
    error: str | None
    agent: str


def planted_tasks() -> list[Task]:
    """40/50/60 tasks on the three days, every 6th failing with one of the three causes in turn."""
    tasks = []
    for d, day in enumerate(DAYS):
        start = datetime.fromisoformat(day).replace(tzinfo=UTC)
        count = 40 + 10 * d
        for i in range(count):
            # Spread over the whole day, including the last half hour (local date differs at +02:00).
            at = start + timedelta(seconds=int(i * 86_399 / (count - 1)))
            failed = i % 6 == 1
            cause = list(CAUSES)[(i // 6) % 3]
            tasks.append(Task(at, failed, CAUSES[cause](i + 100 * d) if failed else None, f"agent-{i % 2}"))
    return tasks


EXPECTED_TOTALS = {
    day: (40 + 10 * d, sum(1 for i in range(40 + 10 * d) if i % 6 == 1)) for d, day in enumerate(DAYS)
}
