"""The `self-improver` command: serve, collect, demo, ingest, telemetry check, config show, and the feature commands.

Under stdio, stdout carries the MCP protocol, so everything else (logs, progress) goes to stderr.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from .cli_ingest import cmd_collect, cmd_ingest
from .cli_nightly import add_nightly_parsers, cmd_deploy, cmd_nightly, command_group
from .config import Settings, load_settings
from .version import package_version

log = logging.getLogger("self_improver")


def _settings_flags() -> argparse.ArgumentParser:
    """Flags every subcommand understands; each wins over env vars and the config file."""
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--config", type=Path, help="TOML config file (also SELF_IMPROVER_CONFIG)")
    common.add_argument(
        "--telemetry-db", help="SQLite file or postgresql://user@host:port/db URL of your task runs"
    )
    common.add_argument("--data-dir", type=Path, help="where self-improver keeps its own state")
    common.add_argument("--timezone", help="IANA timezone for day boundaries (default UTC)")
    common.add_argument("--now", help="pin the clock to this ISO time (replays, demos)")
    common.add_argument("--log-level", choices=["DEBUG", "INFO", "WARNING", "ERROR"])
    common.add_argument("--memory-url", help="chroma server for memory, http://host:port (default: embedded)")
    common.add_argument(
        "--embedding", choices=["auto", "offline", "minilm"], help="memory embedding (default auto)"
    )
    return common


def port_number(text: str) -> int:
    """An --port value: a whole number from 1 to 65535 (argparse says so, naming the flag)."""
    try:
        port = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a port number from 1 to 65535; got {text!r}") from None
    if not 1 <= port <= 65535:
        raise argparse.ArgumentTypeError(f"must be a port number from 1 to 65535; got {port}")
    return port


def _demo_flags() -> argparse.ArgumentParser:
    """The demo's own flags: it reads no config and keeps its state in its folder, so the others do not apply."""
    demo = argparse.ArgumentParser(add_help=False)
    demo.add_argument(
        "--dir",
        type=Path,
        help="folder for the demo's telemetry, repo copy, memory, report and charts; kept after the run, "
        "replaced by the next demo (default: <data dir>/demo, ~/.local/share/self-improver/demo)",
    )
    demo.add_argument("--now", help="the demo night's clock, ISO time (default 2026-02-16T00:17:00Z)")
    demo.add_argument("--log-level", choices=["DEBUG", "INFO", "WARNING", "ERROR"])
    return demo


def build_parser() -> argparse.ArgumentParser:
    common = _settings_flags()
    parser = argparse.ArgumentParser(
        prog="self-improver", description="MCP server that helps an agent improve the system it runs in."
    )
    parser.add_argument("--version", action="version", version=f"self-improver {package_version()}")
    sub = parser.add_subparsers(dest="command", required=True)

    serve = sub.add_parser("serve", parents=[common], help="run the MCP server (stdio by default)")
    serve.add_argument("--http", action="store_true", help="serve streamable HTTP at /mcp instead of stdio")
    serve.add_argument("--host", default="127.0.0.1", help="HTTP bind address (default 127.0.0.1)")
    serve.add_argument("--port", type=port_number, default=8765, help="HTTP port (default 8765)")
    serve.add_argument("--toolsets", help="comma-separated toolsets to expose (default: all)")
    serve.add_argument(
        "--read-only", action="store_true", default=None, help="expose only tools that write nothing"
    )

    sub.add_parser(
        "demo",
        parents=[_demo_flags()],
        help="the whole nightly loop on demo data, in a folder that is kept",
        description="Build the seed article's night, answer its questions over MCP, fix two errors on a copy "
        "of the example repo, open pull requests on the local provider, and judge the fixes three weeks "
        "later. Works on its own data in its own folder: your config file and telemetry are not used.",
    )

    ingest = sub.add_parser(
        "ingest", parents=[common], help="import tasks from a JSON Lines file or an OTLP JSON trace file"
    )
    ingest.add_argument("file", type=Path)
    ingest.add_argument(
        "--format",
        choices=["jsonl", "otlp"],
        default="jsonl",
        help="jsonl: one task per line (default); otlp: OTLP JSON, one ExportTraceServiceRequest per line, "
        "as the OpenTelemetry Collector's file exporter writes it",
    )

    collect = sub.add_parser(
        "collect",
        parents=[common],
        help="receive OpenTelemetry traces (OTLP/HTTP POST /v1/traces) into the telemetry store",
        description="Receive OTLP/HTTP traces (protobuf or JSON, gzip) and store GenAI agent and tool spans "
        "as tasks. Same token rules as serve --http: SELF_IMPROVER_HTTP_TOKEN, required off loopback.",
    )
    collect.add_argument("--host", default="127.0.0.1", help="bind address (default 127.0.0.1)")
    collect.add_argument(
        "--port", type=port_number, default=4318, help="port (default 4318, OTLP/HTTP's usual port)"
    )
    collect.add_argument(
        "--queue-spans",
        type=int,
        default=50_000,
        help="task spans waiting to be written, at most; beyond, requests get 503 (default 50000)",
    )
    collect.add_argument(
        "--max-body-mb", type=float, default=16.0, help="largest request body, compressed or not (default 16)"
    )

    # These two hand their own arguments (and --help) to the feature's command line.
    sub.add_parser(
        "cluster", add_help=False, help="print one error signature per message: FILE | - [--jsonl]"
    )
    sub.add_parser(
        "memory", add_help=False, parents=[common], help="memory maintenance: download-model | reindex"
    )

    add_nightly_parsers(sub, common)

    telemetry = command_group(sub, "telemetry", "check how your task table reads", common)
    check = telemetry(
        "check",
        help="doctor for your database: table, columns, statuses, times, index, a [telemetry] block to paste",
        description="Read the configured table (read-only) and report what the [telemetry] mapping sees. "
        "Exit 0: reads as configured, nothing wrong; 1: reads, with warnings; 2: table or required "
        "columns missing.",
    )
    check.add_argument("--json", action="store_true", help="print the report as JSON")

    config = command_group(sub, "config", "inspect configuration", common)
    config("show", help="print the effective settings, secrets masked")
    return parser


