"""The few git operations pull requests need, none of which touch the user's working tree, index or HEAD.

Everything reads refs by full name (`refs/heads/<branch>`) and pushes `<branch>:<branch>`, so the
checkout the user works in stays exactly as it was. Output that may name a remote is redacted, because
remote URLs can carry credentials.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import uuid
from collections.abc import Mapping
from pathlib import Path

from ..support import git_runner
from ..support.git_runner import redact_remote
from ..support.problems import ToolInputError, UnavailableError

GIT_TIMEOUT_SECONDS = 120
_BRANCH_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._/-]{0,200}$")


class PushRejected(ToolInputError):
    """The remote refused the branch (it moved on); nothing was overwritten."""


def run_git(
    repo: Path, *args: str, extra_env: Mapping[str, str] | None = None, check: bool = True
) -> subprocess.CompletedProcess[str]:
    """`git <args>` in `repo` through the project's runner, output as text; a failure raises
    UnavailableError with git's last lines (remotes and secrets masked) unless `check=False`."""
    done = git_runner.run_git(repo, *args, env=extra_env, check=False, timeout=GIT_TIMEOUT_SECONDS)
    text = subprocess.CompletedProcess(
        done.args,
        done.returncode,
        done.stdout.decode("utf-8", "replace"),
        done.stderr.decode("utf-8", "replace"),
    )
    if check and text.returncode != 0:
        raise UnavailableError(f"git {args[0]} failed in {repo}: {tail(text.stderr)}")
    return text


def tail(output: str, lines: int = 6) -> str:
    return redact_remote(" | ".join(output.strip().splitlines()[-lines:]))


def check_branch_name(branch: str) -> str:
    git_runner.check_ref(branch, "branch")
    if not _BRANCH_RE.match(branch) or ".." in branch or branch.endswith((".lock", "/")) or "//" in branch:
        raise ToolInputError(
            f"branch {branch!r} is not a valid branch name: send the branch the fix was applied on, "
            "e.g. 'self-improver/3b8fe4199281-imap-timeout'"
        )
    return branch


def commit_of(repo: Path, branch: str) -> str | None:
    """The commit `refs/heads/<branch>` points to, or None when there is no such branch."""
    check_branch_name(branch)
    done = run_git(repo, "rev-parse", "--verify", "--quiet", f"refs/heads/{branch}^{{commit}}", check=False)
    return done.stdout.strip() if done.returncode == 0 and done.stdout.strip() else None


def diff_against(repo: Path, base: str, branch: str) -> str:
    """What the branch adds since it left `base` (three-dot diff, no context lines)."""
    return run_git(
        repo,
        "-c",
        "core.quotepath=off",
        "diff",
        "--no-color",
        "--no-ext-diff",
        "--no-renames",
        "--unified=0",
        f"refs/heads/{git_runner.check_ref(base, 'base branch')}...refs/heads/{check_branch_name(branch)}",
        "--",
    ).stdout


def ensure_bare_remote(path: Path, default_branch: str) -> None:
    """Create the local provider's default remote once (a bare repo in the data dir)."""
    branch = git_runner.check_ref(default_branch, "default_branch")
    init_bare_once(path, f"--initial-branch={branch}")


def init_bare_once(path: Path, *options: str) -> None:
    """A bare repository at `path`, made once even when several processes ask at the same moment.

    `git init` in place races (two inits of one directory fail on each other's files), so each process
    initialises a private temporary directory and renames it into place; a loser discards its copy.
    """
    if (path / "HEAD").exists():
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.parent / f".{path.name}.{uuid.uuid4().hex}.tmp"
    run_git(path.parent, "init", "--bare", "--quiet", "--template=", *options, "--", str(temporary))
    try:
        os.rename(temporary, path)
    except OSError:
        shutil.rmtree(temporary, ignore_errors=True)
        if not (path / "HEAD").exists():
            raise


def push_branch(repo: Path, remote: str, branch: str, extra_env: Mapping[str, str] | None = None) -> None:
    """Push `branch` to `remote` under the same name, never forced; a refusal raises PushRejected."""
    ref = f"refs/heads/{branch}"
    done = run_git(
        repo, "push", "--porcelain", "--", remote, f"{ref}:{ref}", extra_env=extra_env, check=False
    )
    if done.returncode == 0:
        return
    shown = redact_remote(remote)
    output = f"{done.stdout}\n{done.stderr}"
    if "[rejected]" in output or "non-fast-forward" in output or "fetch first" in output:
        raise PushRejected(
            f"the remote {shown} refused branch {branch!r}: it already has a branch of that name with commits "
            "this one does not contain (non-fast-forward), and nothing was force-pushed. Apply the fix on a "
            "new branch name (or rebase it onto the remote branch), then call open_pull_request again"
        )
    if "[remote rejected]" in output:
        raise PushRejected(
            f"the remote {shown} refused branch {branch!r} ({tail(output, 3)}): a server-side rule or hook "
            "blocked it; fix what it names, or push to another remote via the repo's `remote` setting"
        )
    raise UnavailableError(f"could not push branch {branch!r} to {shown}: {tail(done.stderr)}")
