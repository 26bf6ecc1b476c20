"""run_checks: the repo's own test command on a fix branch, bounded in time, blind to our secrets.

The command is the user's (from `[[repos]]`), but it runs on model-written code, so it gets an
environment without tokens or keys, no stdin (that is the MCP stream), its own process group (so a
timeout kills everything it started) and only the tail of its output comes back, redacted.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

from ..errors.redact import redact_secrets
from ..support.problems import ToolInputError
from .git import git_text
from .models import CheckResult
from .repos import Repo
from .worktrees import find_fix_worktree

Progress = Callable[[float, float, str], Awaitable[None]]

ESSENTIAL_VARIABLES = {"PATH", "HOME", "USER", "LOGNAME", "SHELL", "LANG", "TERM", "TMPDIR", "TZ", "PWD"}
SECRET_WORDS = ("TOKEN", "SECRET", "PASSWORD", "PASSWD", "KEY", "CREDENTIAL", "PRIVATE")
TAIL_LINES = 200
TAIL_CHARS = 16_000
KEPT_BYTES = 256_000
PROGRESS_INTERVAL_SECONDS = 2.0
KILL_GRACE_SECONDS = 3.0


def check_environment(environ: Mapping[str, str] | None = None) -> dict[str, str]:
    """The server's environment minus anything secret-looking, our own settings and git's redirections."""
    source = os.environ if environ is None else environ
    kept: dict[str, str] = {}
    for name, value in source.items():
        upper = name.upper()
        if name in ESSENTIAL_VARIABLES or upper.startswith("LC_"):
            kept[name] = value
        elif upper.startswith(("SELF_IMPROVER_", "GIT_")) or upper == "GITHUB_TOKEN":
            continue
        elif not any(word in upper for word in SECRET_WORDS):
            kept[name] = value
    return kept


@dataclass
class CommandRun:
    exit_code: int | None
    timed_out: bool
    duration_s: float
    output: bytes
    output_truncated: bool


async def run_command(
    command: str,
    cwd: Path,
    time_limit: float,
    progress: Progress | None = None,
    interval: float = PROGRESS_INTERVAL_SECONDS,
    env: dict[str, str] | None = None,
) -> CommandRun:
    """Run `command` with /bin/sh in its own process group; kill the whole group at the time limit."""
    started = time.monotonic()
    process = await asyncio.create_subprocess_exec(
        "/bin/sh",
        "-c",
        command,
        cwd=cwd,
        env=check_environment() if env is None else env,
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
        start_new_session=True,
    )
    tail = bytearray()
    dropped = False

    async def collect() -> None:
        nonlocal dropped
        assert process.stdout is not None
        while chunk := await process.stdout.read(65536):
            tail.extend(chunk)
            if len(tail) > KEPT_BYTES:
                del tail[: len(tail) - KEPT_BYTES]
                dropped = True

    reader = asyncio.create_task(collect())
    waiter = asyncio.ensure_future(process.wait())
    timed_out = False
    try:
        if progress is not None:
            await progress(0.0, time_limit, "running tests")
        while not waiter.done():
            remaining = time_limit - (time.monotonic() - started)
            if remaining <= 0:
                timed_out = True
                break
            await asyncio.wait({waiter}, timeout=min(interval, remaining))
            if not waiter.done() and progress is not None:
                await progress(round(time.monotonic() - started, 1), time_limit, "running tests")
    finally:
        await _stop_group(process, waiter, graceful=timed_out)
        with contextlib.suppress(asyncio.TimeoutError, asyncio.CancelledError):
            await asyncio.wait_for(reader, KILL_GRACE_SECONDS)
    return CommandRun(
        exit_code=None if timed_out else process.returncode,
        timed_out=timed_out,
        duration_s=round(time.monotonic() - started, 3),
        output=bytes(tail),
        output_truncated=dropped,
    )


async def _stop_group(
    process: asyncio.subprocess.Process, waiter: asyncio.Future[int], graceful: bool
) -> None:
    """Kill what is left of the process group: TERM then KILL on a timeout, KILL for stragglers otherwise."""
    if graceful:
        _signal_group(process.pid, signal.SIGTERM)
        with contextlib.suppress(asyncio.TimeoutError):
            await asyncio.wait_for(asyncio.shield(waiter), KILL_GRACE_SECONDS)
    _signal_group(process.pid, signal.SIGKILL)
    with contextlib.suppress(asyncio.TimeoutError):
        await asyncio.wait_for(asyncio.shield(waiter), KILL_GRACE_SECONDS)


def _signal_group(pgid: int, sig: signal.Signals) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, sig)


def output_tail(output: bytes, redact_emails: bool = True) -> tuple[str, bool]:
    """The last TAIL_LINES lines / TAIL_CHARS characters, secrets masked; and whether anything was cut."""
    text = output.decode("utf-8", "replace").replace("\r\n", "\n")
    lines = text.splitlines()
    cut = len(lines) > TAIL_LINES
    text = "\n".join(lines[-TAIL_LINES:])
    if len(text) > TAIL_CHARS:
        text = text[-TAIL_CHARS:]
        cut = True
    return redact_secrets(text, redact_emails=redact_emails), cut


def prepare_checks(repo: Repo, branch: str) -> tuple[str, Path, str]:
    """(test command, fix worktree, head commit) for run_checks, or the error that says what to do."""
    command = (repo.config.test_command or "").strip()
    if not command:
        raise ToolInputError(
            f'repo {repo.name!r} has no test_command: add `test_command = "..."` (e.g. "pytest -q") to its '
            "[[repos]] table in the config file"
        )
    worktree = find_fix_worktree(repo, branch)
    return command, worktree, git_text(worktree, "rev-parse", "HEAD")


async def run_checks(
    repo: Repo,
    branch: str,
    prepared: tuple[str, Path, str],
    time_limit: float,
    progress: Progress | None = None,
    redact_emails: bool = True,
) -> CheckResult:
    command, worktree, commit = prepared
    run = await run_command(command, worktree, time_limit, progress)
    tail, cut = output_tail(run.output, redact_emails)
    return CheckResult(
        repo=repo.name,
        branch=branch,
        commit=commit,
        command=command,
        passed=run.exit_code == 0 and not run.timed_out,
        exit_code=run.exit_code,
        timed_out=run.timed_out,
        duration_s=run.duration_s,
        timeout_s=time_limit,
        output_tail=tail,
        output_truncated=cut or run.output_truncated,
    )
