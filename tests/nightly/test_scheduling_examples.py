"""The scheduling examples parse and start real subcommands of our CLI with flags it accepts."""

from __future__ import annotations

import json
import shlex
from pathlib import Path

import pytest
from self_improver.server.cli import COMMANDS, build_parser

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "scheduling"
SHELL_OPERATORS = {"&&", "||", ";", "|", ">>", ">", "2>&1"}


def _our_argv(command_line: str) -> list[str]:
    """The arguments given to the `self-improver` executable in a shell command line (also inside `sh -c`)."""
    words = shlex.split(command_line)
    if words[:2] == ["sh", "-c"]:
        return _our_argv(words[2])
    start = next(i for i, w in enumerate(words) if Path(w).name == "self-improver") + 1
    argv = []
    for word in words[start:]:
        if word in SHELL_OPERATORS:
            break
        argv.append(word)
    return argv


def _parses(argv: list[str], subcommand: str) -> None:
    assert argv[0] == subcommand and subcommand in COMMANDS
    args = build_parser().parse_args(argv)  # exits (fails the test) on an unknown flag
    assert args.command == subcommand


def test_crontab_runs_nightly_at_00_17() -> None:
    lines = [
        line
        for line in (EXAMPLES / "crontab").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    ]
    assert len(lines) == 1
    fields = lines[0].split(None, 5)
    assert fields[:5] == ["17", "0", "*", "*", "*"] and "%" not in fields[5]  # cron turns % into newlines
    argv = _our_argv(fields[5])
    _parses(argv, "nightly")
    assert "{mcp_config}" in argv[argv.index("--agent-cmd") + 1]


def test_systemd_timer_starts_the_nightly_service_at_00_17() -> None:
    timer = (EXAMPLES / "self-improver-nightly.timer").read_text()
    service = (EXAMPLES / "self-improver-nightly.service").read_text()
    assert "OnCalendar=*-*-* 00:17:00" in timer.splitlines()
    assert "Unit=self-improver-nightly.service" in timer and "WantedBy=timers.target" in timer
    assert "Type=oneshot" in service.splitlines()
    exec_start = next(line for line in service.splitlines() if line.startswith("ExecStart="))
    _parses(_our_argv(exec_start.removeprefix("ExecStart=")), "nightly")


def test_github_workflow_is_scheduled_and_runs_nightly_with_secrets() -> None:
    yaml = pytest.importorskip("yaml")  # PyYAML comes with chromadb
    text = (EXAMPLES / "github-actions-nightly.yml").read_text()
    workflow = yaml.safe_load(text)
    triggers = workflow.get("on", workflow.get(True))  # YAML 1.1 reads a bare `on` as true
    assert triggers["schedule"] == [{"cron": "17 0 * * *"}]
    steps = workflow["jobs"]["nightly"]["steps"]
    runs = [line for s in steps for line in s.get("run", "").splitlines() if "self-improver nightly" in line]
    assert len(runs) == 1
    _parses(_our_argv(runs[0]), "nightly")
    env = workflow["jobs"]["nightly"]["env"]
    assert env["GITHUB_TOKEN"] == "${{ secrets.SELF_IMPROVER_GITHUB_TOKEN || github.token }}"
    assert env["ANTHROPIC_API_KEY"] == "${{ secrets.ANTHROPIC_API_KEY }}"
    assert any(s.get("uses", "").startswith("actions/cache/restore@") for s in steps)


@pytest.mark.parametrize("name", [".mcp.json", "claude_desktop_config.json"])
def test_mcp_host_configs_start_our_server(name: str) -> None:
    config = json.loads((EXAMPLES / name).read_text())
    server = config["mcpServers"]["self-improver"]
    assert Path(server["command"]).name == "self-improver"
    _parses(server["args"], "serve")
    assert not any("ghp_" in v or "sk-" in v for v in server.get("env", {}).values())
