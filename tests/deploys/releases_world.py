"""A small world with releases: a git repo with a merged fix, deploys, and tasks that carry their release.

The repo: `c1` (release v1) -> `fix` (the fix's merge commit) -> `c2` (release v2). A side branch from
`c1` gets `hotfix` (release v1.1): deployed *after* the merge, but without the fix, so only git ancestry
(not the deploy time) tells that it does not contain it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from git_repos import commit_file, git
from self_improver.tools.telemetry.schema import open_writable

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
MERGED = NOW - timedelta(days=10)
TIME = "%Y-%m-%d %H:%M:%S"
ERROR = "ConnectionResetError: peer reset the connection"
OTHER = "ValueError: invoice total is negative"


@dataclass(frozen=True)
class Repo:
    path: Path
    c1: str
    fix: str
    c2: str
    hotfix: str


def make_repo(root: Path) -> Repo:
    repo = root / "worker"
    repo.mkdir(parents=True)
    git(repo, "init", "-q", "--initial-branch=main")
    c1 = commit_file(repo, "worker/net.py", "RETRIES = 0\n", "v1")
    fix = commit_file(repo, "worker/net.py", "RETRIES = 3\n", "Retry a reset connection (fix)")
    c2 = commit_file(repo, "worker/other.py", "X = 1\n", "v2")
    git(repo, "checkout", "-q", "-b", "release-1.x", c1)
    hotfix = commit_file(repo, "worker/hotfix.py", "Y = 2\n", "v1.1 hotfix, without the fix")
    git(repo, "checkout", "-q", "main")
    return Repo(repo, c1, fix, c2, hotfix)


def write_tasks(path: Path, tasks: list[tuple[datetime, str | None, str | None]]) -> None:
    """Append tasks (created_at, error or None, release) to our telemetry schema at `path`."""
    conn = open_writable(str(path))
    conn.executemany(
        "INSERT INTO tasks(status, error, error_type, created_at, agent, task_name, release) VALUES (?,?,?,?,?,?,?)",
        [
            (
                "failed" if error else "done",
                error,
                error.split(":", 1)[0] if error else None,
                at.strftime(TIME),
                "net-agent",
                "sync",
                release,
            )
            for at, error, release in tasks
        ],
    )
    conn.commit()
    conn.close()


def steady(start: datetime, end: datetime, release: str | None, per_day: int = 100) -> list:
    """Successful tasks spread evenly over [start, end)."""
    step = timedelta(days=1) / per_day
    found, at = [], start
    while at < end:
        found.append((at, None, release))
        at += step
    return found


def failures(start: datetime, end: datetime, count: int, release: str | None, error: str = ERROR) -> list:
    step = (end - start) / count
    return [(start + step * i + timedelta(seconds=7), error, release) for i in range(count)]
