"""`self-improver cluster`: group error messages from a file or stdin, without any database.

Input is plain text (one message per line) or JSONL (`--jsonl`: objects with a `message` or `error`
field and optional `traceback` and `error_type`). Bytes are decoded as UTF-8 with replacement, so binary
or mis-encoded input never stops a run. Output: one signature per non-blank input line on stdout, then a
summary table (signature, count, title) on stderr.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import Counter
from typing import Any

from .clusterer import cluster_errors
from .models import ErrorSignature
from .redact import redact_secrets

EXIT_OK = 0
EXIT_USAGE = 2
MAX_REPORTED_BAD_LINES = 10


class _InputError(Exception):
    """Input the command cannot use; the message says what to fix."""


def run_cluster_cli(argv: list[str]) -> int:
    """Run the command with `argv` (without the program name); returns the exit code."""
    parser = _parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exit_:
        return int(exit_.code or 0)
    try:
        raw = _read(args.file)
        errors = _parse_jsonl(raw) if args.jsonl else _parse_lines(raw)
    except _InputError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    signatures = cluster_errors(errors, source_root=args.source_root)
    sys.stdout.write("".join(f"{s.signature}\n" for s in signatures))
    sys.stdout.flush()
    _print_summary(signatures, args.top)
    return EXIT_OK


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="self-improver cluster",
        description="Print one error signature per input line, then a summary of the groups on stderr.",
    )
    parser.add_argument("file", help="input file, or - for stdin")
    parser.add_argument(
        "--jsonl", action="store_true", help="JSON lines with 'message' or 'error', optional 'traceback'"
    )
    parser.add_argument("--source-root", default=None, help="directory of the application's own code")
    parser.add_argument("--top", type=int, default=20, help="groups shown in the summary (default 20)")
    return parser


def _read(path: str) -> str:
    try:
        if path == "-":
            data = sys.stdin.buffer.read()
        else:
            with open(path, "rb") as handle:
                data = handle.read()
    except OSError as exc:
        reason = exc.strerror or str(exc)
        raise _InputError(f"cannot read {path}: {reason}") from exc
    return data.decode("utf-8", errors="replace")


def _parse_lines(text: str) -> list[tuple[str, str | None, str | None]]:
    return [(line, None, None) for line in text.splitlines() if line.strip()]


def _parse_jsonl(text: str) -> list[tuple[str, str | None, str | None]]:
    errors: list[tuple[str, str | None, str | None]] = []
    bad: list[str] = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            errors.append(_record(json.loads(line)))
        except (ValueError, _InputError) as exc:
            bad.append(f"line {number}: {exc}")
    if bad:
        shown = bad[:MAX_REPORTED_BAD_LINES]
        more = len(bad) - len(shown)
        suffix = f"\n  ... and {more} more bad lines" if more else ""
        raise _InputError(f"{len(bad)} bad JSON line(s):\n  " + "\n  ".join(shown) + suffix)
    return errors


def _record(value: Any) -> tuple[str, str | None, str | None]:
    if not isinstance(value, dict):
        raise _InputError("expected a JSON object")
    message = value.get("message", value.get("error"))
    if message is None and "message" not in value and "error" not in value:
        raise _InputError("no 'message' or 'error' field")
    traceback, error_type = value.get("traceback"), value.get("error_type")
    return (
        message if isinstance(message, str) else ("" if message is None else json.dumps(message)),
        traceback if isinstance(traceback, str) else None,
        error_type if isinstance(error_type, str) else None,
    )


def _print_summary(signatures: list[ErrorSignature], top: int) -> None:
    counts = Counter(s.signature for s in signatures)
    titles: dict[str, str] = {}
    for analysed in signatures:
        titles.setdefault(analysed.signature, analysed.title)
    ranked = sorted(counts.items(), key=lambda item: (-item[1], item[0]))
    width = max([len(str(n)) for _, n in ranked[:top]] + [5])
    lines = [f"{'signature':<12}  {'count':>{width}}  title"]
    for signature_id, count in ranked[: max(top, 0)]:
        lines.append(f"{signature_id}  {count:>{width}}  {redact_secrets(titles[signature_id])}")
    if len(ranked) > top:
        lines.append(f"... {len(ranked) - top} more groups")
    lines.append(f"{len(signatures)} messages, {len(ranked)} groups")
    print("\n".join(lines), file=sys.stderr)
