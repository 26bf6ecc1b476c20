"""Run git as a subprocess with settings that keep the user's configuration from running code.

Hooks, fsmonitor daemons, external diff drivers and pagers could all execute programs of the user's
configuration (or of a malicious repository); every call here switches them off, so a tool does only
the git operation it names.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Sequence
from pathlib import Path

SAFE_CONFIG = (
    "-c",
    "core.hooksPath=/dev/null",
    "-c",
    "core.fsmonitor=false",
    "-c",
    "core.pager=cat",
    "-c",
    "commit.gpgSign=false",
    "-c",
    "tag.gpgSign=false",
    "-c",
    "color.ui=false",
)

IDENTITY = {
    "GIT_AUTHOR_NAME": "self-improver",
    "GIT_AUTHOR_EMAIL": "self-improver@localhost",
    "GIT_COMMITTER_NAME": "self-improver",
    "GIT_COMMITTER_EMAIL": "self-improver@localhost",
}


class GitError(RuntimeError):
    """A git command failed; `stderr` holds git's own explanation."""

    def __init__(self, args: Sequence[str], returncode: int, stderr: str):
        self.args_run = list(args)
        self.returncode = returncode
        self.stderr = stderr.strip()
        super().__init__(f"git {' '.join(args)} failed ({returncode}): {self.stderr}")


def git_env(extra: dict[str, str] | None = None) -> dict[str, str]:
    """The server's environment without GIT_* variables (a GIT_DIR set by a caller would redirect us)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("GIT_")}
    env.update({"GIT_TERMINAL_PROMPT": "0", "LC_ALL": "C", "LANGUAGE": "C"})
    if extra:
        env.update(extra)
    return env


def run_git(
    cwd: Path,
    *args: str,
    input: bytes | None = None,
    check: bool = True,
    timeout: float = 120,
    env: dict[str, str] | None = None,
) -> subprocess.CompletedProcess[bytes]:
    """`git <args>` in `cwd` with stdout/stderr captured as bytes; raises GitError unless `check=False`."""
    result = subprocess.run(
        ["git", *SAFE_CONFIG, *args],
        cwd=cwd,
        input=input,
        stdin=None if input is not None else subprocess.DEVNULL,
        capture_output=True,
        timeout=timeout,
        env=git_env(env),
        check=False,
    )
    if check and result.returncode != 0:
        raise GitError(args, result.returncode, result.stderr.decode("utf-8", "replace"))
    return result


def git_text(cwd: Path, *args: str, **kwargs: object) -> str:
    """stdout of a successful git command as text, trailing newline removed."""
    out = run_git(cwd, *args, **kwargs).stdout  # type: ignore[arg-type]
    return out.decode("utf-8", "surrogateescape").rstrip("\n")
