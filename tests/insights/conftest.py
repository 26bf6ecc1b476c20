"""Telemetry stores built for the insights tests: known failures around a merge, known durations."""

from __future__ import annotations

import random
import sqlite3
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from self_improver.tools.errors.analyze import analyze_error
from self_improver.tools.telemetry.schema import open_writable

NOW = datetime(2026, 3, 1, 0, 0, tzinfo=UTC)
MERGED = NOW - timedelta(days=7)
TASKS_PER_DAY = 150
TIME = "%Y-%m-%d %H:%M:%S"

# error text -> (occurrences in the 7 days before the merge, in the 7 days after)
FAILURES = {
    "fixed": ("ConnectionResetError: peer reset the connection", 30, 0),
    "halves": ("ValueError: invoice total is negative", 60, 28),
    "rises": ("PermissionError: mailbox is read-only", 4, 30),
}


@dataclass(frozen=True)
class ImpactNight:
    path: Path
    signatures: dict[str, str]  # scenario name -> signature
    now: datetime = NOW
    merged: datetime = MERGED

    @property
    def merged_iso(self) -> str:
        return self.merged.strftime("%Y-%m-%dT%H:%M:%SZ")


def signature_of(error: str) -> str:
    error_type = error.split(":", 1)[0]
    return analyze_error(error, None, error_type).signature


def _spread(count: int, slots: int, taken: set[int], rng: random.Random) -> list[int]:
    """`count` free positions out of `slots`, spread over the whole window."""
    chosen = []
    for k in range(count):
        position = (k * slots) // max(count, 1) + rng.randrange(max(slots // max(count, 1), 1))
        while position % slots in taken:
            position += 1
        taken.add(position % slots)
        chosen.append(position % slots)
    return chosen


def build_impact_db(path: Path) -> ImpactNight:
    """14 days of 150 tasks a day ending at NOW; the merge at NOW - 7 days splits them in two halves."""
    rng = random.Random(11)
    per_window = 7 * TASKS_PER_DAY
    step = timedelta(seconds=86400 / TASKS_PER_DAY)
    conn = open_writable(str(path))
    for window_index, start in enumerate((MERGED - timedelta(days=7), MERGED)):
        taken: set[int] = set()
        errors: dict[int, str] = {}
        for error, *counts in FAILURES.values():
            for position in _spread(counts[window_index], per_window, taken, rng):
                errors[position] = error
        rows = []
        for i in range(per_window):
            error = errors.get(i)
            created = start + i * step + timedelta(seconds=5)
            rows.append(
                (
                    "failed" if error else "done",
                    error,
                    error.split(":", 1)[0] if error else None,
                    created.strftime(TIME),
                    "mail-agent" if i % 3 else "calendar-agent",
                    "handle_message",
                )
            )
        conn.executemany(
            "INSERT INTO tasks(status, error, error_type, created_at, agent, task_name) VALUES (?,?,?,?,?,?)",
            rows,
        )
    conn.commit()
    conn.close()
    return ImpactNight(path, {name: signature_of(error) for name, (error, _, _) in FAILURES.items()})


@pytest.fixture
def impact_night(tmp_path: Path) -> ImpactNight:
    return build_impact_db(tmp_path / "telemetry.db")


# (task_name, agent) -> (baseline samples, recent samples, baseline median ms, slowdown factor)
OPERATIONS = {
    ("render_report", "reports-agent"): (60, 40, 800.0, 2.0),
    ("rare_job", "reports-agent"): (10, 8, 900.0, 3.0),
    ("check_inbox", "mail-agent"): (50, 50, 1200.0, 1.0),
}

Columns = Callable[[datetime, float], dict[str, str | float]]


def build_durations_db(path: Path, columns: str = "duration_ms") -> Path:
    """Tasks with known durations: baseline Jan 25..Feb 20, recent Feb 22..Feb 28 (NOW is Mar 1 00:00).

    columns='duration_ms' uses our schema; 'timestamps' a user table with only started_at/finished_at
    (ISO with Z); 'none' the minimal table.
    """
    rng = random.Random(5)
    conn = sqlite3.connect(path)
    optional = {
        "duration_ms": "task_name TEXT, agent TEXT, duration_ms INTEGER",
        "timestamps": "task_name TEXT, agent TEXT, started_at TEXT, finished_at TEXT",
        "none": "task_name TEXT",
    }[columns]
    conn.execute(
        f"CREATE TABLE tasks (id INTEGER PRIMARY KEY, status TEXT, error TEXT, created_at TEXT, {optional})"
    )
    for (name, agent), (n_base, n_now, median, factor) in OPERATIONS.items():
        for first, days, count, scale in (
            (datetime(2026, 1, 25, tzinfo=UTC), 26, n_base, 1.0),
            (datetime(2026, 2, 22, tzinfo=UTC), 6, n_now, factor),
        ):
            for i in range(count):
                created = first + timedelta(days=days * i / count, minutes=rng.randrange(600))
                duration = round(scale * median * rng.lognormvariate(0, 0.3))
                finished = created + timedelta(milliseconds=duration)
                values: dict[str, object] = {"status": "done", "created_at": created.strftime(TIME)}
                values["task_name"] = name
                if columns == "duration_ms":
                    values |= {"agent": agent, "duration_ms": duration}
                elif columns == "timestamps":
                    iso = "%Y-%m-%dT%H:%M:%S.%fZ"
                    values |= {
                        "agent": agent,
                        "started_at": created.strftime(iso),
                        "finished_at": finished.strftime(iso),
                    }
                keys = ", ".join(values)
                conn.execute(
                    f"INSERT INTO tasks({keys}) VALUES ({', '.join('?' for _ in values)})",
                    list(values.values()),
                )
    conn.commit()
    conn.close()
    return path


@pytest.fixture
def durations_db(tmp_path: Path) -> Callable[..., Path]:
    """`durations_db(columns='duration_ms')`: a store built by `build_durations_db` in tmp_path."""

    def build(columns: str = "duration_ms") -> Path:
        return build_durations_db(tmp_path / f"durations-{columns}.db", columns)

    return build


@pytest.fixture
def signature_for() -> Callable[[str], str]:
    return signature_of
