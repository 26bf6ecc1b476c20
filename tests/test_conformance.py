"""The official MCP conformance suite, over HTTP, for the scenarios that apply to any server.

The other scenarios of the suite call fixture tools of its reference server (`test_image_content`,
`test_prompt_with_arguments`, ...) that a real server does not have. The suite is an npm package, installed
once per venv from the npm registry (`.venv/conformance`); without Node.js this is a loud skip locally and
a failure in CI, where the machine image ships Node.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from local_ports import serve_demo_http

VERSION = "0.1.16"
SCENARIOS = [
    "server-initialize",
    "ping",
    "logging-set-level",
    "completion-complete",
    "tools-list",
    "tools-call-error",
    "resources-list",
    "prompts-list",
    "server-sse-multiple-streams",
    "dns-rebinding-protection",
]
INSTALL_DIR = Path(sys.executable).parent.parent / "conformance"
ENTRY = INSTALL_DIR / "node_modules" / "@modelcontextprotocol" / "conformance" / "dist" / "index.js"


def _node_major() -> int:
    out = subprocess.run(["node", "--version"], capture_output=True, text=True, check=True).stdout
    return int(out.strip().lstrip("v").split(".")[0])


def _install() -> Path:
    if shutil.which("node") is None or shutil.which("npm") is None:
        if os.environ.get("CI"):
            pytest.fail("Node.js and npm are needed for the MCP conformance suite")
        pytest.skip("Node.js and npm are needed for the MCP conformance suite")
    if not ENTRY.exists():
        INSTALL_DIR.mkdir(parents=True, exist_ok=True)
        subprocess.run(
            [
                "npm",
                "install",
                "--silent",
                "--no-audit",
                "--no-fund",
                "--prefix",
                str(INSTALL_DIR),
                f"@modelcontextprotocol/conformance@{VERSION}",
            ],
            check=True,
            timeout=300,
        )
    if _node_major() < 22:
        # fs.globSync is Node 22+; the suite uses it only to discover client-scenario files.
        source = ENTRY.read_text()
        imported = re.search(r"globSync as (\w+),", source)
        if imported:
            shimmed = source.replace(imported.group(0), "", 1)
            ENTRY.write_text(shimmed.replace("\nimport", f"\nconst {imported.group(1)}=()=>[];\nimport", 1))
    return ENTRY


def test_the_conformance_scenarios_for_any_server_pass_over_http(demo_db: Path, tmp_path: Path) -> None:
    entry = _install()
    proc, port = serve_demo_http(demo_db, tmp_path)
    failures = {}
    try:
        for scenario in SCENARIOS:
            run = subprocess.run(
                [
                    "node",
                    str(entry),
                    "server",
                    "--url",
                    f"http://127.0.0.1:{port}/mcp",
                    "--scenario",
                    scenario,
                ],
                capture_output=True,
                text=True,
                timeout=120,
            )
            plain = re.sub(r"\x1b\[[0-9;]*m", "", run.stdout + run.stderr)
            if run.returncode != 0 or not re.search(r"Passed: (\d+)/\1, 0 failed", plain):
                failures[scenario] = plain[-1500:]
    finally:
        proc.terminate()
        proc.communicate(timeout=10)
    assert failures == {}
