"""OTLP receiver throughput: spans/s that the real OTLP/HTTP exporter gets into `self-improver collect`, against
the floor (the same task rows through a raw batched SQLite insert), and the receiver's peak memory.

1. Records `--spans` spans with the OpenTelemetry SDK in memory (not timed): agent runs of one
   `invoke_agent`, one chat call (not a task) and three `execute_tool` spans, 2% of the tool calls failing
   with a recorded exception (a Python stack trace in the span event).
2. Starts `self-improver collect` (a subprocess, fresh store, bearer token) on a free loopback port.
3. `--senders` threads, each with its own `OTLPSpanExporter` (protobuf, `--compression`), export the spans
   in batches of `--batch` (512: the SDK BatchSpanProcessor's default). The clock runs from the first
   request to the last 200; a 200 is sent once the rows are committed, so every task is stored when the
   clock stops. Throughput is also taken per second of the run (min and median), to show it is sustained.
4. The receiver's own CPU time per span (the exporter shares the machine), and its peak memory: VmHWM of
   the collect process (Linux /proc), next to its RSS after start-up.
5. Floor: the same rows (decoded and mapped from the same batches) inserted into a fresh store by a raw
   `executemany` INSERT, one transaction per batch, no HTTP, no decoding: the cost of the writes alone;
   and the same through `insert_rows`, which also stores each span once (the `otlp_spans` look-up).

    .venv/bin/python bench/otlp_bench.py                       # 100,000 spans, 4 senders
    .venv/bin/python bench/otlp_bench.py --spans 300000 --compression gzip
"""

from __future__ import annotations

import argparse
import os
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
TOKEN = "bench-token"


def record_spans(count: int) -> list[Any]:
    """`count` spans (rounded to whole agent runs) recorded by the SDK in memory, times explicit."""
    from opentelemetry import trace
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
    from opentelemetry.trace import Status, StatusCode

    memory = InMemorySpanExporter()
    provider = TracerProvider(resource=Resource({"service.name": "bench-agent", "service.version": "3.1.0"}))
    provider.add_span_processor(SimpleSpanProcessor(memory))
    tracer = provider.get_tracer("bench")
    start = int(datetime(2026, 2, 15, tzinfo=UTC).timestamp()) * 1_000_000_000
    tools = ("search_inbox", "fetch_thread", "send_reply")
    for run in range(count // 5):
        at = start + run * 1_000_000_000
        agent = tracer.start_span(
            "invoke_agent triage",
            start_time=at,
            attributes={
                "gen_ai.operation.name": "invoke_agent",
                "gen_ai.agent.name": "triage",
                "gen_ai.request.model": "claude-sonnet-4-5",
                "gen_ai.conversation.id": f"conv-{run}",
            },
        )
        with trace.use_span(agent, end_on_exit=False):
            chat = tracer.start_span(
                "chat claude-sonnet-4-5",
                start_time=at + 1000,
                attributes={"gen_ai.operation.name": "chat", "gen_ai.request.model": "claude-sonnet-4-5"},
            )
            chat.end(end_time=at + 400_000_000)
            for n, tool in enumerate(tools):
                span = tracer.start_span(
                    f"execute_tool {tool}",
                    start_time=at + (n + 4) * 100_000_000,
                    attributes={
                        "gen_ai.operation.name": "execute_tool",
                        "gen_ai.tool.name": tool,
                        "gen_ai.tool.call.id": f"call-{run}-{n}",
                    },
                )
                if (run * 3 + n) % 50 == 7:
                    try:
                        _backend(tool, run)
                    except TimeoutError as exc:
                        span.record_exception(exc)
                        span.set_status(Status(StatusCode.ERROR, str(exc)))
                span.end(end_time=at + (n + 4) * 100_000_000 + 50_000_000)
        agent.end(end_time=at + 900_000_000)
    provider.shutdown()
    return list(memory.get_finished_spans())


def _backend(tool: str, run: int) -> None:
    raise TimeoutError(f"{tool} backend timed out after {run % 30}s")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start_collect(workdir: Path, port: int, extra: Sequence[str]) -> subprocess.Popen[bytes]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SELF_IMPROVER_")}
    env["SELF_IMPROVER_HTTP_TOKEN"] = TOKEN
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "self_improver.server.cli",
            "collect",
            "--port",
            str(port),
            "--data-dir",
            str(workdir / "data"),
            "--log-level",
            "WARNING",
            *extra,
        ],
        env=env,
        stdout=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit("collect exited during start-up")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return proc
        except OSError:
            time.sleep(0.05)
    proc.kill()
    raise SystemExit("collect did not start listening")


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def memory_kib(pid: int, field: str) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    return 0


