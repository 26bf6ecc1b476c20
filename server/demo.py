"""`self-improver demo`: build the seed article's night in a temp dir and answer its questions.

The answers come through the MCP server itself (an in-process client calling the tools), so the
demo shows exactly what a host would see at 00:17 on Feb 16, 2026.
"""

from __future__ import annotations

import asyncio
import tempfile
from pathlib import Path

from mcp import Client

from ..examples.demo_telemetry import DEMO_ANCHOR, build_demo_db
from .app import build_server
from .config import Settings
from .demo_fix_loop import REPO_NAME, call_tool, run_fix_loop
from .demo_later_night import run_later_night

# The seed article's two queries, with date('now') pinned to the demo's night so they can run on it.
SEED_DAILY = "SELECT status, COUNT(*) FROM tasks WHERE date(created_at) = date('now') GROUP BY status"
SEED_ERRORS = (
    "SELECT error, COUNT(*) as count FROM tasks WHERE date(created_at) >= date('now', '-7 days') "
    "AND status = 'failed' GROUP BY error ORDER BY count DESC"
)


def _pct(rate: float) -> str:
    return f"{rate * 100:.1f}%"


async def answer_nightly_questions(settings: Settings) -> None:
    async with Client(build_server(settings)) as client:
        print(
            f"Nightly run at {settings.now:%Y-%m-%d %H:%M} {settings.timezone} on {settings.telemetry_path}\n"
        )
        for day in ("yesterday", "today"):
            s = await call_tool(client, "telemetry_summary", day=day)
            counts = ", ".join(f"{n} {status}" for status, n in s["counts_by_status"].items())
            print(
                f"{day.capitalize():9} {s['day']}: {s['total']} tasks ({counts}), failure rate {_pct(s['failure_rate'])}"
            )
        trend = await call_tool(client, "failure_trend", days=7)
        print("\nFailure trend, last 7 days and today so far:")
        for d in trend["days"]:
            bar = "#" * round(d["failure_rate"] * 200)
            note = " (so far)" if d["partial"] else ""
            print(f"  {d['day']}  {d['failed']:>3}/{d['total']:<4} {_pct(d['failure_rate']):>6} {bar}{note}")
        top = await call_tool(client, "top_errors", days=7, limit=5)
        print(f"\nRepeated errors, last 7 days ({top['failed_tasks']} failed tasks):")
        for g in top["groups"]:
            print(f"  {g['count']:>3}x  {g['signature']}  {g['title']}")
            print(
                f"        last seen {g['last_seen']}, agents {', '.join(g['agents']) or '-'}, "
                f"tasks {', '.join(map(str, g['sample_task_ids']))}"
            )
        pinned = f"'{settings.now:%Y-%m-%d %H:%M:%S}'"
        print("\nThe seed article's SQL through query_telemetry (date('now') pinned to the night):")
        for sql in (SEED_DAILY, SEED_ERRORS):
            result = await call_tool(client, "query_telemetry", sql=sql.replace("'now'", pinned), limit=5)
            print(f"  {sql.replace(chr(10), ' ')[:90]}...")
            for row in result["rows"]:
                print(f"    {' | '.join(str(v)[:90] for v in row)}")
            if result["truncated"]:
                print("    ... (more rows)")


REAL_HOST_NOTE = """
To run the same loop with a real MCP host, point it at your repository and telemetry, e.g. Claude Code:
  claude mcp add self-improver -- self-improver serve --config self-improver.toml
and ask it to follow the `nightly_self_improvement` prompt (examples/scheduling/ has cron, systemd,
GitHub Actions and host configs).
"""


def run_demo(settings: Settings) -> int:
    with tempfile.TemporaryDirectory(prefix="self-improver-demo-") as tmp:
        workdir = Path(tmp)
        facts = build_demo_db(workdir / "telemetry.db", anchor=settings.now or DEMO_ANCHOR)
        demo = settings.model_copy(
            update={"data_dir": workdir / "data", "telemetry_db": facts.path, "now": facts.anchor}
        )
        asyncio.run(answer_nightly_questions(demo))
        opened = asyncio.run(run_fix_loop(workdir, facts.path, facts.anchor.isoformat()))
        code = run_later_night(
            workdir / "self-improver.toml", facts.path, workdir / "data", facts.anchor, opened, REPO_NAME
        )
        print(REAL_HOST_NOTE)
    return code
