"""`self-improver collect` as a real subprocess on a free loopback port, with a bearer token."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from local_ports import free_port

TOKEN = "otlp-test-token"
FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "otlp" / "planted_spans.jsonl"


@dataclass
class Collector:
    url: str
    port: int
    db: Path
    proc: subprocess.Popen[str]
    log: Path

    @property
    def auth(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {TOKEN}"}


def start_collector(workdir: Path, *flags: str) -> Collector:
    port = free_port()
    db = workdir / f"store-{port}.db"
    log = workdir / f"collect-{port}.log"
    env = {k: v for k, v in os.environ.items() if not k.startswith("SELF_IMPROVER_")}
    env["SELF_IMPROVER_HTTP_TOKEN"] = TOKEN
    with log.open("w") as stderr:
        proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "self_improver.server.cli",
                "collect",
                "--port",
                str(port),
                "--telemetry-db",
                str(db),
                "--data-dir",
                str(workdir / "data"),
                *flags,
            ],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=stderr,
            text=True,
        )
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise AssertionError(f"collect exited early: {log.read_text()}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return Collector(f"http://127.0.0.1:{port}/v1/traces", port, db, proc, log)
        except OSError:
            time.sleep(0.05)
    proc.kill()
    raise AssertionError("collect did not start listening")


def stop_collector(collector: Collector) -> None:
    collector.proc.terminate()
    collector.proc.wait(timeout=15)
