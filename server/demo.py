"""`self-improver demo`: build the seed article's night in a folder and answer its questions.

The answers come through the MCP server itself (an in-process client calling the tools), so the
demo shows exactly what a host would see at 00:17 on Feb 16, 2026. Everything it makes (telemetry,
the repo copy with its fix branches, memory, the nightly report and charts) stays in its folder,
`<data dir>/demo` unless `--dir` says otherwise; a run replaces the previous demo there.
"""

from __future__ import annotations

import asyncio
import shutil
import sys
import uuid
from pathlib import Path

from mcp import Client

from ..examples.demo_telemetry import DEMO_ANCHOR, build_demo_db
from ..tools.telemetry.mapping import TelemetryMapping
from .app import build_server
from .config import Settings, default_data_dir
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


EXAMPLE_CONFIG = Path(__file__).resolve().parent.parent / "examples" / "self-improver.toml"
MARKER = ".self-improver-demo"


def real_host_note() -> str:
    return f"""
To run the same loop on your own system, start from the commented example config (every section:
telemetry mapping, repos, memory, auto-merge, limits, sandbox):
  cp {EXAMPLE_CONFIG} self-improver.toml      # then edit the paths and names
  self-improver telemetry check --config self-improver.toml
and point an MCP host at the server, e.g. Claude Code:
  claude mcp add self-improver -- self-improver serve --config self-improver.toml
then ask it to follow the `nightly_self_improvement` prompt (examples/scheduling/ has cron, systemd,
GitHub Actions and host configs).
"""


def default_demo_dir() -> Path:
    return default_data_dir() / "demo"


def prepare_demo_dir(folder: Path) -> Path | None:
    """An empty folder for this run: the previous demo in it is removed; any other content is refused."""
    folder = folder.expanduser().resolve()
    if folder.exists() and not folder.is_dir():
        return None
    if folder.is_dir() and any(folder.iterdir()):
        if not (folder / MARKER).is_file():
            return None
        # Moved aside in one step, then deleted: a run stopped half-way, or another demo racing this one,
        # never leaves a half-removed folder without its marker that every later demo would refuse.
        aside = folder.with_name(f".{folder.name}.old-{uuid.uuid4().hex}")
        folder.rename(aside)
        shutil.rmtree(aside, ignore_errors=True)
    folder.mkdir(parents=True, exist_ok=True)
    (folder / MARKER).write_text("made by `self-improver demo`; the next demo run replaces this folder\n")
    return folder


def _demo_settings(settings: Settings, workdir: Path, telemetry_db: Path) -> Settings:
    """The in-process server's settings: the demo's own data, whatever the environment configures."""
    return settings.model_copy(
        update={
            "data_dir": workdir / "data",
            "telemetry_db": str(telemetry_db),
            "telemetry": TelemetryMapping(),
            "timezone": "UTC",
            "toolsets": None,
            "read_only": False,
            "memory_url": None,
            "embedding": "offline",
            "repos": [],
        }
    )


def run_demo(settings: Settings, folder: Path | None = None) -> int:
    target = folder or default_demo_dir()
    workdir = prepare_demo_dir(target)
    if workdir is None:
        print(
            f"self-improver demo: {target} is not empty and is not an earlier demo's folder; pass --dir with a "
            "new or empty folder",
            file=sys.stderr,
        )
        return 2
    print(f"The demo works in {workdir} (kept after the run; the next demo replaces it).\n")
    facts = build_demo_db(workdir / "telemetry.db", anchor=settings.now or DEMO_ANCHOR)
    demo = _demo_settings(settings, workdir, facts.path).model_copy(update={"now": facts.anchor})
    asyncio.run(answer_nightly_questions(demo))
    opened = asyncio.run(run_fix_loop(workdir, facts.path, facts.anchor.isoformat()))
    later = run_later_night(
        workdir / "self-improver.toml", facts.path, workdir / "data", facts.anchor, opened, REPO_NAME
    )
    print(f"\nEverything the demo made is in {workdir}:")
    if later.report_path is not None:
        print(f"  report  {later.report_path}")
    for chart in later.chart_paths:
        print(f"  chart   {chart}")
    print(f"  repo    {workdir / REPO_NAME} (the fix branches: git -C {workdir / REPO_NAME} branch -a)")
    print(f"  data    {workdir / 'telemetry.db'} (telemetry), {workdir / 'data'} (signatures, memory, runs)")
    print(real_host_note())
    return later.exit_code
