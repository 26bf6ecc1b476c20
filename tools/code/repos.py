"""The configured repositories, looked up by name: the only way a tool reaches a checkout.

A model never passes a filesystem path for a repository; it names one of the user's `[[repos]]`
tables, and every git command runs against that table's checkout.
"""

from __future__ import annotations

import fcntl
import subprocess
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from ..support.git_runner import GitError, check_ref, git_text, run_git
from ..support.problems import NotFoundError, UnavailableError
from .repo_config import RepoConfig


@dataclass
class Repo:
    """One configured repository plus the server-owned place for its fix worktrees."""

    config: RepoConfig
    worktrees_root: Path
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    @property
    def name(self) -> str:
        return self.config.name

    @property
    def path(self) -> Path:
        return self.config.path

    @property
    def default_branch(self) -> str:
        return self.config.default_branch

    @property
    def denied_paths(self) -> list[str]:
        return self.config.denied_paths

    @contextmanager
    def exclusive(self) -> Iterator[None]:
        """This repo's fix worktrees for one caller at a time, across threads and across processes that
        share the data dir: git's worktree registry breaks under concurrent `worktree add` (one reads the
        other's half-made entry) and a failed call's `worktree prune` could drop another's."""
        with self.lock:
            lock_file = self.worktrees_root.with_name(f"{self.worktrees_root.name}.lock")
            lock_file.parent.mkdir(parents=True, exist_ok=True)
            with open(lock_file, "a") as handle:
                fcntl.flock(handle, fcntl.LOCK_EX)
                try:
                    yield
                finally:
                    fcntl.flock(handle, fcntl.LOCK_UN)

    def git(self, *args: str, **kwargs: object) -> subprocess.CompletedProcess[bytes]:
        """Run git in the user's checkout: only for commands that leave its tree, index and HEAD alone."""
        return run_git(self.path, *args, **kwargs)  # type: ignore[arg-type]

    def ensure_available(self) -> None:
        """Fail with what to fix in the config when the checkout is missing or not a git repository."""
        if not self.path.is_dir():
            raise UnavailableError(
                f"repo {self.name!r}: its path {str(self.path)!r} is not a directory; fix `path` in its "
                "[[repos]] table"
            )
        try:
            git_text(self.path, "rev-parse", "--git-dir")
        except GitError as exc:
            raise UnavailableError(
                f"repo {self.name!r}: {str(self.path)!r} is not a git repository ({exc.stderr}); fix `path` "
                "in its [[repos]] table"
            ) from exc

    def default_commit(self) -> str:
        """The commit the local default branch points at (never the checkout's HEAD)."""
        ref = f"refs/heads/{check_ref(self.default_branch, 'default_branch')}"
        found = self.git("rev-parse", "--verify", "--quiet", f"{ref}^{{commit}}", check=False)
        if found.returncode != 0:
            branches = self.local_branches()
            shown = ", ".join(branches[:20]) or "none (the repository has no commits)"
            raise UnavailableError(
                f"repo {self.name!r} has no local branch {self.default_branch!r} (its default_branch); local "
                f"branches: {shown}. Set default_branch in its [[repos]] table"
            )
        return found.stdout.decode().strip()

    def local_branches(self, prefix: str = "") -> list[str]:
        out = git_text(self.path, "for-each-ref", "--format=%(refname:short)", f"refs/heads/{prefix}")
        return [line for line in out.splitlines() if line]

    def branch_commit(self, branch: str) -> str | None:
        check_ref(branch, "branch")
        found = self.git("rev-parse", "--verify", "--quiet", f"refs/heads/{branch}^{{commit}}", check=False)
        return found.stdout.decode().strip() if found.returncode == 0 else None


class RepoRegistry:
    """Name -> Repo for the `[[repos]]` of the settings; fix worktrees live under `worktrees_root`."""

    def __init__(self, configs: list[RepoConfig], worktrees_root: Path):
        self.worktrees_root = worktrees_root
        self._repos: dict[str, Repo] = {}
        self._duplicates: set[str] = set()
        for config in configs:
            if config.name in self._repos:
                self._duplicates.add(config.name)
            self._repos[config.name] = Repo(config, worktrees_root / config.name)

    @property
    def names(self) -> list[str]:
        return sorted(self._repos)

    def get(self, name: str) -> Repo:
        """The repo called `name`, checked to be a git checkout; NotFoundError lists the configured names."""
        repo = self._repos.get(name)
        if repo is None:
            if not self._repos:
                raise NotFoundError(
                    f"unknown repo {name!r}: no repositories are configured. Add a [[repos]] table with name, "
                    "path and default_branch to the config file"
                )
            raise NotFoundError(
                f"unknown repo {name!r}: use one of the configured repos: {', '.join(self.names)}"
            )
        if name in self._duplicates:
            raise UnavailableError(f"two [[repos]] tables are named {name!r}: give each a unique name")
        repo.ensure_available()
        return repo
