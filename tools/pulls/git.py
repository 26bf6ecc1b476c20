"""The few git operations pull requests need, none of which touch the user's working tree, index or HEAD.

Everything reads refs by full name (`refs/heads/<branch>`) and pushes `<branch>:<branch>`, so the
checkout the user works in stays exactly as it was. Output that may name a remote is redacted, because
remote URLs can carry credentials.
"""

from __future__ import annotations

import os
import re
import subprocess
from collections.abc import Mapping
from pathlib import Path

from ..errors.redact import redact_secrets
from ..support.problems import ToolInputError, UnavailableError

GIT_TIMEOUT_SECONDS = 120
_BRANCH_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._/-]{0,200}$")


# Variables that would point git at another repository or index than the one named with -C.
_LOCATION_VARS = frozenset(
    {"GIT_DIR", "GIT_WORK_TREE", "GIT_INDEX_FILE", "GIT_COMMON_DIR", "GIT_OBJECT_DIRECTORY", "GIT_NAMESPACE"}
)


class PushRejected(ToolInputError):
    """The remote refused the branch (it moved on); nothing was overwritten."""


def _env(extra: Mapping[str, str] | None = None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in _LOCATION_VARS and not k.startswith("GIT_CONFIG_")}
    env.update({"GIT_TERMINAL_PROMPT": "0", "LC_ALL": "C", "GIT_ASKPASS": "true"})
    env.update(extra or {})
    return env


def run_git(
    repo: Path, *args: str, extra_env: Mapping[str, str] | None = None, check: bool = True
) -> subprocess.CompletedProcess[str]:
    try:
        done = subprocess.run(
            ["git", "-C", str(repo), *args],
            capture_output=True,
            text=True,
            errors="replace",
            env=_env(extra_env),
            timeout=GIT_TIMEOUT_SECONDS,
            check=False,
        )
    except FileNotFoundError as exc:
        raise UnavailableError(
            "git is not installed or not on PATH: install git to push fix branches"
        ) from exc
    except subprocess.TimeoutExpired as exc:
        raise UnavailableError(
            f"git {args[0]} took longer than {GIT_TIMEOUT_SECONDS}s in {repo}: check the remote is reachable"
        ) from exc
    if check and done.returncode != 0:
        raise UnavailableError(f"git {args[0]} failed in {repo}: {tail(done.stderr)}")
    return done


def tail(output: str, lines: int = 6) -> str:
    return redact_secrets(" | ".join(output.strip().splitlines()[-lines:]), redact_emails=False)


def check_branch_name(branch: str) -> str:
    if not _BRANCH_RE.match(branch) or ".." in branch or branch.endswith((".lock", "/")) or "//" in branch:
        raise ToolInputError(
            f"branch {branch!r} is not a valid branch name: send the branch the fix was applied on, "
            "e.g. 'self-improver/3b8fe4199281-imap-timeout'"
        )
    return branch


def commit_of(repo: Path, branch: str) -> str | None:
    """The commit `refs/heads/<branch>` points to, or None when there is no such branch."""
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
        f"refs/heads/{base}...refs/heads/{branch}",
    ).stdout


def ensure_bare_remote(path: Path, default_branch: str) -> None:
    """Create the local provider's default remote once (a bare repo in the data dir)."""
    if (path / "HEAD").exists():
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    run_git(path.parent, "init", "--bare", "--quiet", f"--initial-branch={default_branch}", str(path))


def push_branch(repo: Path, remote: str, branch: str, extra_env: Mapping[str, str] | None = None) -> None:
    """Push `branch` to `remote` under the same name, never forced; a refusal raises PushRejected."""
    ref = f"refs/heads/{branch}"
    done = run_git(
        repo, "push", "--porcelain", "--", remote, f"{ref}:{ref}", extra_env=extra_env, check=False
    )
    if done.returncode == 0:
        return
    shown = redact_secrets(remote, redact_emails=False)
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
