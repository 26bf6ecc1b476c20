"""One process of the cross-process cap test: its own server on the shared data dir, one open_pull_request.

Usage: python open_worker.py CONFIG BRANCH SIGNATURE BARRIER_DIR NAME. It connects a client to its own
server, says it is ready (BARRIER_DIR/ready-NAME), waits for BARRIER_DIR/go, calls the tool, and prints
the outcome as one JSON line: {"number": n} or {"error": text}. With BRANCH "-" it first applies its own
fix with apply_patch (a new file worker/fix_NAME.py), at the same moment as the others, and opens that.
"""

from __future__ import annotations

import asyncio
import json
import sys
import time
from pathlib import Path

from mcp import Client
from self_improver.server.app import build_server
from self_improver.server.config import load_settings


def wait_for_go(go: Path) -> None:
    deadline = time.monotonic() + 60
    while not go.exists() and time.monotonic() < deadline:
        time.sleep(0.002)


async def main(config: str, branch: str, signature: str, barrier: Path, name: str) -> None:
    async with Client(build_server(load_settings(config))) as client:
        (barrier / f"ready-{name}").write_text("ready")
        await asyncio.to_thread(wait_for_go, barrier / "go")
        if branch == "-":
            diff = f"--- /dev/null\n+++ b/worker/fix_{name}.py\n@@ -0,0 +1 @@\n+FIX = {name}\n"
            arguments = {"repo": "worker", "signature": signature, "title": f"Fix {name}", "diff": diff}
            applied = await client.call_tool("apply_patch", arguments)
            if applied.is_error:
                print(json.dumps({"error": " ".join(getattr(c, "text", "") for c in applied.content)}))
                return
            branch = (applied.structured_content or {})["branch"]
        result = await client.call_tool(
            "open_pull_request",
            {
                "repo": "worker",
                "branch": branch,
                "title": f"Fix {signature}",
                "body": "A fix, opened at the same moment as others.",
                "signature": signature,
            },
        )
    if result.is_error:
        print(json.dumps({"error": " ".join(getattr(c, "text", "") for c in result.content)}))
    else:
        print(json.dumps({"number": (result.structured_content or {})["pull_request"]["number"]}))


if __name__ == "__main__":
    config, branch, signature, barrier, name = sys.argv[1:6]
    asyncio.run(main(config, branch, signature, Path(barrier), name))
