"""Persistent error signatures: which task got which signature, and what we know of each signature.

Kept in its own SQLite file in the data dir (`signatures.db`), never in the user's telemetry
database. Re-clustering is incremental: each run reads only failed tasks created since the last run
(with a two-day overlap, because a task recorded as `running` may fail later) and skips task ids it
has already assigned, so a nightly run costs what the night added, not what the table holds.
A task's signature, once stored, never changes; that is what keeps names stable night to night.

Each signature row records the fingerprinting algorithm (`fingerprint.SIGNATURE_ALGORITHM`) that named
it. When the algorithm changes, `signature_aliases` maps the names the new algorithm computes to the
stored names they continue (see `refresh.carry_over`), so groups, findings and pull-request markers keep
their names across an upgrade. Stores made before versioning read as algorithm 1.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from ..support.local_db import open_local_db
from ..telemetry.windows import Window, parse_timestamp, utc_text
from .signature_marks import SignatureMarks
from .signature_writes import Detail, TaskRow, unique_rows, write_rows

SCHEMA = """
CREATE TABLE IF NOT EXISTS signatures (
    signature     TEXT PRIMARY KEY,
    title         TEXT NOT NULL,
    error_type    TEXT,
    template      TEXT NOT NULL,
    first_seen    TEXT NOT NULL,
    last_seen     TEXT NOT NULL,
    occurrences   INTEGER NOT NULL DEFAULT 0,
    resolved_at   TEXT,
    resolved_by   TEXT,
    shape         TEXT, -- log-style signatures: the miner's template (values as <*>) to seed it next night
    algorithm     INTEGER NOT NULL DEFAULT 1  -- the fingerprinting algorithm that named it
);
CREATE TABLE IF NOT EXISTS task_signatures (
    task_id     PRIMARY KEY,  -- no type: keeps the user's ids as they are (integer or text)
    signature   TEXT NOT NULL REFERENCES signatures(signature),
    created_at  TEXT NOT NULL,
    agent       TEXT,
    release     TEXT  -- the release the task ran on, when the telemetry has one
);
CREATE INDEX IF NOT EXISTS idx_task_signatures_created ON task_signatures(created_at, signature);
CREATE INDEX IF NOT EXISTS idx_task_signatures_signature ON task_signatures(signature, created_at);
CREATE TABLE IF NOT EXISTS signature_aliases (
    computed    TEXT NOT NULL,     -- a name `algorithm` computes for an error ...
    algorithm   INTEGER NOT NULL,
    signature   TEXT NOT NULL REFERENCES signatures(signature),  -- ... and the stored name it continues
    PRIMARY KEY (computed, algorithm)
);
CREATE TABLE IF NOT EXISTS runs (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
"""
OVERLAP = timedelta(days=2)
FIRST_RUN_LOOKBACK = timedelta(days=90)
# Our created_at is canonical UTC text ('YYYY-MM-DD HH:MM:SS'), so a text range is an exact time range.
_IN_WINDOW = "created_at >= :w_lo AND created_at < :w_hi"


def _window_params(window: Window) -> dict[str, Any]:
    return {"w_lo": utc_text(window.start), "w_hi": utc_text(window.end)}


@dataclass(frozen=True)
class Assignment:
    task_id: int | str
    signature: str
    title: str
    error_type: str | None
    template: str
    created_at: str
    agent: str | None
    shape: str | None = None
    release: str | None = None


class SignatureStore:
    """Synchronous store; callers run it in a worker thread. One lock serialises writers."""

    def __init__(self, path: Path):
        self.path = path
        self._lock = threading.Lock()
        # The telemetry's change token and coverage at the last refresh of this process: unchanged data
        # needs no re-read of the overlap.
        self.last_refresh: tuple[Any, datetime] | None = None
        path.parent.mkdir(parents=True, exist_ok=True)
        with self._connect() as conn:
            conn.executescript(SCHEMA)
            columns = {row[1] for row in conn.execute("PRAGMA table_info(signatures)")}
            if "shape" not in columns:  # stores created before log-style seeding
                conn.execute("ALTER TABLE signatures ADD COLUMN shape TEXT")
            if "algorithm" not in columns:  # stores created before versioning: their names are algorithm 1
                conn.execute("ALTER TABLE signatures ADD COLUMN algorithm INTEGER NOT NULL DEFAULT 1")
            task_columns = {row[1] for row in conn.execute("PRAGMA table_info(task_signatures)")}
            if "release" not in task_columns:  # stores created before releases
                conn.execute("ALTER TABLE task_signatures ADD COLUMN release TEXT")
        self.marks = SignatureMarks(path)  # mutes and fixes, in the same file

    @contextmanager
    def _connect(self) -> Iterator[sqlite3.Connection]:
        """A connection for one unit of work: committed (rolled back on error), then closed. Closed here,
        not left to the cyclic garbage collector (a connection and its statement cache form a cycle), so
        a refresh of 29 batches does not keep a hundred connections and their page caches alive."""
        conn = open_local_db(self.path)
        try:
            with conn:
                yield conn
        finally:
            conn.close()

    # -- writing -------------------------------------------------------------------------------------
    def watermark(self) -> datetime | None:
        with self._connect() as conn:
            row = conn.execute("SELECT value FROM runs WHERE key = 'watermark'").fetchone()
        return parse_timestamp(row["value"]) if row else None

    def forget_coverage_unless(self, identity: str) -> bool:
        """Clustered ranges hold for one telemetry identity (source and mapping): under another (say,
        failed_statuses was fixed) every range must be read again. Returns True when it was reset."""
        with self._lock, self._connect() as conn:
            row = conn.execute("SELECT value FROM runs WHERE key = 'identity'").fetchone()
            if row is not None and row["value"] == identity:
                return False
            conn.execute("DELETE FROM runs WHERE key IN ('covered_from', 'watermark')")
            conn.execute(
                "INSERT INTO runs(key, value) VALUES ('identity', ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value",
                (identity,),
            )
        self.last_refresh = None
        return row is not None

    def covered_from(self) -> datetime | None:
        """The earliest instant from which every failed task has been clustered."""
        with self._connect() as conn:
            row = conn.execute("SELECT value FROM runs WHERE key = 'covered_from'").fetchone()
            if row:
                return parse_timestamp(row["value"])
            oldest = conn.execute("SELECT MIN(created_at) FROM task_signatures").fetchone()[0]
        return parse_timestamp(oldest) if oldest else None

    def holds_any(self, window: Window) -> bool:
        """Whether any task created in `window` has a signature (one index seek)."""
        with self._connect() as conn:
            found = conn.execute(
                f"SELECT 1 FROM task_signatures WHERE {_IN_WINDOW} LIMIT 1", _window_params(window)
            )
            return found.fetchone() is not None

    def known(self, task_ids: Sequence[int | str]) -> set[int | str]:
        """The ids among `task_ids` that already have a signature."""
        with self._connect() as conn:
            return _known(conn, task_ids)

    def record(self, assignments: Iterable[Assignment], algorithm: int) -> int:
        """Store new task -> signature assignments in one transaction; returns how many were new.

        Tasks are inserted in bulk; each signature's row is then updated once with the batch's aggregate.
        A signature new to the store is recorded as named by `algorithm`.
        """
        rows: list[TaskRow] = []
        details: list[Detail] = []
        for a in assignments:
            rows.append((a.task_id, a.signature, a.created_at, a.agent, a.release, len(details)))
            details.append((a.title, a.error_type, a.template, a.shape))
        return self.record_rows(rows, details, algorithm)

    def record_rows(self, rows: Sequence[TaskRow], details: Sequence[Detail], algorithm: int) -> int:
        """`record` for rows (task_id, signature, created_at, agent, release, index into `details`):
        the same writes without an object per task (see `signature_writes`)."""
        with self._lock, self._connect() as conn:
            batch = unique_rows(rows)
            stored = _known(conn, [r[0] for r in batch])
            fresh = [r for r in batch if r[0] not in stored] if stored else batch
            return write_rows(conn, fresh, details, algorithm)

    # -- algorithm upgrades --------------------------------------------------------------------------
    def needs_carry_over(self, algorithm: int) -> bool:
        """Whether signatures named by an older algorithm than `algorithm` wait for their aliases."""
        with self._lock, self._connect() as conn:
            row = conn.execute("SELECT value FROM runs WHERE key = 'algorithm'").fetchone()
            if row is not None and int(row["value"]) >= algorithm:
                return False
            older = conn.execute(
                "SELECT 1 FROM signatures WHERE algorithm < ? LIMIT 1", (algorithm,)
            ).fetchone()
            if older is None:
                _set_run_value(conn, "algorithm", str(algorithm))
            return older is not None

    def finish_carry_over(self, aliases: dict[str, str], algorithm: int) -> None:
        """Record computed -> stored name aliases of `algorithm`; the store is then up to date with it."""
        with self._lock, self._connect() as conn:
            conn.executemany(
                "INSERT OR IGNORE INTO signature_aliases(computed, algorithm, signature) VALUES (?, ?, ?)",
                [(computed, algorithm, stored) for computed, stored in aliases.items()],
            )
            _set_run_value(conn, "algorithm", str(algorithm))

    def assigned(self, task_ids: Sequence[int | str]) -> dict[int | str, tuple[str, int]]:
        """task id -> (its stored signature, the algorithm that named that signature), for the known ids."""
        sql = (
            "SELECT t.task_id, t.signature, s.algorithm FROM task_signatures t JOIN signatures s "
            "ON s.signature = t.signature WHERE t.task_id IN ({marks})"
        )
        with self._connect() as conn:
            return {r[0]: (r[1], int(r[2])) for r in _in_chunks(conn, sql, task_ids)}

    def continued_names(
        self, computed: Sequence[tuple[str, str | None, str]], algorithm: int
    ) -> dict[str, str]:
        """The stored name each (name, error_type, template) computed by `algorithm` continues, when not its
        own: an alias recorded at the upgrade, else the one signature of an older algorithm with the same
        type and template (recorded as an alias from then on). Names absent from the result stay as they are."""
        wanted = {name: (error_type, template) for name, error_type, template in computed}
        names = list(wanted)
        aliased = (
            "SELECT computed, signature FROM signature_aliases WHERE algorithm = ? AND computed IN ({marks})"
        )
        with self._lock, self._connect() as conn:
            found: dict[str, str] = {r[0]: r[1] for r in _in_chunks(conn, aliased, names, algorithm)}
            rows = _in_chunks(conn, "SELECT signature FROM signatures WHERE signature IN ({marks})", names)
            stored = {r[0] for r in rows}
            unknown = [n for n in names if n not in found and n not in stored]
            if not unknown:
                return found
            by_shape: dict[tuple[str | None, str], list[str]] = {}
            older = "SELECT signature, error_type, template FROM signatures WHERE algorithm < ? AND template IN ({marks})"
            for row in _in_chunks(conn, older, sorted({wanted[n][1] for n in unknown}), algorithm):
                by_shape.setdefault((row["error_type"], row["template"]), []).append(row["signature"])
            matched = {n: by_shape[wanted[n]][0] for n in unknown if len(by_shape.get(wanted[n], [])) == 1}
            conn.executemany(
                "INSERT OR IGNORE INTO signature_aliases(computed, algorithm, signature) VALUES (?, ?, ?)",
                [(name, algorithm, old) for name, old in matched.items()],
            )
        return found | matched

    def mark_covered(self, start: datetime, watermark: datetime | None) -> None:
        """Every failed task created from `start` on (up to `watermark`, when given) has been clustered."""
        with self._lock, self._connect() as conn:
            old = conn.execute("SELECT value FROM runs WHERE key = 'covered_from'").fetchone()
            covered = min(start, parse_timestamp(old["value"])) if old else start
            values = [("covered_from", utc_text(covered))]
            if watermark is not None:
                values.append(("watermark", utc_text(watermark)))
            conn.executemany(
                "INSERT INTO runs(key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value",
                values,
            )

    def log_shapes(self, since: datetime) -> list[sqlite3.Row]:
        """Log-style signatures seen since `since`, oldest first, with the shapes that seed the miner."""
        with self._connect() as conn:
            return conn.execute(
                "SELECT signature, error_type, shape FROM signatures WHERE shape IS NOT NULL AND last_seen >= ? "
                "ORDER BY first_seen, signature",
                (utc_text(since),),
            ).fetchall()

    def mark_resolved(self, signature: str, at: datetime, by: str) -> bool:
        with self._lock, self._connect() as conn:
            cursor = conn.execute(
                "UPDATE signatures SET resolved_at = ?, resolved_by = ? WHERE signature = ?",
                (utc_text(at), by, signature),
            )
        return bool(cursor.rowcount)

    # -- reading -------------------------------------------------------------------------------------
    def window_rows(self, window: Window, signature: str | None = None) -> list[sqlite3.Row]:
        params: dict[str, Any] = _window_params(window)
        extra = ""
        if signature is not None:
            extra, params["signature"] = " AND signature = :signature", signature
        with self._connect() as conn:
            return conn.execute(
                f"SELECT task_id, signature, created_at, agent FROM task_signatures WHERE {_IN_WINDOW}{extra}",
                params,
            ).fetchall()

    def daily_counts(
        self,
        window: Window,
        day_starts: Sequence[str],
        signature: str | None = None,
        agent: str | None = None,
    ) -> list[sqlite3.Row]:
        """(signature, day index, count, agents, newest) per signature and local day, aggregated in SQL.

        `day_starts` are the UTC texts at which each local day after the first begins; our
        `created_at` is canonical UTC text, so plain text comparison buckets rows by local day, and
        the work in Python is per signature and day, not per task.
        """
        params: dict[str, Any] = _window_params(window)
        bucket = (
            "CASE "
            + " ".join(f"WHEN created_at < :d{i} THEN {i}" for i in range(len(day_starts)))
            + f" ELSE {len(day_starts)} END"
            if day_starts
            else "0"
        )
        params |= {f"d{i}": start for i, start in enumerate(day_starts)}
        extra = ""
        if signature is not None:
            extra, params["signature"] = " AND signature = :signature", signature
        if agent is not None:
            extra, params["agent"] = extra + " AND agent = :agent", agent
        with self._connect() as conn:
            return conn.execute(
                f"SELECT signature, {bucket} AS day, COUNT(*) AS n, group_concat(DISTINCT agent) AS agents, "
                f"MAX(created_at) AS newest FROM task_signatures WHERE {_IN_WINDOW}{extra} "
                "GROUP BY signature, day",
                params,
            ).fetchall()

    def newest_tasks(self, signature: str, window: Window, limit: int) -> list[int | str]:
        params: dict[str, Any] = _window_params(window) | {"signature": signature, "limit": limit}
        with self._connect() as conn:
            return [
                r[0]
                for r in conn.execute(
                    f"SELECT task_id FROM task_signatures WHERE signature = :signature AND {_IN_WINDOW} "
                    "ORDER BY created_at DESC LIMIT :limit",
                    params,
                )
            ]

    def signatures(self, names: Iterable[str]) -> dict[str, sqlite3.Row]:
        with self._connect() as conn:
            rows = _in_chunks(conn, "SELECT * FROM signatures WHERE signature IN ({marks})", list(names))
            return {row["signature"]: row for row in rows}

    def all_signatures(self) -> list[sqlite3.Row]:
        with self._connect() as conn:
            return conn.execute("SELECT * FROM signatures ORDER BY last_seen DESC").fetchall()

    def releases_since(self, signature: str, since: datetime) -> list[sqlite3.Row]:
        """(release, n, newest) of the signature's failures after `since`; release NULL when unknown."""
        with self._connect() as conn:
            return conn.execute(
                "SELECT release, COUNT(*) AS n, MAX(created_at) AS newest FROM task_signatures "
                "WHERE signature = ? AND created_at > ? GROUP BY release",
                (signature, utc_text(since)),
            ).fetchall()

    def task_ids(self, signature: str, limit: int) -> list[int | str]:
        with self._connect() as conn:
            return [
                r[0]
                for r in conn.execute(
                    "SELECT task_id FROM task_signatures WHERE signature = ? ORDER BY created_at DESC LIMIT ?",
                    (signature, limit),
                )
            ]


def _set_run_value(conn: sqlite3.Connection, key: str, value: str) -> None:
    conn.execute(
        "INSERT INTO runs(key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value",
        (key, value),
    )


def _in_chunks(conn: sqlite3.Connection, sql: str, values: Sequence[Any], *params: Any) -> list[sqlite3.Row]:
    """Rows of `sql` whose `IN ({marks})` list takes `values`, 500 at a time (after the leading `params`)."""
    rows: list[sqlite3.Row] = []
    for start in range(0, len(values), 500):
        chunk = list(values[start : start + 500])
        rows += conn.execute(sql.format(marks=",".join("?" * len(chunk))), (*params, *chunk)).fetchall()
    return rows


def _known(conn: sqlite3.Connection, task_ids: Sequence[int | str]) -> set[int | str]:
    return {
        r[0]
        for r in _in_chunks(conn, "SELECT task_id FROM task_signatures WHERE task_id IN ({marks})", task_ids)
    }
