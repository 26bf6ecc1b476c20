"""Loopback ports for the servers tests start: a free one, waiting until a process listens on it, and
our HTTP server on the demo night."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

from self_improver.examples.demo_telemetry import DEMO_ANCHOR


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket() as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def wait_for_port(port: int, proc: subprocess.Popen, timeout: float = 30, host: str = "127.0.0.1") -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise AssertionError(f"server exited early: {proc.stderr.read() if proc.stderr else ''}")
        try:
            with socket.create_connection((host, port), timeout=0.2):
                return
        except OSError:
            time.sleep(0.1)
    raise AssertionError("server did not start listening")


def serve_demo_http(demo_db: Path, data_dir: Path, **env: str) -> tuple[subprocess.Popen[str], int]:
    """`self-improver serve --http` on the demo night, on a free port, listening when this returns.

    The environment is this one without SELF_IMPROVER_* settings, plus `env`.
    """
    port = free_port()
    clean = {k: v for k, v in os.environ.items() if not k.startswith("SELF_IMPROVER_")} | env
    command = ["serve", "--http", "--port", str(port), "--telemetry-db", str(demo_db)]
    command += ["--now", DEMO_ANCHOR.isoformat(), "--data-dir", str(data_dir)]
    proc = subprocess.Popen(
        [sys.executable, "-m", "self_improver.server.cli", *command],
        env=clean,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    wait_for_port(port, proc)
    return proc, port
