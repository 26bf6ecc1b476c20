"""Fix branches and their worktrees: where every change is made, away from the user's checkout.

A fix lives on `self-improver/<signature>-<slug>`, created from the local default branch, checked
out in `data_dir/worktrees/<repo>/<signature>-<slug>`. The user's working tree, index and HEAD are
never read for writing nor changed; a failed change removes what the failing call created.
"""

from __future__ import annotations

import logging
import os
import re
import shutil
import unicodedata
from dataclasses import dataclass
from pathlib import Path

from ..support.git_runner import GitError, run_git
from ..support.problems import NotFoundError, ToolInputError, UnavailableError
from .repos import Repo

log = logging.getLogger("self_improver.code")

BRANCH_PREFIX = "self-improver/"
DRY_RUN_DIR = ".dry-run"  # under data_dir/worktrees: dry-run clones, beside the repos' worktree folders
SLUG_MAX = 40
FIX_BRANCH_RE = re.compile(r"^self-improver/[0-9a-f]{6,64}-[a-z0-9]+(?:-[a-z0-9]+)*$")


def slugify(title: str, max_length: int = SLUG_MAX) -> str:
    """'Retry IMAP login on timeout!' -> 'retry-imap-login-on-timeout' ([a-z0-9-], at most max_length)."""
    ascii_title = unicodedata.normalize("NFKD", title).encode("ascii", "ignore").decode()
    slug = re.sub(r"[^a-z0-9]+", "-", ascii_title.lower()).strip("-")
    if len(slug) > max_length:
        slug = slug[:max_length]
        if "-" in slug[max_length // 2 :]:
            slug = slug[: slug.rindex("-")]  # cut at a word boundary when one is near the end
    return slug.strip("-") or "fix"


def fix_branch_name(signature: str, title: str) -> str:
    if not re.fullmatch(r"[0-9a-f]{6,64}", signature):
        raise ToolInputError(f"signature {signature!r} is not an error signature: pass one from top_errors")
    return f"{BRANCH_PREFIX}{signature}-{slugify(title)}"


@dataclass(frozen=True)
class WorktreeEntry:
    path: Path
    head: str | None
    branch: str | None  # short name, None when detached or bare


@dataclass
class FixWorktree:
    """A fix branch checked out for this call; `created_*` say what to remove if the call fails."""

    repo: Repo
    branch: str
    path: Path
    start_commit: str
    created_branch: bool
    created_worktree: bool


def list_worktrees(repo: Repo) -> list[WorktreeEntry]:
    out = repo.git("worktree", "list", "--porcelain", "-z").stdout.decode("utf-8", "surrogateescape")
    entries: list[WorktreeEntry] = []
    fields: dict[str, str] = {}
    for item in out.split("\0") + [""]:
        if item:
            key, _, value = item.partition(" ")
            fields[key] = value
            continue
        if "worktree" in fields:
            branch = fields.get("branch")
            entries.append(
                WorktreeEntry(
                    Path(fields["worktree"]),
                    fields.get("HEAD"),
                    branch.removeprefix("refs/heads/") if branch else None,
                )
            )
        fields = {}
    return entries


def same_path(a: Path, b: Path) -> bool:
    return os.path.realpath(a) == os.path.realpath(b)


def worktree_path(repo: Repo, branch: str) -> Path:
    return repo.worktrees_root / branch.removeprefix(BRANCH_PREFIX)


def ensure_outside_checkout(repo: Repo) -> None:
    """Worktrees inside the user's checkout would show up there as untracked files: refuse that setup."""
    root = Path(os.path.realpath(repo.worktrees_root))
    checkout = Path(os.path.realpath(repo.path))
    if root == checkout or checkout in root.parents:
        raise UnavailableError(
            f"data_dir puts fix worktrees ({root}) inside repo {repo.name!r}'s checkout ({checkout}); set "
            "data_dir to a directory outside every configured repository"
        )


def open_fix_worktree(repo: Repo, branch: str, base_commit: str) -> FixWorktree:
    """Check out `branch` (created from `base_commit` when new) in its worktree, clean, ready to change."""
    if branch == repo.default_branch or not branch.startswith(BRANCH_PREFIX):
        raise ToolInputError(f"refusing to change branch {branch!r}: fixes go to {BRANCH_PREFIX}* branches")
    ensure_outside_checkout(repo)
    path = worktree_path(repo, branch)
    holder = next((e for e in list_worktrees(repo) if e.branch == branch), None)
    if holder is not None and not holder.path.exists():
        repo.git("worktree", "prune")  # its directory is gone: forget the stale registration
        holder = None
    if holder is not None:
        if not same_path(holder.path, path):
            raise ToolInputError(
                f"branch {branch!r} is checked out at {holder.path}, outside self-improver's worktrees; check out "
                "another branch there, or use a different title for a new fix branch"
            )
        _reset_clean(path, "HEAD")
        return FixWorktree(repo, branch, path, _head(path), created_branch=False, created_worktree=False)
    if path.exists() or path.is_symlink():
        _remove_directory(repo, path)  # an unregistered leftover of a crash, inside our own data dir
    path.parent.mkdir(parents=True, exist_ok=True)
    existing = repo.branch_commit(branch)
    try:
        if existing is None:
            repo.git("worktree", "add", "--quiet", "--no-track", "-b", branch, "--", str(path), base_commit)
        else:
            repo.git("worktree", "add", "--quiet", "--", str(path), branch)
    except GitError as exc:
        _remove_directory(repo, path)
        run_git(repo.path, "worktree", "prune", check=False)  # a half-made registration, if any
        if existing is None and repo.branch_commit(branch) is not None:
            run_git(repo.path, "branch", "-D", "--", branch, check=False)
        raise UnavailableError(f"could not create the fix worktree for {branch!r}: {exc.stderr}") from exc
    return FixWorktree(
        repo, branch, path, existing or base_commit, created_branch=existing is None, created_worktree=True
    )


def discard(fix: FixWorktree) -> None:
    """Undo a failed call: remove what it created, or put a reused branch back where it was."""
    try:
        if not fix.created_branch:
            _reset_clean(fix.path, fix.start_commit)  # also moves the branch back if this call committed
        if fix.created_worktree:
            removed = run_git(
                fix.repo.path, "worktree", "remove", "--force", "--", str(fix.path), check=False
            )
            _remove_directory(fix.repo, fix.path)
            if removed.returncode != 0:
                run_git(fix.repo.path, "worktree", "prune", check=False)
        if fix.created_branch:
            run_git(fix.repo.path, "branch", "-D", "--", fix.branch, check=False)
    except Exception:  # noqa: BLE001 - cleanup must not hide the error that caused it
        log.exception("could not clean up fix worktree %s", fix.path)


def dry_run_checkout(worktrees_dir: Path, repo_name: str, branch: str) -> Path:
    """Where a dry run builds `branch`: a scratch clone under `data_dir/worktrees`, never the user's repo."""
    return worktrees_dir / DRY_RUN_DIR / repo_name / branch.removeprefix(BRANCH_PREFIX)


def open_dry_run_checkout(repo: Repo, branch: str, base_commit: str) -> FixWorktree:
    """A clone of the repo (objects shared, read only) with `branch` where the real call would start it,
    and the default branch at `base_commit`: the change is made there, the user's repo gets no ref."""
    if branch == repo.default_branch or not branch.startswith(BRANCH_PREFIX):
        raise ToolInputError(f"refusing to change branch {branch!r}: fixes go to {BRANCH_PREFIX}* branches")
    ensure_outside_checkout(repo)
    path = dry_run_checkout(repo.worktrees_root.parent, repo.name, branch)
    remove_dry_run_checkout(repo, path)
    path.parent.mkdir(parents=True, exist_ok=True)
    existing = repo.branch_commit(branch)
    start = existing or base_commit
    try:
        run_git(path.parent, "clone", "--quiet", "--shared", "--no-checkout", "--", str(repo.path), str(path))
        run_git(path, "checkout", "--quiet", "-B", branch, start)
        run_git(path, "branch", "--quiet", "-f", repo.default_branch, base_commit)
    except GitError as exc:
        remove_dry_run_checkout(repo, path)
        raise UnavailableError(f"could not prepare the dry-run copy of {repo.name!r}: {exc.stderr}") from exc
    return FixWorktree(repo, branch, path, start, created_branch=existing is None, created_worktree=True)


def remove_dry_run_checkout(repo: Repo, path: Path) -> None:
    root = Path(os.path.realpath(repo.worktrees_root.parent / DRY_RUN_DIR))
    if root not in Path(os.path.realpath(path)).parents:
        raise RuntimeError(f"refusing to delete {path}: not under {root}")
    if path.exists():
        shutil.rmtree(path)


def find_fix_worktree(repo: Repo, branch: str) -> Path:
    """The worktree apply_patch made for `branch`, or an error that says to call apply_patch."""
    if not FIX_BRANCH_RE.match(branch):
        raise ToolInputError(
            f"{branch!r} is not a fix branch: checks run only on branches apply_patch returns "
            "(self-improver/<signature>-<slug>); call apply_patch first and pass its `branch`"
        )
    if repo.branch_commit(branch) is None:
        scratch = dry_run_checkout(repo.worktrees_root.parent, repo.name, branch)
        if (scratch / ".git").is_dir() and _has_branch(scratch, branch):
            return scratch  # a dry run's apply_patch made it there: its checks run on that copy
        known = repo.local_branches(BRANCH_PREFIX)
        listed = f" Fix branches of this repo: {', '.join(known[:20])}." if known else ""
        raise NotFoundError(
            f"no branch {branch!r} in repo {repo.name!r}: call apply_patch(repo, signature, title, ...) first; it "
            f"returns the branch.{listed}"
        )
    path = worktree_path(repo, branch)
    holder = next((e for e in list_worktrees(repo) if e.branch == branch), None)
    if holder is None or not same_path(holder.path, path) or not path.is_dir():
        raise NotFoundError(
            f"branch {branch!r} has no self-improver worktree (it was removed): call apply_patch again with the "
            "same signature, title and patch to recreate it (it answers already_applied=true)"
        )
    return path


def _has_branch(path: Path, branch: str) -> bool:
    return (
        run_git(path, "rev-parse", "--verify", "--quiet", f"refs/heads/{branch}", check=False).returncode == 0
    )


def _head(path: Path) -> str:
    return run_git(path, "rev-parse", "HEAD").stdout.decode().strip()


def _reset_clean(path: Path, commit: str) -> None:
    """Make the fix worktree exactly `commit` (ignored files such as caches stay)."""
    run_git(path, "reset", "--hard", "--quiet", commit, "--")
    run_git(path, "clean", "-f", "-d", "--quiet")


def _remove_directory(repo: Repo, path: Path) -> None:
    """Delete a directory under the repo's worktrees root, and only there."""
    root = Path(os.path.realpath(repo.worktrees_root))
    if root not in Path(os.path.realpath(path)).parents and not path.is_symlink():
        raise RuntimeError(f"refusing to delete {path}: not under {root}")
    if path.is_symlink() or path.is_file():
        path.unlink()
    elif path.exists():
        shutil.rmtree(path)
