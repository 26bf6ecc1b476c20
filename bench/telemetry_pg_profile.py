"""Where the time goes in the PostgreSQL engine: a cProfile of one warm call of each tool, the SQL it sent
with EXPLAIN (ANALYZE, BUFFERS) of each statement, and the cost of `_failed_page` as committed.

Runs against a database `telemetry_bench.py --engine postgres` loaded (the cluster under bench/out/pg/):

    .venv/bin/python bench/telemetry_pg_profile.py --rows 10000000 [--committed] [--tools top_errors,failed_page]
    .venv/bin/python bench/telemetry_pg_profile.py --rows 10000000 --first [--rowcmp]   # first top_errors by stage

`--first` times the first top_errors on a fresh signature store by stage (the engine's page reads, the
signature store's calls, the analysis; with the `_failed_page` stand-in of telemetry_pg.memo_known);
`--rowcmp` sends the failed-task pages' keyset as a row comparison `(created_at, id) > (k, i)` instead of
`created_at > k OR (created_at = k AND id > i)`, to measure that change without editing the engine.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import io
import pstats
import sys
import time
from pathlib import Path
from typing import Any

import telemetry_bench as tb
import telemetry_pg


def record_statements() -> list[tuple[str, Any]]:
    """Every statement psycopg sends through Connection.execute, composed, with its parameters."""
    import psycopg

    sent: list[tuple[str, Any]] = []
    original = psycopg.Connection.execute

    def execute(self: Any, query: Any, params: Any = None, **kw: Any) -> Any:
        text = query.as_string(self) if hasattr(query, "as_string") else query
        sent.append((text, params))
        return original(self, query, params, **kw)

    psycopg.Connection.execute = execute  # type: ignore[method-assign]
    return sent


def explain(url: str, text: str, params: Any) -> str:
    import psycopg

    with psycopg.connect(url, autocommit=True, options="-c TimeZone=UTC") as conn:
        rows = conn.execute(f"EXPLAIN (ANALYZE, BUFFERS, SETTINGS) {text}", params).fetchall()  # type: ignore[arg-type]
        return "\n".join(r[0] for r in rows)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=10_000_000)
    parser.add_argument("--rate", type=int, default=tb.PRODUCTION_RATE)
    parser.add_argument("--shape", default="timestamptz")
    parser.add_argument("--tools", default="summary,trend,top_errors,agent_day,failed_page,error_contains")
    parser.add_argument("--committed", action="store_true")
    parser.add_argument("--as-is", action="store_true", help="also time one _failed_page batch as committed")
    parser.add_argument("--top", type=int, default=25)
    parser.add_argument("--first", action="store_true", help="first top_errors on a fresh store, by stage")
    parser.add_argument("--rowcmp", action="store_true", help="with --first: row-comparison keyset")
    args = parser.parse_args()
    print(tb.use_committed_tree() if args.committed else tb.code_state())
    if args.first:
        first_by_stage(args)
        return

    from self_improver.tools.errors import reports
    from self_improver.tools.errors.signature_store import SignatureStore
    from self_improver.tools.telemetry import queries
    from self_improver.tools.telemetry.mapping import TelemetryMapping
    from self_improver.tools.telemetry.source import TelemetryStore, open_source

    scenario = tb.Scenario("production", args.rate)
    cluster = telemetry_pg.Cluster()
    cluster.start()
    try:
        url = telemetry_pg.load(cluster, scenario, args.rows, args.shape)
        signatures = tb.OUT / f"pg_{telemetry_pg.db_name(scenario, args.rows, args.shape)}.signatures.db"
        if not signatures.exists():
            raise SystemExit(f"{signatures} missing: run telemetry_bench.py --engine postgres first")
        if args.as_is:
            as_is(url, signatures)
        telemetry_pg.memo_known()
        store = TelemetryStore(open_source(url, TelemetryMapping.model_validate({})), "UTC", tb.ANCHOR)
        errors = reports.ErrorContext(store, SignatureStore(signatures))
        yesterday, today = tb.midnight(1).date().isoformat(), tb.midnight(0).date().isoformat()
        calls = {
            "summary": lambda: queries.telemetry_summary(store, "yesterday"),
            "trend": lambda: queries.failure_trend(store, days=7),
            "top_errors": lambda: reports.top_errors(errors, days=7),
            "agent_day": lambda: queries.find_tasks(store, agent=tb.AGENT, since=yesterday, until=today),
            "failed_page": lambda: queries.find_tasks(store, status="failed"),
            "error_contains": lambda: queries.find_tasks(store, error_contains="quota"),
        }
        loop = asyncio.new_event_loop()
        sent = record_statements()
        for name in args.tools.split(","):
            for _ in range(6):  # warm, and past psycopg's prepare threshold (5) as the timed rounds are
                loop.run_until_complete(calls[name]())
            sent.clear()
            profile = cProfile.Profile()
            started = time.perf_counter()
            profile.enable()
            loop.run_until_complete(calls[name]())
            profile.disable()
            took = (time.perf_counter() - started) * 1000
            print(f"\n===== {name}: {took:.2f} ms (under cProfile) =====")
            out = io.StringIO()
            pstats.Stats(profile, stream=out).sort_stats("cumulative").print_stats(args.top)
            print("\n".join(line for line in out.getvalue().splitlines() if line.strip())[:6000])
            statements = list(sent)
            print(f"--- {len(statements)} statements; EXPLAIN ANALYZE of each (distinct text):")
            seen = set()
            for text, params in statements:
                if text in seen or text.lstrip().upper().startswith(("BEGIN", "COMMIT")):
                    continue
                seen.add(text)
                shown = (
                    {
                        k: (v if not isinstance(v, list) or len(v) < 5 else f"[{len(v)} values]")
                        for k, v in (params or {}).items()
                    }
                    if isinstance(params, dict)
                    else params
                )
                print(f"\n{text}\n  params {shown}")
                print(explain(url, text, params))
        loop.run_until_complete(store.source.close())
        loop.close()
    finally:
        cluster.stop()


OR_KEYSET = '("created_at" > %(a_key)s OR ("created_at" = %(a_key)s AND "id" > %(a_id)s))'
ROW_KEYSET = '("created_at", "id") > (%(a_key)s, %(a_id)s)'


def first_by_stage(args: argparse.Namespace) -> None:
    import collections
    import functools

    import psycopg
    from self_improver.tools.errors import refresh, reports
    from self_improver.tools.errors.signature_store import SignatureStore
    from self_improver.tools.telemetry import postgres_source
    from self_improver.tools.telemetry.mapping import TelemetryMapping
    from self_improver.tools.telemetry.source import TelemetryStore, open_source

    telemetry_pg.memo_known()
    spent: collections.Counter[str] = collections.Counter()
    calls: collections.Counter[str] = collections.Counter()

    def timed(owner: Any, name: str, label: str) -> None:
        original = getattr(owner, name)

        @functools.wraps(original)
        def wrapper(*a: Any, **k: Any) -> Any:
            started = time.perf_counter()
            try:
                return original(*a, **k)
            finally:
                spent[label] += time.perf_counter() - started
                calls[label] += 1

        setattr(owner, name, wrapper)

    for name in ("_failed_page", "_rows_by_id", "_status_counts"):
        timed(postgres_source.PostgresTaskSource, name, f"PostgresTaskSource.{name}")
    for name in ("record", "known", "log_shapes", "signatures", "daily_counts"):
        timed(SignatureStore, name, f"SignatureStore.{name}")
    timed(refresh, "signatures_for", "refresh.signatures_for (main thread)")
    execute = psycopg.Connection.execute

    def sending(self: Any, query: Any, params: Any = None, **kw: Any) -> Any:
        if args.rowcmp and hasattr(query, "as_string"):
            text = query.as_string(self)
            if OR_KEYSET in text:
                query = text.replace(OR_KEYSET, ROW_KEYSET)
        started = time.perf_counter()
        try:
            return execute(self, query, params, **kw)
        finally:
            spent["psycopg execute, every query (server + transfer)"] += time.perf_counter() - started

    psycopg.Connection.execute = sending  # type: ignore[method-assign]
    scenario = tb.Scenario("production", args.rate)
    cluster = telemetry_pg.Cluster()
    cluster.start()
    try:
        url = telemetry_pg.load(cluster, scenario, args.rows, args.shape)
        signatures = tb.OUT / "pg_profile_first.signatures.db"
        for suffix in ("", "-wal", "-shm"):
            Path(f"{signatures}{suffix}").unlink(missing_ok=True)
        store = TelemetryStore(open_source(url, TelemetryMapping()), "UTC", tb.ANCHOR)
        ctx = reports.ErrorContext(store, SignatureStore(signatures))
        started = time.perf_counter()
        asyncio.run(reports.top_errors(ctx, days=7))
        print(
            f"first top_errors {time.perf_counter() - started:.1f} s ({'row-comparison' if args.rowcmp else 'OR'} keyset)"
        )
        for label, seconds in sorted(spent.items(), key=lambda kv: -kv[1]):
            print(f"  {label:<48} {seconds:7.2f} s  ({calls[label]:,} calls)")
        for suffix in ("", "-wal", "-shm"):
            Path(f"{signatures}{suffix}").unlink(missing_ok=True)
    finally:
        cluster.stop()


def as_is(url: str, signatures: Path) -> None:
    """One `_failed_page` batch over the refresh's overlap (two days), as committed: skip() per id."""
    from datetime import timedelta

    from self_improver.tools.errors.signature_store import SignatureStore
    from self_improver.tools.telemetry.mapping import TelemetryMapping
    from self_improver.tools.telemetry.source import open_source
    from self_improver.tools.telemetry.windows import Window

    source: Any = open_source(url, TelemetryMapping.model_validate({}))
    store = SignatureStore(signatures)
    calls = [0]

    def counted(ids: list[Any]) -> set[Any]:
        calls[0] += 1
        return store.known(ids)

    start, end = tb.ANCHOR - timedelta(days=2), tb.ANCHOR
    window = Window(start, end, start.date(), end.date())
    batch = 2000  # a tenth of refresh.BATCH: the cost is quadratic, so x100 for a full batch
    one = [0.0]

    def work(conn: Any, learned: Any) -> Any:
        ids = [r[0] for r in conn.execute(
            "SELECT id FROM tasks WHERE status = 'failed' AND created_at >= %s ORDER BY created_at, id LIMIT %s",
            (start, batch),
        ).fetchall()]  # fmt: skip
        t = time.perf_counter()
        store.known(ids)
        one[0] = time.perf_counter() - t
        t = time.perf_counter()
        page = source._failed_page(conn, learned, window, ["failed"], batch, None, counted)
        return page, time.perf_counter() - t

    (page, after), seconds = asyncio.run(source._run(work))
    print(
        f"as committed: _failed_page with batch={batch}: {seconds:.2f} s, skip() called {calls[0]:,} times "
        f"(one known() of {batch} ids: {one[0] * 1000:.1f} ms); {len(page)} texts read"
    )
    asyncio.run(source.close())


if __name__ == "__main__":
    sys.exit(main())
