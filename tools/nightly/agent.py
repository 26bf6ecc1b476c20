"""Start the host agent (e.g. `claude -p ...`) with the nightly prompt and our server configured.

The command is a shell command line. `{prompt_file}` and `{mcp_config}` in it are replaced by the
shell-quoted paths of the files written here, and the prompt is also its stdin. It runs in its own
process group under a time limit: at the limit the whole group gets SIGTERM, then SIGKILL after a
grace period, so no tool process outlives the night. Output goes to a log file; the record keeps
the exit code, duration, whether it timed out and the output's tail.
"""

from __future__ import annotations

import json
import os
import shlex
import signal
import subprocess
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ..errors.redact import redact_secrets
from .models import AgentOutcome

TAIL_CHARS = 4000
AgentProgress = Callable[[float, float], None]


def command_line(template: str, prompt_file: Path, mcp_config: Path) -> str:
    """The command with its placeholders replaced (other braces are left alone)."""
    return template.replace("{prompt_file}", shlex.quote(str(prompt_file))).replace(
        "{mcp_config}", shlex.quote(str(mcp_config))
    )


def write_inputs(work_dir: Path, night: str, prompt: str, config: dict[str, Any]) -> tuple[Path, Path]:
    """The prompt file and the MCP config file the command refers to."""
    work_dir.mkdir(parents=True, exist_ok=True)
    prompt_file = work_dir / f"nightly-{night}-prompt.md"
    prompt_file.write_text(prompt, encoding="utf-8")
    config_file = work_dir / "mcp-config.json"
    config_file.write_text(json.dumps(config, indent=2) + "\n", encoding="utf-8")
    return prompt_file, config_file


def launch_agent(
    template: str,
    prompt: str,
    config: dict[str, Any],
    work_dir: Path,
    night: str,
    timeout: float,
    progress: AgentProgress | None = None,
    kill_grace: float = 5.0,
    stop: threading.Event | None = None,
) -> AgentOutcome:
    """Run the agent to its end, its time limit, or `stop` (the nightly run itself is being ended)."""
    prompt_file, config_file = write_inputs(work_dir, night, prompt, config)
    log_path = work_dir / f"nightly-{night}-agent.log"
    command = command_line(template, prompt_file, config_file)
    env = os.environ | {
        "SELF_IMPROVER_PROMPT_FILE": str(prompt_file),
        "SELF_IMPROVER_MCP_CONFIG": str(config_file),
    }
    started = time.monotonic()
    outcome = AgentOutcome(
        command=redact_secrets(command, redact_emails=False),
        exit_code=None,
        duration_seconds=0.0,
        timed_out=False,
        output_tail="",
        log_path=str(log_path),
        mcp_config=str(config_file),
        prompt_file=str(prompt_file),
    )
    with open(prompt_file, "rb") as stdin, open(log_path, "wb") as log:
        try:
            process = subprocess.Popen(
                command,
                shell=True,
                stdin=stdin,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
                env=env,
            )
        except OSError as exc:
            outcome.error = f"could not start the agent command: {exc}"
            return outcome
        outcome.timed_out = _wait(process, started, timeout, progress, kill_grace, stop or threading.Event())
        _end_group(process.pid, signal.SIGTERM)  # stragglers the agent left behind
    outcome.exit_code = process.returncode
    outcome.duration_seconds = time.monotonic() - started
    outcome.output_tail = output_tail(log_path)
    return outcome


def _wait(
    process: subprocess.Popen[bytes],
    started: float,
    timeout: float,
    progress: AgentProgress | None,
    kill_grace: float,
    stop: threading.Event,
) -> bool:
    """Wait for the agent; at the time limit (or on `stop`) end its process group. True when it timed out."""
    deadline = started + timeout
    while True:
        remaining = deadline - time.monotonic()
        if remaining <= 0 or stop.is_set():
            break
        try:
            process.wait(timeout=min(1.0, remaining))
            return False
        except subprocess.TimeoutExpired:
            if progress:
                progress(time.monotonic() - started, timeout)
    _end_group(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout=kill_grace)
    except subprocess.TimeoutExpired:
        _end_group(process.pid, signal.SIGKILL)
        process.wait()
    return not stop.is_set()


def _end_group(pgid: int, sig: signal.Signals) -> None:
    try:
        os.killpg(pgid, sig)
    except (ProcessLookupError, PermissionError):
        pass


def output_tail(log_path: Path, chars: int = TAIL_CHARS) -> str:
    """The end of the agent's output, secrets masked."""
    try:
        with open(log_path, "rb") as handle:
            handle.seek(0, os.SEEK_END)
            size = handle.tell()
            handle.seek(max(0, size - chars * 4))
            text = handle.read().decode("utf-8", errors="replace")
    except OSError:
        return ""
    return redact_secrets(text[-chars:], redact_emails=False)
