"""`self-improver nightly` (the nightly run, or a dry run of it) and `self-improver deploy` (record and
list when releases went live)."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from datetime import UTC, datetime
from functools import partial
from pathlib import Path
from typing import Any

from .config import Settings


def command_group(
    sub: Any, name: str, help: str, common: argparse.ArgumentParser
) -> Callable[..., argparse.ArgumentParser]:
    """Adds `self-improver NAME`, its chosen subcommand in `args.NAME_command`; returns `add(name, help=...)`,
    which adds a subcommand that takes the settings flags of `common`."""
    group = sub.add_parser(name, help=help).add_subparsers(dest=f"{name}_command", required=True)
    return partial(group.add_parser, parents=[common])


def add_nightly_parsers(sub: Any, common: argparse.ArgumentParser) -> None:
    nightly = sub.add_parser(
        "nightly",
        parents=[common],
        help="the nightly run: cluster, verify merged fixes, remember, write the report; then the agent",
    )
    nightly.add_argument(
        "--agent-cmd",
        help='host agent command to start afterwards, e.g. "claude -p --mcp-config {mcp_config}" '
        "({prompt_file}, {mcp_config} are replaced; the prompt is also stdin); also SELF_IMPROVER_AGENT_CMD",
    )
    nightly.add_argument(
        "--agent-timeout", type=float, help="seconds the agent may run (default 1800), then it is ended"
    )
    nightly.add_argument("--no-agent", action="store_true", help="do not start the agent even if configured")
    nightly.add_argument(
        "--chart-days", type=int, default=28, help="days shown in the report's charts (default 28)"
    )

    nightly.add_argument(
        "--dry-run",
        action="store_true",
        help="run every step but write nothing outside the data dir: no agent, no pull request, revert or "
        "notification; the report says what would have been done",
    )

    deploy = command_group(sub, "deploy", "record and list when releases went live", common)
    record = deploy(
        "record",
        help="record that a release went live (measure_impact and regressions use it)",
        description="Record a deploy in the data dir (deploys.db). With --commit, a failure counts against a "
        "merged fix only on releases whose commit contains the fix's merge commit.",
    )
    record.add_argument("--release", required=True, help="the release name, as tasks carry it (e.g. v1.4.2)")
    record.add_argument("--commit", help="the commit that was deployed (a SHA)")
    record.add_argument("--at", help="when it went live, ISO 8601 (default: now)")
    listing = deploy("list", help="the known deploys, newest first (recorded and first seen)")
    listing.add_argument("--limit", type=int, default=20, help="most deploys to print (default 20, max 200)")
    listing.add_argument("--json", action="store_true", help="print JSON")


def cmd_nightly(args: argparse.Namespace, settings: Settings) -> int:
    import os

    from ..tools.nightly.console import NightlyConsole
    from .nightly import Observers, run_nightly

    if not 7 <= args.chart_days <= 90:
        print("self-improver nightly: --chart-days must be from 7 to 90", file=sys.stderr)
        return 2
    updates: dict[str, Any] = {}
    if args.agent_cmd is not None:
        updates["agent_cmd"] = args.agent_cmd
    if args.agent_timeout is not None:
        if args.agent_timeout <= 0:
            print("self-improver nightly: --agent-timeout must be more than 0 seconds", file=sys.stderr)
            return 2
        updates["agent_timeout_seconds"] = args.agent_timeout
    if args.no_agent:
        updates["agent_cmd"] = None
    settings = settings.model_copy(update=updates)
    console = NightlyConsole()
    config_file = args.config or os.environ.get("SELF_IMPROVER_CONFIG")
    try:
        result = run_nightly(
            settings,
            config_file=Path(config_file) if config_file else None,
            chart_days=args.chart_days,
            observers=Observers(step=console.step, agent=console.agent, note=console.note),
            dry_run=args.dry_run,
        )
    except KeyboardInterrupt:
        print("\nself-improver nightly: stopped; the run is recorded as failed", file=sys.stderr)
        return 130
    console.agent_done()
    print(f"self-improver: {result.message}", file=sys.stderr)
    if result.report_path is not None:
        print(result.report_path)
    return result.exit_code


def cmd_deploy(args: argparse.Namespace, settings: Settings) -> int:
    from ..tools.deploys.store import DeployStore

    store = DeployStore.in_dir(settings.data_dir)
    if args.deploy_command == "record":
        return _record_deploy(args, settings, store)
    return _list_deploys(args, settings, store)


def _record_deploy(args: argparse.Namespace, settings: Settings, store: Any) -> int:
    from ..tools.support.git_runner import check_ref
    from ..tools.support.problems import ToolInputError
    from ..tools.telemetry.windows import parse_timestamp, utc_text

    release = args.release.strip()
    now = settings.now or datetime.now(UTC)
    try:
        if not release or len(release) > 200:
            raise ToolInputError("--release must be 1 to 200 characters")
        commit = check_ref(args.commit.strip(), "--commit") if args.commit else None
        at = parse_timestamp(args.at, settings_tz(settings), "--at") if args.at else now
    except ToolInputError as exc:
        print(f"self-improver deploy record: {exc}", file=sys.stderr)
        return 2
    new = store.record(release, at, commit, now)
    what = "recorded" if new else "updated"
    print(f"{what} deploy of {release} at {utc_text(at)} UTC" + (f" (commit {commit})" if commit else ""))
    return 0


def _list_deploys(args: argparse.Namespace, settings: Settings, store: Any) -> int:
    import asyncio

    from ..tools.deploys.listing import list_deploys
    from ..tools.support.problems import ToolInputError, UnavailableError
    from ..tools.telemetry.source import TelemetryStore, open_source

    if not 1 <= args.limit <= 200:
        print("self-improver deploy list: --limit must be from 1 to 200", file=sys.stderr)
        return 2

    async def listed() -> Any:
        telemetry = TelemetryStore(
            open_source(settings.telemetry_location, settings.telemetry), settings.timezone, settings.now
        )
        try:
            return await list_deploys(store, telemetry, args.limit)
        except (UnavailableError, ToolInputError):  # no telemetry to learn first sightings from
            return await list_deploys(store, None, args.limit)
        finally:
            await telemetry.source.close()

    result = asyncio.run(listed())
    if args.json:
        print(json.dumps(result.model_dump(mode="json"), indent=2))
        return 0
    for d in result.deploys:
        commit = f" {d.commit}" if d.commit else ""
        print(f"{d.deployed_at}  {d.release}{commit}  ({d.source.replace('_', ' ')})")
    if result.note:
        print(result.note, file=sys.stderr)
    if result.has_more:
        print(f"... {result.total - result.count} more; raise --limit", file=sys.stderr)
    return 0


def settings_tz(settings: Settings) -> Any:
    from zoneinfo import ZoneInfo

    return ZoneInfo(settings.timezone)
