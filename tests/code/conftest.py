"""Fixtures for the code toolset: a user's real git checkout in a temp dir, in a state worth protecting.

The checkout has the default branch `main`, a different branch checked out (`wip`, one commit
ahead), uncommitted edits, a staged file and an untracked file. Every tool must leave all of it
byte-for-byte alone; `snapshot` captures what "alone" means.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from mcp.server.mcpserver import MCPServer
from self_improver.server.app import build_server
from self_improver.server.config import Settings

SIGNATURE = "3b8fe4199281"
GIT_ENV = {
    "GIT_AUTHOR_NAME": "user",
    "GIT_AUTHOR_EMAIL": "user@example.com",
    "GIT_COMMITTER_NAME": "user",
    "GIT_COMMITTER_EMAIL": "user@example.com",
    "GIT_CONFIG_GLOBAL": os.devnull,
    "GIT_CONFIG_NOSYSTEM": "1",
}

MAIL_PY = '''"""Mail fetching."""

TIMEOUT = 10


def login(user):
    return connect(user, timeout=TIMEOUT)


def connect(user, timeout):
    return (user, timeout)


def fetch(user):
    session = login(user)
    return session
'''

CHECK_PY = """import sys

sys.path.insert(0, ".")
import app.mail as mail

assert mail.TIMEOUT == 60, f"TIMEOUT is {mail.TIMEOUT}, expected 60"
print("all checks passed")
"""


def git(cwd: Path, *args: str, env: dict[str, str] | None = None) -> str:
    result = subprocess.run(
        ["git", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        env={**os.environ, **GIT_ENV, **(env or {})},
        check=False,
    )
    assert result.returncode == 0, f"git {' '.join(args)} failed: {result.stderr}"
    return result.stdout


def commit_files(repo: Path, files: dict[str, str | bytes], message: str) -> str:
    for relative, content in files.items():
        target = repo / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            target.write_bytes(content)
        else:
            target.write_text(content)
    git(repo, "add", "--", *files)
    git(repo, "commit", "-q", "-m", message)
    return git(repo, "rev-parse", "HEAD").strip()


@dataclass
class UserRepo:
    path: Path
    main_commit: str
    wip_commit: str


def snapshot(repo: Path) -> dict[str, Any]:
    """Everything of the user's checkout a tool could disturb: files (tracked or not), index, HEAD, status."""
    index = (repo / ".git" / "index").read_bytes()
    head_file = (repo / ".git" / "HEAD").read_bytes()
    files: dict[str, str] = {}
    for dirpath, dirnames, filenames in os.walk(repo):
        if Path(dirpath) == repo and ".git" in dirnames:
            dirnames.remove(".git")
        for name in filenames:
            path = Path(dirpath) / name
            data = os.readlink(path).encode() if path.is_symlink() else path.read_bytes()
            files[path.relative_to(repo).as_posix()] = hashlib.sha256(data).hexdigest()
        for name in dirnames:
            path = Path(dirpath) / name
            if path.is_symlink():
                files[path.relative_to(repo).as_posix()] = "symlink:" + os.readlink(path)
    status = git(repo, "--no-optional-locks", "status", "--porcelain=v1", "--untracked-files=all")
    return {
        "files": files,
        "index": hashlib.sha256(index).hexdigest(),
        "head_file": head_file,
        "head": git(repo, "rev-parse", "HEAD").strip(),
        "status": status,
        "main": git(repo, "rev-parse", "refs/heads/main").strip(),
    }


def fix_branches(repo: Path) -> list[str]:
    return git(repo, "branch", "--list", "self-improver/*", "--format=%(refname:short)").split()


def worktree_paths(repo: Path) -> list[str]:
    return [
        line.split(" ", 1)[1]
        for line in git(repo, "worktree", "list", "--porcelain").splitlines()
        if line.startswith("worktree ")
    ]


def processes_running(marker: str) -> list[int]:
    """Host pids (any namespace) whose command line has `marker`, zombies left out, after a short grace."""
    for _ in range(50):
        found = [pid for pid in _pids() if marker in _cmdline(pid) and not _zombie(pid)]
        if not found:
            return []
        time.sleep(0.05)
    return found


def _pids() -> list[int]:
    return [int(entry) for entry in os.listdir("/proc") if entry.isdigit()]


def _cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return ""


def _zombie(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().split(") ", 1)[-1].startswith("Z")
    except OSError:
        return True


@pytest.fixture
def user_repo(tmp_path: Path) -> UserRepo:
    repo = tmp_path / "worker"
    repo.mkdir()
    git(repo, "init", "-q", "--initial-branch=main")
    main_commit = commit_files(
        repo,
        {
            "app/__init__.py": "",
            "app/mail.py": MAIL_PY,
            "app/big.txt": "".join(f"line {n}\n" for n in range(1, 1001)),
            "check.py": CHECK_PY,
            "README.md": "# worker\n\nFetches mail.\n",
            ".env": "API_TOKEN=not-a-real-secret\n",
            ".github/workflows/ci.yml": "on: push\n",
            "assets/logo.png": b"\x89PNG\r\n\x1a\n\0\0\0binary",
        },
        "initial",
    )
    git(repo, "checkout", "-q", "-b", "wip")
    wip_commit = commit_files(repo, {"app/wip_only.py": "WIP = True\n"}, "work in progress")
    (repo / "app" / "mail.py").write_text(MAIL_PY.replace("TIMEOUT = 10", "TIMEOUT = 999  # experiment"))
    (repo / "staged.txt").write_text("staged\n")
    git(repo, "add", "staged.txt")
    (repo / "untracked.txt").write_text("untracked\n")
    return UserRepo(repo, main_commit, wip_commit)


@pytest.fixture
def repo_settings(
    make_settings: Callable[..., Settings], user_repo: UserRepo, tmp_path: Path
) -> Callable[..., Settings]:
    """`repo_settings(**repo_fields, **settings)`: settings with the user's repo configured as 'worker'."""

    def build(test_command: str | None = f"{sys.executable} check.py", **overrides: Any) -> Settings:
        repo: dict[str, Any] = {"name": "worker", "path": str(user_repo.path), "default_branch": "main"}
        if test_command is not None:
            repo["test_command"] = test_command
        repo.update(overrides.pop("repo", {}))
        return make_settings(repos=[repo], **overrides)

    return build


@pytest.fixture
def code_server(repo_settings: Callable[..., Settings]) -> MCPServer:
    return build_server(repo_settings())


@pytest.fixture
def helpers() -> Any:
    """The module-level helpers, for test files (`tests/code` cannot be imported as a package: stdlib `code`)."""

    class Helpers:
        pass

    for function in (git, commit_files, snapshot, fix_branches, worktree_paths, processes_running):
        setattr(Helpers, function.__name__, staticmethod(function))
    Helpers.SIGNATURE = SIGNATURE  # type: ignore[attr-defined]
    Helpers.MAIL_PY = MAIL_PY  # type: ignore[attr-defined]
    return Helpers
