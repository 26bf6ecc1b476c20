"""Git plumbing for merges and reverts, in a scratch repository: never in the user's checkout.

Each configured repo gets a bare scratch repository in `data_dir/merges/<repo>.git`; branches are
fetched into it under `refs/self-improver/*`, merges are built with `git merge-tree --write-tree` +
`git commit-tree` (no working tree at all), reverts are made in a throwaway worktree of the scratch
repository, and results are pushed to the remote without force, so a default branch that moved
meanwhile refuses the push instead of losing commits. Used by the local provider and by `merger.py`.
"""

from __future__ import annotations

import shutil
import uuid
from collections.abc import Mapping
from pathlib import Path

from ..support.git_runner import IDENTITY, check_ref, redact_remote
from ..support.problems import ToolInputError, UnavailableError
from . import git
from .providers.base import FileChange

__all__ = [
    "changed_files",
    "fetch_branch",
    "is_ancestor",
    "merge_commit",
    "merge_tree",
    "push_commit",
    "redact_remote",
    "revert_commit",
    "scratch_repo",
    "set_branch",
]

SCRATCH_DIR = "merges"
FETCHED = "refs/self-improver"


def scratch_repo(data_dir: Path, repo_name: str) -> Path:
    """The bare scratch repository of one configured repo, created on first use."""
    path = data_dir / SCRATCH_DIR / f"{repo_name}.git"
    git.init_bare_once(path)
    return path


def _git(repo: Path, *args: str, env: Mapping[str, str] | None = None, check: bool = True) -> str:
    done = git.run_git(repo, *args, extra_env={**IDENTITY, **(env or {})}, check=check)
    return done.stdout.strip() if done.returncode == 0 else ""


def fetch_branch(
    scratch: Path, source: str | Path, branch: str, name: str, env: Mapping[str, str] | None = None
) -> str | None:
    """Copy `refs/heads/<branch>` of `source` to `refs/self-improver/<name>`; its commit, None if absent."""
    check_ref(branch, "branch")
    local = f"{FETCHED}/{name}"
    done = git.run_git(
        scratch,
        "ls-remote",
        "--heads",
        "--",
        str(source),
        f"refs/heads/{branch}",
        extra_env=env,
        check=False,
    )
    if done.returncode != 0:
        raise UnavailableError(f"cannot read the remote {_shown(source)}: {git.tail(done.stderr)}")
    if not done.stdout.strip():
        return None
    git.run_git(
        scratch,
        "fetch",
        "--quiet",
        "--no-tags",
        "--no-write-fetch-head",
        "--",
        str(source),
        f"+refs/heads/{branch}:{local}",
        extra_env=env,
    )
    return _git(scratch, "rev-parse", "--verify", f"{local}^{{commit}}")


def _shown(source: str | Path) -> str:
    return redact_remote(str(source))


def changed_files(scratch: Path, base: str, head: str) -> list[FileChange]:
    """What `head` changes since it left `base` (three-dot), one entry per path, renames split."""
    out = git.run_git(
        scratch,
        "-c",
        "core.quotepath=off",
        "diff",
        "--numstat",
        "-z",
        "--no-renames",
        "--no-ext-diff",
        f"{check_ref(base, 'base')}...{check_ref(head, 'head')}",
        "--",
    ).stdout
    files = []
    for record in out.split("\0"):
        if not record.strip():
            continue
        added, deleted, path = record.split("\t", 2)
        binary = added == "-" or deleted == "-"
        files.append(
            FileChange(
                path.strip("\n"),
                0 if binary else int(added),
                0 if binary else int(deleted),
                binary,
            )
        )
    return files


def merge_tree(scratch: Path, base: str, head: str) -> str | None:
    """The tree of merging `head` into `base`, or None when they conflict."""
    done = git.run_git(
        scratch, "merge-tree", "--write-tree", check_ref(base, "base"), check_ref(head, "head"), check=False
    )
    if done.returncode == 1:
        return None
    if done.returncode != 0:
        raise UnavailableError(f"git merge-tree failed in {scratch}: {git.tail(done.stderr)}")
    return done.stdout.split("\n", 1)[0].strip()


def is_ancestor(scratch: Path, commit: str, of: str) -> bool:
    done = git.run_git(
        scratch,
        "merge-base",
        "--is-ancestor",
        check_ref(commit, "commit"),
        check_ref(of, "commit"),
        check=False,
    )
    return done.returncode == 0


def merge_commit(scratch: Path, base: str, head: str, message: str) -> str:
    """A merge commit of `head` into `base` (two parents), written to the scratch repository only."""
    tree = merge_tree(scratch, base, head)
    if tree is None:
        raise ToolInputError(
            "the fix branch conflicts with the default branch, so it was not merged: rebase it onto the "
            "default branch (or apply the fix again from it) and let the checks run again"
        )
    return _git(scratch, "commit-tree", tree, "-p", base, "-p", head, "-m", message)


def push_commit(
    scratch: Path,
    remote: str,
    commit: str,
    branch: str,
    env: Mapping[str, str] | None = None,
) -> None:
    """Move `refs/heads/<branch>` of `remote` to `commit`, never forced (the remote must fast-forward)."""
    done = git.run_git(
        scratch,
        "push",
        "--porcelain",
        "--",
        remote,
        f"{commit}:refs/heads/{branch}",
        extra_env=env,
        check=False,
    )
    if done.returncode == 0:
        return
    output = f"{done.stdout}\n{done.stderr}"
    if "[rejected]" in output or "non-fast-forward" in output or "fetch first" in output:
        raise git.PushRejected(
            f"{branch!r} on {_shown(remote)} moved while this merge was prepared, so nothing was pushed "
            "(never forced): call merge_pull_request again to evaluate and merge against the new state"
        )
    raise UnavailableError(f"could not push {branch!r} to {_shown(remote)}: {git.tail(output)}")


def revert_commit(scratch: Path, base: str, commit: str, message: str) -> str:
    """Revert `commit` on top of `base` in a throwaway worktree of the scratch repository; the new commit.

    A merge commit is reverted against its first parent (`-m 1`), a squash commit as it is.
    """
    parents = _git(scratch, "rev-list", "--parents", "-n", "1", check_ref(commit, "commit"), "--").split()[1:]
    where = scratch.parent / "worktrees" / f"{scratch.stem}-revert-{uuid.uuid4().hex[:8]}"
    where.parent.mkdir(parents=True, exist_ok=True)
    _git(scratch, "worktree", "add", "--quiet", "--detach", "--", str(where), check_ref(base, "base"))
    try:
        mainline = ["-m", "1"] if len(parents) > 1 else []
        done = git.run_git(
            where,
            "revert",
            "--no-edit",
            *mainline,
            check_ref(commit, "commit"),
            extra_env=IDENTITY,
            check=False,
        )
        if done.returncode != 0:
            git.run_git(where, "revert", "--abort", check=False)
            raise ToolInputError(
                f"reverting {commit[:12]} conflicts with later changes of the default branch "
                f"({git.tail(done.stdout + done.stderr, 3)}): a person has to revert it by hand"
            )
        _git(where, "commit", "--amend", "--quiet", "-m", message)
        return _git(where, "rev-parse", "HEAD")
    finally:
        git.run_git(scratch, "worktree", "remove", "--force", "--", str(where), check=False)
        shutil.rmtree(where, ignore_errors=True)
        git.run_git(scratch, "worktree", "prune", check=False)


def set_branch(scratch: Path, branch: str, commit: str) -> None:
    git.check_branch_name(branch)
    _git(scratch, "update-ref", f"refs/heads/{branch}", commit)
