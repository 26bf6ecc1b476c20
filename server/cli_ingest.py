"""`self-improver ingest` and `self-improver collect`: bring tasks into self-improver's own store."""

from __future__ import annotations

import argparse
import sys

from .config import Settings


def cmd_collect(args: argparse.Namespace, settings: Settings) -> int:
    from .otlp_receiver import serve_collect

    if args.queue_spans < 1 or args.max_body_mb <= 0:
        print("self-improver collect: --queue-spans and --max-body-mb must be more than 0", file=sys.stderr)
        return 2
    from .http import PortUnavailable, bind_port

    try:
        bind_port(args.host, args.port).close()  # a port in use is said plainly, before anything starts
    except PortUnavailable as exc:
        print(f"self-improver collect: {exc}", file=sys.stderr)
        return 2
    return serve_collect(
        settings, args.host, args.port, args.queue_spans, max(1, int(args.max_body_mb * 1024 * 1024))
    )


def cmd_ingest(args: argparse.Namespace, settings: Settings) -> int:
    """Import tasks (JSON Lines, ours) or spans (OTLP JSON) into self-improver's own store, never a user's."""
    from ..tools.support.problems import ToolInputError
    from ..tools.telemetry.own_store import write_refusal
    from .progress import ProgressBar

    otlp = args.format == "otlp"
    if otlp:
        from ..tools.otlp.files import ingest_otlp as ingest
        from ..tools.otlp.store import refusal

        refused = refusal(settings.telemetry_location, settings.telemetry)
    else:
        from ..tools.telemetry.ingest import ingest_jsonl as ingest

        refused = write_refusal(settings.telemetry_location, settings.telemetry, "imported tasks")
    if refused is not None:
        print(f"self-improver ingest: {refused}", file=sys.stderr)
        return 2
    target = settings.telemetry_path
    bar = ProgressBar("ingest")
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        report = ingest(args.file, target, progress=bar.update)
    except ToolInputError as exc:
        print(f"self-improver ingest: {exc}", file=sys.stderr)
        return 2
    except OSError as exc:
        print(f"self-improver ingest: cannot write {target}: {exc.strerror or exc}", file=sys.stderr)
        return 2
    finally:
        bar.close()
    for number, reason in report.bad_lines[:50]:
        print(f"{args.file}:{number}: skipped: {reason}", file=sys.stderr)
    if len(report.bad_lines) > 50:
        print(f"... and {len(report.bad_lines) - 50} more bad lines", file=sys.stderr)
    spans = f" from {report.spans} span(s)" if otlp else ""
    stored = f" ({report.duplicates} already stored, {report.not_tasks} span(s) not tasks)" if otlp else ""
    print(
        f"imported {report.imported} task(s){spans} into {target}{stored}; "
        f"{len(report.bad_lines)} bad line(s) skipped",
        file=sys.stderr,
    )
    from ..tools.telemetry.day_counts import DayCountCache

    DayCountCache(settings.data_dir / "day_counts.db").clear()  # imported rows may fall on counted days
    if report.stopped:
        print(f"self-improver ingest: stopped early: {report.stopped}", file=sys.stderr)
        return 1
    stored_any = report.imported or getattr(report, "duplicates", 0)
    return 1 if report.bad_lines and not stored_any else 0
