"""What pulls.db keeps around our pull requests, beyond the pull requests themselves (records.py):

- `pull_fingerprints`: the fingerprint of each opened pull request's diff (diff_fingerprint.py), so a
  fix whose diff equals an open one's is answered with that pull request instead of a second one;
- `pull_signatures`: further signatures a pull request fixes (linked when their fix had the same diff);
- `open_reservations`: opens in flight. The caps (`max_prs_per_run`, `max_open_prs`) are checked and
  a place is reserved in one `BEGIN IMMEDIATE` transaction, so processes sharing the data dir (a nightly
  run, a developer's MCP host, HTTP sessions) cannot together open more than the caps allow. A
  reservation is released when the create succeeded or failed; one left by a crashed process expires;
- `pull_verdicts`: the last measure_impact verdict posted on each pull request (post once per change);
- `pull_comments`: the local provider's comments (a forge keeps its own).
"""

from __future__ import annotations

import sqlite3
import time
import uuid
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass
from pathlib import Path

from ..support.local_db import create_tables, immediate, read_rows
from ..support.problems import ToolInputError

RESERVATION_SECONDS = 15 * 60  # longer than any push + create with retries; then a crashed one expires

SCHEMA = """
CREATE TABLE IF NOT EXISTS pull_fingerprints (
    provider TEXT NOT NULL, repo TEXT NOT NULL, number INTEGER NOT NULL, fingerprint TEXT NOT NULL,
    PRIMARY KEY (provider, repo, number)
);
CREATE INDEX IF NOT EXISTS idx_pull_fingerprints ON pull_fingerprints(provider, repo, fingerprint);
CREATE TABLE IF NOT EXISTS pull_signatures (
    provider TEXT NOT NULL, repo TEXT NOT NULL, number INTEGER NOT NULL, signature TEXT NOT NULL,
    linked_at TEXT NOT NULL,
    PRIMARY KEY (provider, repo, number, signature)
);
CREATE INDEX IF NOT EXISTS idx_pull_signatures ON pull_signatures(provider, repo, signature);
CREATE TABLE IF NOT EXISTS open_reservations (
    id TEXT PRIMARY KEY, provider TEXT NOT NULL, repo TEXT NOT NULL, branch TEXT NOT NULL,
    signature TEXT NOT NULL, run_id TEXT NOT NULL, expires REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS pull_verdicts (
    provider TEXT NOT NULL, repo TEXT NOT NULL, number INTEGER NOT NULL, verdict TEXT NOT NULL,
    text TEXT NOT NULL, posted_at TEXT NOT NULL,
    PRIMARY KEY (provider, repo, number)
);
CREATE TABLE IF NOT EXISTS pull_comments (
    id INTEGER PRIMARY KEY AUTOINCREMENT, provider TEXT NOT NULL, repo TEXT NOT NULL,
    number INTEGER NOT NULL, body TEXT NOT NULL, created_at TEXT NOT NULL
);
"""


@dataclass(frozen=True)
class Caps:
    run_id: str
    per_run: int
    max_open: int


def _check_cap(used: int, cap: int, setting: str, state: str, instead: str) -> None:
    """Refuse (ToolInputError) when `used` has reached `cap`, the config's `setting`; `state` says what
    is open, `instead` what to do rather than raise the cap."""
    if used >= cap:
        raise ToolInputError(
            f"refused: {state}, the cap {setting}={cap}. Nothing was pushed. {instead}, or raise {setting} "
            f"in the config (SELF_IMPROVER_{setting.upper()}) if a person agrees"
        )