def send(
    spans: list[Any], url: str, senders: int, batch: int, compression: str
) -> tuple[float, list[float], int]:
    """Export every batch; returns (seconds, completion time of each batch, failed exports)."""
    from opentelemetry.exporter.otlp.proto.http import Compression
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
    from opentelemetry.sdk.trace.export import SpanExportResult

    batches = [spans[i : i + batch] for i in range(0, len(spans), batch)]
    next_batch = iter(range(len(batches)))
    lock = threading.Lock()
    done: list[float] = []
    failures = [0]
    mode = Compression.Gzip if compression == "gzip" else Compression.NoCompression

    def worker() -> None:
        exporter = OTLPSpanExporter(
            endpoint=url, headers={"Authorization": f"Bearer {TOKEN}"}, compression=mode, timeout=60
        )
        while True:
            with lock:
                index = next(next_batch, None)
            if index is None:
                break
            result = exporter.export(batches[index])
            with lock:
                done.append(time.perf_counter())
                failures[0] += result is not SpanExportResult.SUCCESS
        exporter.shutdown()

    threads = [threading.Thread(target=worker) for _ in range(senders)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return time.perf_counter() - started, [t - started for t in sorted(done)], failures[0]


def per_second(completions: list[float], batch_sizes: list[int]) -> list[float]:
    """Spans completed in each whole second of the run (the last, partial second left out)."""
    seconds = int(completions[-1]) if completions else 0
    buckets = [0.0] * seconds
    for moment, size in zip(completions, batch_sizes, strict=False):
        if int(moment) < seconds:
            buckets[int(moment)] += size
    return buckets


def floor_rate(spans: list[Any], batch: int, workdir: Path) -> tuple[float, float, int, float]:
    """The same task rows written without HTTP or decoding, one transaction per batch, into fresh stores
    of our schema: (raw executemany INSERT rows/s: the floor, `insert_rows` rows/s: the same plus the
    stored-once check, rows, decode + map µs per span)."""
    from opentelemetry.exporter.otlp.proto.common.trace_encoder import encode_spans
    from self_improver.tools.otlp.decode import parse_protobuf
    from self_improver.tools.otlp.mapping import map_request
    from self_improver.tools.otlp.store import INSERT_TASK, insert_rows, open_store

    bodies = [encode_spans(spans[i : i + batch]).SerializeToString() for i in range(0, len(spans), batch)]
    started = time.perf_counter()
    row_batches = [map_request(parse_protobuf(body)).rows for body in bodies]
    decode_us = (time.perf_counter() - started) / len(spans) * 1e6
    rows = sum(len(b) for b in row_batches)
    raw_batches = [[row[1:] for row in row_batch] for row_batch in row_batches]

    conn = open_store(workdir / "floor.db")
    started = time.perf_counter()
    for raw_batch in raw_batches:
        with conn:
            conn.executemany(INSERT_TASK, raw_batch)
    raw = rows / (time.perf_counter() - started)
    conn.close()

    conn = open_store(workdir / "ours.db")
    started = time.perf_counter()
    for row_batch in row_batches:
        insert_rows(conn, row_batch)
    ours = rows / (time.perf_counter() - started)
    conn.close()
    return raw, ours, rows, decode_us


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--spans", type=int, default=100_000)
    parser.add_argument("--senders", type=int, default=4, help="exporter threads sending at once")
    parser.add_argument("--batch", type=int, default=512, help="spans per export request")
    parser.add_argument("--compression", choices=["none", "gzip"], default="none")
    parser.add_argument("--queue-spans", type=int, default=50_000, help="the receiver's queue (collect flag)")
    args = parser.parse_args()

    started = time.perf_counter()
    spans = record_spans(args.spans)
    print(f"recorded {len(spans):,} spans in {time.perf_counter() - started:.1f} s", file=sys.stderr)
    with tempfile.TemporaryDirectory(prefix="otlp-bench-") as tmp:
        workdir = Path(tmp)
        port = free_port()
        proc = start_collect(workdir, port, ["--queue-spans", str(args.queue_spans)])
        try:
            rss_idle = memory_kib(proc.pid, "VmRSS")
            cpu_before = cpu_seconds(proc.pid)
            exporter_before = time.process_time()
            seconds, completions, failures = send(
                spans, f"http://127.0.0.1:{port}/v1/traces", args.senders, args.batch, args.compression
            )
            receiver_cpu = cpu_seconds(proc.pid) - cpu_before
            exporter_cpu = time.process_time() - exporter_before
            peak = memory_kib(proc.pid, "VmHWM")
        finally:
            proc.terminate()
            proc.wait(30)
        with sqlite3.connect(workdir / "data" / "telemetry.db") as conn:
            stored = conn.execute("SELECT count(*) FROM tasks").fetchone()[0]
        sizes = [min(args.batch, len(spans) - i) for i in range(0, len(spans), args.batch)]
        seconds_rates = per_second(completions, sizes)
        floor, ours, rows, decode_us = floor_rate(spans, args.batch, workdir)

    rate = len(spans) / seconds
    task_rate = stored / seconds
    print("\n| measure | value |\n|---|---|")
    print(f"| spans sent (tasks stored) | {len(spans):,} ({stored:,}; failed exports: {failures}) |")
    print(f"| senders x batch, compression | {args.senders} x {args.batch}, {args.compression} |")
    print(f"| receiver: spans/s (tasks/s) | {rate:,.0f} ({task_rate:,.0f}) in {seconds:.1f} s |")
    if seconds_rates:
        print(
            f"| receiver: spans/s per second of the run, min / median | "
            f"{min(seconds_rates):,.0f} / {statistics.median(seconds_rates):,.0f} |"
        )
    print(f"| floor: raw batched INSERT of the same rows, tasks/s | {floor:,.0f} ({rows:,} rows) |")
    print(f"| the same rows through insert_rows (stored-once check), tasks/s | {ours:,.0f} |")
    print(f"| receiver tasks/s / floor | {task_rate / floor:.2f} |")
    print(
        f"| receiver CPU per span (all of it: HTTP, decode, map, write) | {receiver_cpu / len(spans) * 1e6:.1f} µs "
        f"(= {len(spans) / receiver_cpu:,.0f} spans per CPU-second) |"
    )
    print(f"| of which decode + map, µs per span | {decode_us:.1f} |")
    print(
        f"| the exporters (this process: encode + HTTP) CPU per span | {exporter_cpu / len(spans) * 1e6:.1f} µs |"
    )
    print(
        f"| receiver RSS after start-up / peak (VmHWM) | {rss_idle / 1024:.0f} MiB / {peak / 1024:.0f} MiB |"
    )
    print(f"| CPUs | {os.cpu_count()} |")
    if stored != rows or failures:
        raise SystemExit(f"stored {stored} tasks, expected {rows}; {failures} failed exports")


if __name__ == "__main__":
    main()