def settings_from(args: argparse.Namespace) -> Settings:
    return load_settings(
        getattr(args, "config", None),
        telemetry_db=getattr(args, "telemetry_db", None),
        data_dir=getattr(args, "data_dir", None),
        timezone=getattr(args, "timezone", None),
        now=getattr(args, "now", None),
        log_level=getattr(args, "log_level", None),
        toolsets=getattr(args, "toolsets", None),
        read_only=getattr(args, "read_only", None),
        memory_url=getattr(args, "memory_url", None),
        embedding=getattr(args, "embedding", None),
    )


def configure_logging(level: str) -> None:
    logging.basicConfig(
        stream=sys.stderr, level=level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )


PASSTHROUGH = {"cluster", "memory"}


def main(argv: Sequence[str] | None = None) -> int:
    try:
        code = _run(argv)
        sys.stdout.flush()  # inside the try: a reader that went away shows up here, not at exit
        return code
    except BrokenPipeError:
        # `self-improver config show | head`: the reader has what it wanted; stop quietly, like any Unix
        # tool, with the status of a process ended by SIGPIPE (128 + 13).
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())  # nothing more can reach the pipe, not even at exit
        return 141


def _run(argv: Sequence[str] | None) -> int:
    parser = build_parser()
    args, extra = parser.parse_known_args(argv)
    if extra and args.command not in PASSTHROUGH:
        parser.error(f"unrecognized arguments: {' '.join(extra)}")
    args.args = extra
    try:
        settings = settings_from(args)
    except ValueError as exc:
        print(f"self-improver: invalid settings: {exc}", file=sys.stderr)
        return 2
    configure_logging(settings.log_level)
    handler = COMMANDS[args.command]
    return int(handler(args, settings) or 0)


def cmd_serve(args: argparse.Namespace, settings: Settings) -> int:
    from .app import build_server
    from .http import PortUnavailable, serve_http

    try:
        server = build_server(settings)
    except ValueError as exc:
        print(f"self-improver: {exc}", file=sys.stderr)
        return 2
    if args.http:
        token = settings.http_token.get_secret_value() if settings.http_token else None
        try:
            serve_http(server, args.host, args.port, token, settings)
        except PortUnavailable as exc:
            print(f"self-improver serve: {exc}", file=sys.stderr)
            return 2
    else:
        server.run("stdio")
    return 0


def cmd_config(args: argparse.Namespace, settings: Settings) -> int:
    print(json.dumps(settings.masked(), indent=2, default=str))
    return 0


def cmd_telemetry(args: argparse.Namespace, settings: Settings) -> int:
    import asyncio

    from ..tools.support.problems import UnavailableError
    from ..tools.telemetry.doctor import check_telemetry

    try:
        report = asyncio.run(check_telemetry(settings.telemetry_location, settings.telemetry))
    except UnavailableError as exc:
        print(f"self-improver telemetry check: {exc}", file=sys.stderr)
        return 2
    if args.json:
        print(json.dumps(report.to_json(), indent=2, default=str))
    else:
        sys.stdout.write(report.render())
    return report.exit_code


def cmd_demo(args: argparse.Namespace, settings: Settings) -> int:
    from .demo import run_demo

    return run_demo(settings, args.dir)


def cmd_cluster(args: argparse.Namespace, settings: Settings) -> int:
    from ..tools.errors.cli import run_cluster_cli

    return run_cluster_cli(list(args.args))


def cmd_memory(args: argparse.Namespace, settings: Settings) -> int:
    from ..tools.memory.cli import run_memory_cli

    return run_memory_cli(list(args.args), settings)


COMMANDS: dict[str, Any] = {
    "serve": cmd_serve,
    "config": cmd_config,
    "telemetry": cmd_telemetry,
    "ingest": cmd_ingest,
    "collect": cmd_collect,
    "demo": cmd_demo,
    "cluster": cmd_cluster,
    "memory": cmd_memory,
    "nightly": cmd_nightly,
    "deploy": cmd_deploy,
}


if __name__ == "__main__":
    raise SystemExit(main())
