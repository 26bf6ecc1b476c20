"""The host agent step with fake agents: one checks what it is given, one outlives its time limit."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from nightly.night_helpers import NIGHT
from self_improver.server.cli import main
from self_improver.server.nightly import run_nightly
from self_improver.tools.nightly.runs import RunRecords

CHECKING_AGENT = """
import json, os, subprocess, sys

config_path, prompt_path = sys.argv[1], sys.argv[2]
prompt = sys.stdin.read()
assert prompt == open(prompt_path).read(), "stdin is not the prompt file"
assert "nightly self-improvement pass" in prompt and "Open at most 2 pull requests" in prompt
assert "reports://nightly/2026-02-16" in prompt
server = json.load(open(config_path))["mcpServers"]["self-improver"]
args = server["args"]
at = args.index("serve")
# Ask the configured command for its effective settings instead of serving: the same flags and env.
shown = subprocess.run(
    [server["command"], *args[:at], "config", "show", *args[at + 1:]],
    env={**os.environ, **server["env"]}, capture_output=True, text=True, check=True,
)
seen = json.loads(shown.stdout)
print(json.dumps({k: seen[k] for k in ("data_dir", "telemetry_location", "now", "max_prs_per_run", "repos")}))
print("agent ok")
"""

SLOW_AGENT = """
import subprocess, sys, time

child = subprocess.Popen(["sleep", "60"])
open(sys.argv[1], "w").write(str(child.pid))
print("thinking...", flush=True)
time.sleep(60)
"""


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, IndexError):
        return False
    return state != "Z"


def test_the_agent_gets_the_prompt_and_a_config_that_starts_our_server(
    night_settings, worker_repo: Path, tmp_path: Path
) -> None:
    script = tmp_path / "fake_agent.py"
    script.write_text(CHECKING_AGENT)
    settings = night_settings(
        repos=[{"name": "worker", "path": str(worker_repo)}],
        max_prs_per_run=2,
        agent_cmd=f"{sys.executable} {script} {{mcp_config}} {{prompt_file}}",
    )

    result = run_nightly(settings)  # repos and max_prs_per_run reach the agent only through its config

    assert result.outcome == "ok", result.agent
    record = RunRecords.in_dir(settings.data_dir).get(result.run_id)
    assert record.agent["exit_code"] == 0 and record.agent["timed_out"] is False
    tail = record.agent["output_tail"]
    assert "agent ok" in tail
    seen = json.loads(tail.splitlines()[0])
    assert seen["data_dir"] == str(settings.data_dir.resolve())
    assert seen["telemetry_location"] == str(Path(settings.telemetry_db).resolve())
    assert seen["now"].startswith("2026-02-16 00:17:00") and seen["max_prs_per_run"] == 2
    assert seen["repos"][0]["name"] == "worker"
    config = json.loads((settings.data_dir / "agent" / "mcp-config.json").read_text())
    assert config["mcpServers"]["self-improver"]["args"][-4:] == [
        "--timezone",
        "UTC",
        "--now",
        "2026-02-16T00:17:00+00:00",
    ]
    report = result.report_path.read_text()
    assert "### Host agent" in report and "exit code 0" in report and "agent ok" in report


def test_the_cli_flags_start_the_agent(night_settings, tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    settings = night_settings()
    command = f"{sys.executable} -c 'import sys; print(len(sys.stdin.read()) > 100)'"
    argv = ["nightly", "--data-dir", str(settings.data_dir), "--telemetry-db", str(settings.telemetry_db)]
    argv += ["--now", "2026-02-16T00:17:00Z", "--agent-cmd", command, "--agent-timeout", "30"]

    assert main(argv) == 0
    out, err = capsys.readouterr()
    assert out == f"{settings.data_dir / 'reports' / f'nightly-{NIGHT}.md'}\n"
    assert "nightly [9/9] Run the host agent: ok" in err
    record = RunRecords.in_dir(settings.data_dir).recent()[0]
    assert record.agent["exit_code"] == 0 and record.agent["output_tail"].strip() == "True"
    assert main([*argv, "--no-agent"]) == 0
    assert RunRecords.in_dir(settings.data_dir).recent()[0].agent is None


def test_an_agent_past_its_time_limit_is_ended_with_its_children(night_settings, tmp_path: Path) -> None:
    script, pid_file = tmp_path / "slow_agent.py", tmp_path / "child.pid"
    script.write_text(SLOW_AGENT)
    settings = night_settings(agent_cmd=f"{sys.executable} {script} {pid_file}", agent_timeout_seconds=1.5)

    started = time.monotonic()
    result = run_nightly(settings)

    assert time.monotonic() - started < 15
    assert result.outcome == "partial" and result.exit_code == 1
    agent = result.agent
    assert agent.timed_out and agent.exit_code != 0 and 1.5 <= agent.duration_seconds < 10
    assert "thinking..." in agent.output_tail
    child = int(pid_file.read_text())
    deadline = time.monotonic() + 5
    while _alive(child) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not _alive(child), "the agent's child outlived the time limit"
    report = result.report_path.read_text()
    assert "timed out" in report and "| agent | Run the host agent | **failed** |" in report
    record = RunRecords.in_dir(settings.data_dir).get(result.run_id)
    assert record.outcome == "partial" and record.agent["timed_out"] is True


def test_stopping_the_run_ends_the_agent_and_records_the_run_as_failed(
    night_settings, tmp_path: Path
) -> None:
    settings = night_settings()
    script, pid_file = tmp_path / "slow_agent.py", tmp_path / "child.pid"
    script.write_text(SLOW_AGENT)
    argv = [sys.executable, "-m", "self_improver.server.cli", "nightly", "--now", "2026-02-16T00:17:00Z"]
    argv += ["--data-dir", str(settings.data_dir), "--telemetry-db", str(settings.telemetry_db)]
    argv += ["--agent-cmd", f"{sys.executable} {script} {pid_file}"]
    env = {k: v for k, v in os.environ.items() if not k.startswith("SELF_IMPROVER_")}
    run = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    try:
        deadline = time.monotonic() + 30
        while not pid_file.exists() and time.monotonic() < deadline:
            time.sleep(0.05)
        assert pid_file.exists(), run.stderr.read() if run.poll() is not None else "the agent did not start"
        time.sleep(0.2)
        run.send_signal(signal.SIGTERM)  # systemd stopping the unit, or `kill`
        out, err = run.communicate(timeout=20)
    finally:
        if run.poll() is None:
            run.kill()
    assert run.returncode == 130 and out == "" and "stopped" in err
    child = int(pid_file.read_text())
    deadline = time.monotonic() + 5
    while _alive(child) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not _alive(child)
    record = RunRecords.in_dir(settings.data_dir).recent()[0]
    assert record.outcome == "failed" and "stopped" in record.error


def test_the_report_says_how_run_checks_runs_model_written_code(
    night_settings, worker_repo, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = night_settings(repos=[{"name": "worker", "path": str(worker_repo)}])
    sandboxed = Path(run_nightly(settings).report_path).read_text()
    monkeypatch.setenv("SELF_IMPROVER_BWRAP", "/nonexistent/bwrap")
    missing = Path(run_nightly(settings).report_path).read_text()
    unconfined = Path(run_nightly(settings.model_copy(update={"sandbox": "off"})).report_path).read_text()
    assert "run_checks sandbox: bubblewrap" in sandboxed
    assert "**run_checks sandbox: UNAVAILABLE" in missing and "refuses" in missing
    assert '**run_checks sandbox: off (config sandbox = "off")' in unconfined
