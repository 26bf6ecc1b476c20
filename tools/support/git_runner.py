"""Every git command of the project runs through here, with settings that keep the user's configuration
(and a hostile repository's) from running code or leaking credentials.

Safe by default, for every command (push included):

- hooks off (`core.hooksPath=/dev/null`), no fsmonitor daemon, no pager, no signing, no colour;
- no user or system configuration: `GIT_CONFIG_NOSYSTEM=1`, `GIT_CONFIG_GLOBAL=/dev/null` and a `HOME`
  that is not the user's (so `~/.gitconfig`, `$XDG_CONFIG_HOME/git/*` and their aliases, filters,
  credential helpers and templates are never read); only the repository's own `.git/config` applies;
- no credential helper (`credential.helper=` empties the list), no prompt (`GIT_TERMINAL_PROMPT=0`);
- no inherited `GIT_*` variable (a `GIT_DIR` set by a caller would redirect us), except the operator's
  ssh settings;
- failures raise `GitError` with remotes and secrets masked; a missing git or a timeout raises
  `UnavailableError` that says what to do.

Callers put `--` before paths and pass values that come from outside (branch names, commits) through
`check_ref`, which refuses a value git would read as an option.
"""

from __future__ import annotations

import contextlib
import os
import re
import signal
import subprocess
from collections.abc import Mapping, Sequence
from pathlib import Path

from ..errors.redact import redact_secrets
from .problems import ToolInputError, UnavailableError

TIMEOUT_SECONDS = 120.0

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
    "-c",
    "credential.helper=",
)

SAFE_ENV = {
    "GIT_CONFIG_NOSYSTEM": "1",
    "GIT_CONFIG_GLOBAL": os.devnull,
    "HOME": os.devnull,
    "GIT_TERMINAL_PROMPT": "0",
    "GIT_ASKPASS": "true",
    "LC_ALL": "C",
    "LANGUAGE": "C",
}

IDENTITY = {
    "GIT_AUTHOR_NAME": "self-improver",
    "GIT_AUTHOR_EMAIL": "self-improver@localhost",
    "GIT_COMMITTER_NAME": "self-improver",
    "GIT_COMMITTER_EMAIL": "self-improver@localhost",
}

# The operator's own ssh settings, kept so pushes over ssh work as the server's environment says.
_KEPT_GIT_VARS = frozenset({"GIT_SSH", "GIT_SSH_COMMAND", "GIT_SSH_VARIANT"})
_DROPPED_VARS = frozenset({"XDG_CONFIG_HOME"})
_URL_USERINFO = re.compile(r"(?i)\b([a-z][a-z0-9+.-]*://)[^/@\s]+@")


class GitError(RuntimeError):
    """A git command failed; `stderr` holds git's own explanation (remotes and secrets masked)."""

    def __init__(self, args: Sequence[str], returncode: int, stderr: str):
        self.args_run = [redact_remote(a) for a in args]
        self.returncode = returncode
        self.stderr = redact_remote(stderr.strip())
        super().__init__(f"git {' '.join(self.args_run)} failed ({returncode}): {self.stderr}")


def redact_remote(text: str) -> str:
    """`text` with the user part of URLs (`https://<user>:<token>@host`) and any other secret masked."""
    if not text:
        return text
    return redact_secrets(_URL_USERINFO.sub(r"\1***@", text), redact_emails=False)


def check_ref(value: str, what: str = "ref") -> str:
    """`value` when git can only read it as a ref or commit; a value starting with `-` would be an option."""
    if not value or value.startswith("-") or "\0" in value or value != value.strip():
        raise ToolInputError(
            f"{what} {value!r} is not a usable git ref: it is empty, has surrounding spaces or starts with "
            "'-' (git would read it as an option). Send a branch name or commit id, e.g. 'main' or "
            "'self-improver/3b8fe4199281-imap-timeout'"
        )
    return value


def git_env(extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """The server's environment without GIT_* variables or the user's config locations, plus SAFE_ENV."""
    env = {
        key: value
        for key, value in os.environ.items()
        if (not key.startswith("GIT_") or key in _KEPT_GIT_VARS) and key not in _DROPPED_VARS
    }
    env.update(SAFE_ENV)
    if extra:
        env.update(extra)
    return env


def git_argv(*args: str) -> list[str]:
    return ["git", *SAFE_CONFIG, *args]


def run_git(
    cwd: Path,
    *args: str,
    input: bytes | None = None,
    check: bool = True,
    timeout: float = TIMEOUT_SECONDS,
    env: Mapping[str, str] | None = None,
) -> subprocess.CompletedProcess[bytes]:
    """`git <args>` in `cwd`, stdout/stderr captured as bytes; raises GitError unless `check=False`."""
    try:
        process = subprocess.Popen(
            git_argv(*args),
            cwd=cwd,
            stdin=subprocess.PIPE if input is not None else subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=git_env(env),
            start_new_session=True,  # its own process group: a timeout ends whatever git started too
        )
    except FileNotFoundError as exc:
        if not Path(cwd).is_dir():
            raise UnavailableError(f"{cwd} is not a directory: check the repository's `path`") from exc
        raise UnavailableError("git is not installed or not on PATH: install git") from exc
    with process:
        try:
            stdout, stderr = process.communicate(input, timeout=timeout)
        except BaseException as exc:
            _end_group(process)
            if isinstance(exc, subprocess.TimeoutExpired):
                raise UnavailableError(
                    f"git {args[0] if args else ''} took longer than {timeout:g}s in {cwd}: check that the "
                    "repository is on a local disk and that its remote is reachable, then call again"
                ) from exc
            raise
    result = subprocess.CompletedProcess(process.args, process.returncode, stdout, stderr)
    if check and result.returncode != 0:
        raise GitError(args, result.returncode, result.stderr.decode("utf-8", "replace"))
    return result


def _end_group(process: subprocess.Popen[bytes]) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(process.pid, signal.SIGKILL)
    process.communicate()


def git_text(cwd: Path, *args: str, **kwargs: object) -> str:
    """stdout of a successful git command as text, trailing newline removed."""
    out = run_git(cwd, *args, **kwargs).stdout  # type: ignore[arg-type]
    return out.decode("utf-8", "surrogateescape").rstrip("\n")


def popen_git(cwd: Path, *args: str, env: Mapping[str, str] | None = None) -> subprocess.Popen[bytes]:
    """A streaming `git <args>` (stdout and stderr piped), for output read as it comes (`git grep`)."""
    try:
        return subprocess.Popen(
            git_argv(*args),
            cwd=cwd,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=git_env(env),
        )
    except FileNotFoundError as exc:
        raise UnavailableError("git is not installed or not on PATH: install git") from exc
