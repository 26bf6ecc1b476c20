"""Which releases contain a fix, and when the first of them went live.

A release contains a merged fix when
- both commits are known (the fix's merge commit, the release's deployed commit) and the repository
  has them: the merge commit is an ancestor of the release's commit (`git merge-base --is-ancestor`);
- otherwise, when the release went live (recorded, or first seen in the telemetry) at or after the
  merge: that is, at or after the first deploy after the merge, the fix's deploy.

The fix's deploy is the earliest deploy that contains it. Releases the book does not know are
`None` (unknown): callers treat them as they treated every failure before releases existed.
"""

from __future__ import annotations

import asyncio
import sqlite3
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path

from ..support.git_runner import check_ref, run_git
from ..support.problems import ToolInputError, UnavailableError
from ..telemetry.source import TelemetryStore
from ..telemetry.windows import Window, parse_timestamp
from .store import DeployStore

FIRST_SEEN_MARK = "first_seen_until"
FIRST_SEEN_LOOKBACK = timedelta(days=400)
FIRST_SEEN_OVERLAP = timedelta(days=2)


@dataclass(frozen=True)
class Deploy:
    release: str
    commit: str | None
    deployed_at: datetime
    source: str  # 'recorded' | 'first_seen'

    @classmethod
    def from_row(cls, row: sqlite3.Row) -> Deploy:
        return cls(row["release"], row["commit_sha"], parse_timestamp(row["deployed_at"]), row["source"])


@dataclass(frozen=True)
class Fix:
    """A merged fix: when it was merged, its merge commit and the repository that has it (when known)."""

    merged_at: datetime
    commit: str | None = None
    repo: Path | None = None


@dataclass
class ReleaseBook:
    """The known deploys, with the answers of git cached for one use (a report, a nightly step)."""

    deploys: dict[str, Deploy]
    _ancestry: dict[tuple[str, str, str], bool | None] = field(default_factory=dict, repr=False)

    @classmethod
    def load(cls, store: DeployStore) -> ReleaseBook:
        return cls({d.release: d for d in (Deploy.from_row(r) for r in store.all())})

    def __bool__(self) -> bool:
        return bool(self.deploys)

    def contains(self, fix: Fix, release: str | None) -> bool | None:
        """Whether `release` contains `fix`; None when the release is unknown."""
        deploy = self.deploys.get(release) if release else None
        if deploy is None:
            return None
        if fix.commit and deploy.commit and fix.repo is not None:
            found = self._is_ancestor(fix.repo, fix.commit, deploy.commit)
            if found is not None:
                return found
        return deploy.deployed_at >= fix.merged_at

    def fix_deploy(self, fix: Fix) -> Deploy | None:
        """The first deploy that contains the fix (None: not deployed yet, or no deploys known)."""
        ordered = sorted(self.deploys.values(), key=lambda d: (d.deployed_at, d.release))
        return next((d for d in ordered if self.contains(fix, d.release)), None)

    def _is_ancestor(self, repo: Path, ancestor: str, descendant: str) -> bool | None:
        key = (str(repo), ancestor, descendant)
        if key not in self._ancestry:
            self._ancestry[key] = is_ancestor(repo, ancestor, descendant)
        return self._ancestry[key]


def is_ancestor(repo: Path, ancestor: str, descendant: str) -> bool | None:
    """`git merge-base --is-ancestor`: True/False, or None when git cannot tell (a commit unknown to the
    repository, no repository, no git)."""
    try:
        result = run_git(
            repo,
            "merge-base",
            "--is-ancestor",
            check_ref(ancestor, "commit"),
            check_ref(descendant, "commit"),
            check=False,
            timeout=30,
        )
    except (UnavailableError, ToolInputError, OSError):
        return None
    if result.returncode in (0, 1):
        return result.returncode == 0
    return None


def learn_first_seen_sync(store: DeployStore, first_seen: dict[str, datetime], now: datetime) -> int:
    added = store.observe(first_seen, now)
    store.set_mark(FIRST_SEEN_MARK, now)
    return added


async def learn_first_seen(telemetry: TelemetryStore, store: DeployStore) -> int:
    """Record the first sighting of every release the telemetry shows since the last look (a release
    with a recorded deploy keeps it). Returns how many releases were new; 0 without a release column."""
    schema = await telemetry.source.schema()
    if not schema.has("release"):
        return 0
    now = telemetry.now()
    last = await asyncio.to_thread(store.mark, FIRST_SEEN_MARK)
    start = now - FIRST_SEEN_LOOKBACK if last is None or last > now else last - FIRST_SEEN_OVERLAP
    end = now + timedelta(seconds=1)
    found = await telemetry.source.release_first_seen(Window(start, end, start.date(), end.date()))
    return await asyncio.to_thread(learn_first_seen_sync, store, found, now)


async def release_book(telemetry: TelemetryStore, store: DeployStore | None) -> ReleaseBook:
    """The deploys as they stand now (first sightings brought up to date)."""
    if store is None:
        return ReleaseBook({})
    await learn_first_seen(telemetry, store)
    return await asyncio.to_thread(ReleaseBook.load, store)