class PullLedger:
    """Synchronous; callers run it in a worker thread. pulls.db's `pull_requests` table must exist."""

    def __init__(self, path: Path):
        self.path = path
        create_tables(path, SCHEMA)

    def _write(self) -> AbstractContextManager[sqlite3.Connection]:
        """One immediate transaction: it takes the database's write lock before reading anything."""
        return immediate(self.path)

    def _read(self, sql: str, params: tuple[object, ...] = ()) -> list[sqlite3.Row]:
        return read_rows(self.path, sql, params)

    # -- reservations: the caps, across processes ---------------------------------------------------

    def reserve(
        self,
        provider: str,
        repo: str,
        branch: str,
        signature: str,
        caps: Caps,
        count_open: Callable[[], int],
        dry_run: bool = False,
    ) -> str:
        """Check both caps and reserve one open, atomically; raises ToolInputError when refused.

        `count_open` (the provider's open self-improver pull requests) runs while the write lock is
        held, so no other process can reserve or finish an open between the count and the reservation.
        Reservations whose pull request is already recorded open are not counted twice. `dry_run`: the
        same checks, nothing reserved (returns "").
        """
        with self._write() as conn:
            conn.execute("DELETE FROM open_reservations WHERE expires < ?", (time.time(),))
            busy = conn.execute(
                "SELECT 1 FROM open_reservations WHERE provider = ? AND repo = ? AND (signature = ? OR branch = ?)",
                (provider, repo, signature, branch),
            ).fetchone()
            if busy:
                raise ToolInputError(
                    f"another session is opening a pull request for signature {signature} (or branch {branch!r}) "
                    "right now: nothing was pushed; call open_pull_request again in a minute and it returns "
                    "that pull request"
                )
            opened = _count(conn, "pull_requests WHERE opened_run = ?", caps.run_id)
            in_flight = _count(conn, "open_reservations WHERE run_id = ?", caps.run_id)
            doing = f" and is opening {in_flight} more" if in_flight else ""
            _check_cap(
                opened + in_flight,
                caps.per_run,
                "max_prs_per_run",
                f"this run already opened {opened} pull request(s){doing}",
                "Remember the finding so a later night can open it",
            )
            open_now = count_open()
            pending = _count(
                conn,
                "open_reservations r WHERE r.provider = ? AND NOT EXISTS (SELECT 1 FROM pull_requests p "
                "WHERE p.provider = r.provider AND p.repo = r.repo AND p.head = r.branch AND p.state = 'open')",
                provider,
            )
            others = f" and {pending} more are being opened by other sessions" if pending else ""
            _check_cap(
                open_now + pending,
                caps.max_open,
                "max_open_prs",
                f"{open_now} self-improver pull request(s) are open{others}",
                "Wait until reviewers merge or close some (see list_pull_requests)",
            )
            if dry_run:
                return ""
            reservation = uuid.uuid4().hex
            conn.execute(
                "INSERT INTO open_reservations (id, provider, repo, branch, signature, run_id, expires) "
                "VALUES (?, ?, ?, ?, ?, ?, ?)",
                (
                    reservation,
                    provider,
                    repo,
                    branch,
                    signature,
                    caps.run_id,
                    time.time() + RESERVATION_SECONDS,
                ),
            )
        return reservation

    def release(self, reservation: str) -> None:
        with self._write() as conn:
            conn.execute("DELETE FROM open_reservations WHERE id = ?", (reservation,))

    # -- fingerprints and linked signatures ---------------------------------------------------------

    def set_fingerprint(self, provider: str, repo: str, number: int, fingerprint: str) -> None:
        with self._write() as conn:
            conn.execute(
                "INSERT INTO pull_fingerprints (provider, repo, number, fingerprint) VALUES (?, ?, ?, ?) "
                "ON CONFLICT (provider, repo, number) DO UPDATE SET fingerprint = excluded.fingerprint",
                (provider, repo, number, fingerprint),
            )

    def open_with_fingerprint(self, provider: str, repo: str, fingerprint: str) -> list[int]:
        """Numbers of pull requests with this diff fingerprint that our records still call open."""
        rows = self._read(
            "SELECT f.number FROM pull_fingerprints f JOIN pull_requests p ON p.provider = f.provider AND "
            "p.repo = f.repo AND p.number = f.number WHERE f.provider = ? AND f.repo = ? AND f.fingerprint = ? "
            "AND p.state = 'open' ORDER BY f.number DESC",
            (provider, repo, fingerprint),
        )
        return [int(r["number"]) for r in rows]

    def link_signature(self, provider: str, repo: str, number: int, signature: str, at: str) -> bool:
        """Record that #number also fixes `signature`; False when it was linked already."""
        with self._write() as conn:
            cursor = conn.execute(
                "INSERT OR IGNORE INTO pull_signatures (provider, repo, number, signature, linked_at) "
                "VALUES (?, ?, ?, ?, ?)",
                (provider, repo, number, signature, at),
            )
            return cursor.rowcount > 0

    def linked_signatures(self, provider: str, repo: str, number: int) -> list[str]:
        rows = self._read(
            "SELECT signature FROM pull_signatures WHERE provider = ? AND repo = ? AND number = ? "
            "ORDER BY linked_at, signature",
            (provider, repo, number),
        )
        return [r["signature"] for r in rows]

    def numbers_linked_to(self, provider: str, repo: str, signature: str) -> list[int]:
        rows = self._read(
            "SELECT number FROM pull_signatures WHERE provider = ? AND repo = ? AND signature = ? "
            "ORDER BY number DESC",
            (provider, repo, signature),
        )
        return [int(r["number"]) for r in rows]

    # -- verdicts and the local provider's comments -------------------------------------------------

    def last_verdict(self, provider: str, repo: str, number: int) -> str | None:
        rows = self._read(
            "SELECT verdict FROM pull_verdicts WHERE provider = ? AND repo = ? AND number = ?",
            (provider, repo, number),
        )
        return rows[0]["verdict"] if rows else None

    def claim_verdict(
        self, provider: str, repo: str, number: int, verdict: str, text: str, at: str
    ) -> tuple[bool, tuple[str, str, str] | None]:
        """Record `verdict` as posted on #number unless it already is, atomically (so two processes never
        both post it); returns (claimed, the previous row) so a failed post can `restore_verdict`."""
        with self._write() as conn:
            row = conn.execute(
                "SELECT verdict, text, posted_at FROM pull_verdicts WHERE provider = ? AND repo = ? AND number = ?",
                (provider, repo, number),
            ).fetchone()
            previous = (row["verdict"], row["text"], row["posted_at"]) if row else None
            if previous is not None and previous[0] == verdict:
                return False, previous
            self._put_verdict(conn, provider, repo, number, (verdict, text, at))
        return True, previous

    def restore_verdict(
        self, provider: str, repo: str, number: int, previous: tuple[str, str, str] | None
    ) -> None:
        with self._write() as conn:
            if previous is None:
                conn.execute(
                    "DELETE FROM pull_verdicts WHERE provider = ? AND repo = ? AND number = ?",
                    (provider, repo, number),
                )
            else:
                self._put_verdict(conn, provider, repo, number, previous)

    @staticmethod
    def _put_verdict(
        conn: sqlite3.Connection, provider: str, repo: str, number: int, row: tuple[str, str, str]
    ) -> None:
        conn.execute(
            "INSERT INTO pull_verdicts (provider, repo, number, verdict, text, posted_at) "
            "VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (provider, repo, number) DO UPDATE SET "
            "verdict = excluded.verdict, text = excluded.text, posted_at = excluded.posted_at",
            (provider, repo, number, *row),
        )

    def add_comment(self, provider: str, repo: str, number: int, body: str, at: str) -> int:
        with self._write() as conn:
            cursor = conn.execute(
                "INSERT INTO pull_comments (provider, repo, number, body, created_at) VALUES (?, ?, ?, ?, ?)",
                (provider, repo, number, body, at),
            )
            return int(cursor.lastrowid or 0)

    def comments(self, provider: str, repo: str, number: int) -> list[str]:
        rows = self._read(
            "SELECT body FROM pull_comments WHERE provider = ? AND repo = ? AND number = ? ORDER BY id",
            (provider, repo, number),
        )
        return [r["body"] for r in rows]


def _count(conn: sqlite3.Connection, rows: str, *params: object) -> int:
    """How many `rows` ("<table> WHERE ...") there are."""
    return int(conn.execute(f"SELECT COUNT(*) FROM {rows}", params).fetchone()[0])
