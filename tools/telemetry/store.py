"""Read access to a telemetry database: ours or a user's own, never altered.

Every read opens the file read-only (`mode=ro`, `PRAGMA query_only`), so the tools cannot change a
user's data even by accident. The store learns which optional columns exist, so tools can work on
the minimal `tasks(id, status, error, created_at)` table and say which fields are unavailable.
"""

from __future__ import annotations

import sqlite3
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, tzinfo
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import aiosqlite

from ..support.problems import UnavailableError
from .schema import BUSY_TIMEOUT_MS, REQUIRED_COLUMNS


@dataclass
class TelemetryStore:
    path: Path
    timezone: str = "UTC"
    pinned_now: datetime | None = None

    @property
    def tz(self) -> tzinfo:
        return ZoneInfo(self.timezone)

    def now(self) -> datetime:
        """The configured clock: a pinned instant for demos and tests, the real time otherwise."""
        return self.pinned_now if self.pinned_now is not None else datetime.now(UTC)

    @asynccontextmanager
    async def connect(self) -> AsyncIterator[TelemetryReader]:
        if not self.path.is_file():
            raise UnavailableError(
                f"telemetry database not found at {self.path}: point SELF_IMPROVER_TELEMETRY_DB (or "
                "--telemetry-db) at your SQLite file with a `tasks` table, or record tasks first "
                "(`self-improver ingest FILE.jsonl`); `self-improver demo` shows a working example"
            )
        uri = f"{self.path.resolve().as_uri()}?mode=ro"
        try:
            conn = await aiosqlite.connect(uri, uri=True, timeout=BUSY_TIMEOUT_MS / 1000)
        except sqlite3.Error as exc:
            raise UnavailableError(f"cannot open telemetry database {self.path}: {exc}") from exc
        try:
            await conn.execute("PRAGMA query_only = 1")
            reader = TelemetryReader(conn, await _task_columns(conn, self.path))
            yield reader
        except sqlite3.OperationalError as exc:
            raise translate_sqlite_error(exc, self.path) from exc
        finally:
            await conn.close()


class TelemetryReader:
    """One open read-only connection plus what the `tasks` table offers."""

    def __init__(self, conn: aiosqlite.Connection, columns: frozenset[str]):
        self.conn = conn
        self.columns = columns

    def has(self, column: str) -> bool:
        return column in self.columns

    def unavailable(self, wanted: Sequence[str]) -> list[str]:
        return [c for c in wanted if c not in self.columns]

    def column_or_null(self, column: str) -> str:
        return column if column in self.columns else f"NULL AS {column}"

    async def fetchall(self, sql: str, params: Any = ()) -> list[sqlite3.Row]:
        self.conn.row_factory = sqlite3.Row
        async with self.conn.execute(sql, params) as cursor:
            return list(await cursor.fetchall())


async def _task_columns(conn: aiosqlite.Connection, path: Path) -> frozenset[str]:
    async with conn.execute("PRAGMA table_info(tasks)") as cursor:
        columns = frozenset(row[1] for row in await cursor.fetchall())
    if not columns:
        raise UnavailableError(
            f"{path} has no `tasks` table: self-improver reads tasks(id, status, error, created_at); "
            "point --telemetry-db at the database your agents log to, or create it by recording tasks"
        )
    missing = [c for c in REQUIRED_COLUMNS if c not in columns]
    if missing:
        raise UnavailableError(
            f"the tasks table in {path} lacks required column(s) {', '.join(missing)}: the minimum is "
            f"tasks({', '.join(REQUIRED_COLUMNS)}); add them or create a view named tasks that provides them"
        )
    return columns


def translate_sqlite_error(exc: sqlite3.OperationalError, path: Path) -> Exception:
    text = str(exc)
    if "locked" in text or "busy" in text:
        return UnavailableError(
            f"telemetry database {path} stayed locked by another process for {BUSY_TIMEOUT_MS // 1000} s; "
            "retry in a moment, or make the writer use WAL mode so readers are not blocked"
        )
    return UnavailableError(f"telemetry database {path} could not be read: {text}")
