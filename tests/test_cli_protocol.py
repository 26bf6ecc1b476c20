"""The command line says what is wrong before it starts anything: version, port, a port in use, a closed pipe."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest
from self_improver.server.cli import main
from self_improver.server.version import package_version

CLI = [sys.executable, "-m", "self_improver.server.cli"]


def _env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if not k.startswith("SELF_IMPROVER_")}


def test_version(capsys: pytest.CaptureFixture) -> None:
    with pytest.raises(SystemExit) as done:
        main(["--version"])
    assert done.value.code == 0
    assert capsys.readouterr().out == f"self-improver {package_version()}\n"


@pytest.mark.parametrize("port", ["99999", "0", "http"])
def test_a_port_out_of_range_is_refused_naming_the_flag(port: str, capsys: pytest.CaptureFixture) -> None:
    with pytest.raises(SystemExit) as done:
        main(["serve", "--http", "--port", port])
    assert done.value.code == 2
    assert "argument --port: must be a port number from 1 to 65535" in capsys.readouterr().err


@pytest.mark.parametrize("command", ["serve", "collect"])
def test_a_port_in_use_is_said_before_anything_starts(command: str, tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        flags = ["--http"] if command == "serve" else []
        result = subprocess.run(
            [*CLI, command, *flags, "--port", str(port), "--data-dir", str(tmp_path)],
            env=_env(),
            capture_output=True,
            text=True,
            timeout=60,
        )
    assert result.returncode == 2
    assert f"port {port} on 127.0.0.1 is in use" in result.stderr
    assert "serving" not in result.stderr and "receiving" not in result.stderr
    assert "Traceback" not in result.stderr


def test_a_reader_that_goes_away_ends_the_output_quietly(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture
) -> None:
    """`self-improver config show | head -1`: the reader is gone before the output is written."""
    read_end, write_end = os.pipe()
    os.close(read_end)
    stream = open(write_end, "w", encoding="utf-8")
    monkeypatch.setattr(sys, "stdout", stream)
    try:
        code = main(["config", "show", "--data-dir", str(tmp_path)])
    finally:
        monkeypatch.undo()
        stream.close()
    assert code == 141  # as a process ended by SIGPIPE
    assert "Traceback" not in capsys.readouterr().err
