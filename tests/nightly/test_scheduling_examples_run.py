"""The scheduling examples work as copied: the crontab line exports the env file and logs everything,
and the GitHub workflow installs self-improver from git with the permissions pull requests need."""

from __future__ import annotations

import shlex
import subprocess
from pathlib import Path

import pytest

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "scheduling"
ENV_FILE = "/etc/self-improver/env"
PROGRAM = "/opt/self-improver/.venv/bin/self-improver"
LOG = "/var/log/self-improver/nightly.log"

# Stands in for self-improver: says whether the secrets reached it, on stdout and stderr.
FAKE = """#!/bin/sh
if [ -n "$GITHUB_TOKEN" ]; then echo "stdout: GITHUB_TOKEN is set"; else echo "stdout: GITHUB_TOKEN is NOT set"; fi
echo "stderr: ANTHROPIC_API_KEY=${ANTHROPIC_API_KEY:-unset} args: $*" >&2
"""


def _cron_command() -> str:
    lines = [
        line
        for line in (EXAMPLES / "crontab").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    ]
    return lines[0].split(None, 5)[5]


def _setup(tmp_path: Path) -> tuple[Path, Path, Path]:
    env_file = tmp_path / "env"
    env_file.write_text("GITHUB_TOKEN=ghp_example_not_a_real_token\nANTHROPIC_API_KEY='sk-ant example'\n")
    program = tmp_path / "self-improver"
    program.write_text(FAKE)
    program.chmod(0o755)
    return env_file, program, tmp_path / "nightly.log"


def _run_as_cron(command: str, tmp_path: Path) -> None:
    """cron runs the line with /bin/sh and a bare environment: no secrets, a minimal PATH."""
    subprocess.run(
        ["/bin/sh", "-c", command],
        env={"PATH": "/usr/bin:/bin", "HOME": str(tmp_path), "SHELL": "/bin/sh"},
        cwd=tmp_path,
        check=True,
        timeout=30,
    )


def test_the_crontab_line_exports_the_env_file_and_logs_stdout_and_stderr(tmp_path: Path) -> None:
    env_file, program, log = _setup(tmp_path)
    command = _cron_command()
    for example, real in ((ENV_FILE, env_file), (PROGRAM, program), (LOG, log)):
        assert example in command
        command = command.replace(example, str(real))
    _run_as_cron(command, tmp_path)
    _run_as_cron(command, tmp_path)  # a second night appends
    text = log.read_text()
    assert text.count("stdout: GITHUB_TOKEN is set") == 2
    assert text.count("stderr: ANTHROPIC_API_KEY=sk-ant example args: nightly --config") == 2
    assert "NOT set" not in text
    assert "--agent-cmd claude -p --mcp-config {mcp_config}" in text


def test_sourcing_without_set_a_would_not_reach_the_child(tmp_path: Path) -> None:
    """Why the line uses `set -a`: a plain `. file` sets shell variables the child never sees."""
    env_file, program, log = _setup(tmp_path)
    _run_as_cron(f". {shlex.quote(str(env_file))} && {shlex.quote(str(program))} >> {log} 2>&1", tmp_path)
    assert "GITHUB_TOKEN is NOT set" in log.read_text()


def _workflow() -> dict:  # type: ignore[type-arg]
    yaml = pytest.importorskip("yaml")  # PyYAML comes with chromadb
    return yaml.safe_load((EXAMPLES / "github-actions-nightly.yml").read_text())  # type: ignore[no-any-return]


def test_the_workflow_installs_from_git_not_from_the_package_index() -> None:
    steps = _workflow()["jobs"]["nightly"]["steps"]
    installs = [
        line.strip()
        for step in steps
        for line in step.get("run", "").splitlines()
        if "pip install" in line and "--upgrade pip" not in line
    ]
    assert installs == ['python -m pip install "self-improver @ git+https://github.com/${SOURCE}@${REF}"']
    step = next(s for s in steps if "git+https://" in s.get("run", ""))
    assert step["env"]["SOURCE"] == "${{ vars.SELF_IMPROVER_REPOSITORY }}"
    assert "::error::" in step["run"]  # an unset variable stops the job with the reason


def test_the_workflow_may_push_branches_and_open_pull_requests() -> None:
    workflow = _workflow()
    assert workflow["permissions"] == {"contents": "write", "pull-requests": "write"}
    token = workflow["jobs"]["nightly"]["env"]["GITHUB_TOKEN"]
    assert token == "${{ secrets.SELF_IMPROVER_GITHUB_TOKEN || github.token }}"
    text = (EXAMPLES / "github-actions-nightly.yml").read_text()
    assert "Allow GitHub Actions to create and approve pull requests" in text  # the one repository setting
