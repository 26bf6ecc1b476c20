"""run_checks: the repo's own test command on a fix branch, bounded in time, blind to our secrets.

The command is the user's (from `[[repos]]`), but it runs on model-written code, so it runs in the
sandbox of `sandbox.py` (bubblewrap: no network, no view of the server's processes, writes only to
the worktree, an allow-listed environment), with no stdin (that is the MCP stream); at the time limit
its whole PID namespace is killed, and only the tail of its output comes back, redacted.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import signal
import time
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

from ..errors.redact import redact_secrets
from ..support.git_runner import git_text
from ..support.problems import ToolInputError
from .models import CheckResult
from .repos import Repo, RepoRegistry
from .sandbox import Sandbox, SandboxMode, plan_sandbox, unconfined_environment
from .worktrees import find_fix_worktree

Progress = Callable[[float, float, str], Awaitable[None]]

TAIL_LINES = 200
TAIL_CHARS = 16_000
KEPT_BYTES = 256_000
PROGRESS_INTERVAL_SECONDS = 2.0
KILL_GRACE_SECONDS = 3.0


def check_environment(environ: Mapping[str, str] | None = None, names: Iterable[str] = ()) -> dict[str, str]:
    """An allow-list, never a deny-list: the host's essentials (PATH, HOME, locale...) plus `names`."""
    return unconfined_environment(names, environ)


@dataclass(frozen=True)
class PreparedChecks:
    """What run_checks runs: the repo's test command on `branch`, in its worktree at `commit`."""

    repo: str
    branch: str
    command: str
    worktree: Path
    commit: str
    sandbox: Sandbox


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
    sandbox: Sandbox | None = None,
) -> CommandRun:
    """Run `command` with /bin/sh, in `sandbox` when given, else unconfined in its own process group.

    At the time limit a sandboxed command's PID namespace is killed (every process in it, whatever
    session or process group it made); an unconfined one's process group gets TERM, then KILL.
    """
    started = time.monotonic()
    boxed = sandbox is not None and sandbox.mode == "bwrap"
    info_read, info_write = os.pipe() if boxed else (-1, -1)
    if sandbox is None:
        argv = ["/bin/sh", "-c", command]
    else:
        argv = sandbox.argv(command, info_write if boxed else None)
    if env is None:
        env = sandbox.environment if sandbox is not None else check_environment()
    try:
        process = await asyncio.create_subprocess_exec(
            *argv,
            cwd=cwd,
            env=env,
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
            start_new_session=True,
            pass_fds=(info_write,) if boxed else (),
        )
    except BaseException:
        _close(info_read)
        raise
    finally:
        _close(info_write)
    if boxed:
        os.set_blocking(info_read, False)
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
        if boxed:
            _kill_namespace(process, info_read)
            _close(info_read)
        await _stop_group(process, waiter, graceful=timed_out and not boxed)
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


_CHILD_PID_RE = re.compile(rb'"child-pid"\s*:\s*(\d+)')


def _kill_namespace(process: asyncio.subprocess.Process, info_fd: int) -> None:
    """SIGKILL pid 1 of the sandbox's PID namespace, which takes every process in it down.

    Its host pid comes from bwrap's --info-fd; it is signalled only while it is still bwrap's child,
    so a pid reused after it ended is never hit. (Killing bwrap alone would do too: --die-with-parent.)
    """
    try:
        info = os.read(info_fd, 4096)
    except (BlockingIOError, OSError):
        return
    found = _CHILD_PID_RE.search(info)
    if found is None or process.returncode is not None:
        return
    child = int(found.group(1))
    if _parent_of(child) == process.pid:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.kill(child, signal.SIGKILL)


def _parent_of(pid: int) -> int | None:
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return None
    found = re.search(r"^PPid:\s*(\d+)", status, re.MULTILINE)
    return int(found.group(1)) if found else None


def _close(fd: int) -> None:
    if fd >= 0:
        with contextlib.suppress(OSError):
            os.close(fd)


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


def prepare_checks(
    repo: Repo, branch: str, sandbox: SandboxMode = "bwrap", data_dir: Path | None = None
) -> PreparedChecks:
    """Command, fix worktree, head commit and sandbox for run_checks, or the error that says what to do.

    Blocks (git, and the one-time bwrap probe): call it off the event loop.
    """
    command = (repo.config.test_command or "").strip()
    if not command:
        raise ToolInputError(
            f'repo {repo.name!r} has no test_command: add `test_command = "..."` (e.g. "pytest -q") to its '
            "[[repos]] table in the config file"
        )
    worktree = find_fix_worktree(repo, branch)
    commit = git_text(worktree, "rev-parse", "HEAD")
    box = plan_sandbox(
        sandbox, worktree, repo.path, data_dir, repo.config.check_env, repo.config.denied_paths
    )
    return PreparedChecks(repo.name, branch, command, worktree, commit, box)


async def check_branch(
    repos: RepoRegistry,
    name: str,
    branch: str,
    sandbox: SandboxMode,
    data_dir: Path | None,
    time_limit: float,
    progress: Progress | None = None,
    redact_emails: bool = True,
) -> CheckResult:
    """The checks of fix branch `branch` of repo `name`: prepared in a worker thread (git, the sandbox
    probe), then run with `run_checks`."""
    prepared = await asyncio.to_thread(lambda: prepare_checks(repos.get(name), branch, sandbox, data_dir))
    return await run_checks(prepared, time_limit, progress, redact_emails)


async def run_checks(
    prepared: PreparedChecks, time_limit: float, progress: Progress | None = None, redact_emails: bool = True
) -> CheckResult:
    run = await run_command(
        prepared.command, prepared.worktree, time_limit, progress, sandbox=prepared.sandbox
    )
    tail, cut = output_tail(run.output, redact_emails)
    return CheckResult(
        repo=prepared.repo,
        branch=prepared.branch,
        commit=prepared.commit,
        command=prepared.command,
        passed=run.exit_code == 0 and not run.timed_out,
        exit_code=run.exit_code,
        timed_out=run.timed_out,
        duration_s=run.duration_s,
        timeout_s=time_limit,
        output_tail=tail,
        output_truncated=cut or run.output_truncated,
        sandbox=prepared.sandbox.description,
    )
