"""The PostgreSQL case of the telemetry benchmark (`telemetry_bench.py --engine postgres|both`).

A throwaway PostgreSQL cluster kept under bench/out/pg/ (Debian's binaries, as tests/pg_server.py starts
them; under root the cluster belongs to the `postgres` user), tuned for a benchmark, with one database per
store: the SQLite store's rows streamed in with COPY, created_at as timestamptz (the recommended type) or
bigint epoch seconds, the recommended indexes (created_at, status), (status, created_at), (agent,
created_at), then VACUUM ANALYZE. Databases are kept between runs (a `bench_loaded` table marks a
finished load); `--pg-rebuild` drops them.

Per tool it times, on the same server and database, median of interleaved rounds:

* ours   - the domain function through `TelemetryStore(open_source(url, TelemetryMapping()), "UTC", ANCHOR)`;
* seed   - the seed article's SQL in PostgreSQL's dialect: a function on the column
           (`created_at::date = (now - 1 day)::date`), which no index serves;
* limit  - the fastest hand-written query we could write for the same answer on the same indexes;

and, from pg_stat_statements, what ours sent for one call: statements, rows returned to Python and the
server's execution time (so "never pulls whole tables into Python" is a figure, not a claim).
"""

from __future__ import annotations

import asyncio
import functools
import os
import shutil
import socket
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import telemetry_bench as tb

PG_DIR = tb.OUT / "pg"
DATA = PG_DIR / "data"
SETTINGS = {  # a benchmark server: durability off, memory for a 10M-row table and its indexes
    "shared_buffers": "512MB",
    "work_mem": "64MB",
    "maintenance_work_mem": "512MB",
    "fsync": "off",
    "synchronous_commit": "off",
    "full_page_writes": "off",
    "max_wal_size": "4GB",
    "wal_level": "minimal",  # COPY into a table created in the same transaction skips the WAL
    "max_wal_senders": "0",
    "shared_preload_libraries": "pg_stat_statements,auto_explain",
}
COLUMNS = (
    "id", "status", "error", "created_at", "agent", "task_name", "started_at", "finished_at",
    "duration_ms", "error_type", "traceback", "metadata", "release",
)  # fmt: skip
TABLE = """
CREATE TABLE tasks (
    id          bigint NOT NULL,
    status      text NOT NULL,
    error       text,
    created_at  {created} NOT NULL,
    agent       text,
    task_name   text,
    started_at  timestamptz,
    finished_at timestamptz,
    duration_ms integer,
    error_type  text,
    traceback   text,
    metadata    text,
    release     text
)
"""
INDEXES = (
    "ALTER TABLE tasks ADD PRIMARY KEY (id)",
    "CREATE INDEX idx_tasks_created_at ON tasks (created_at, status)",
    "CREATE INDEX idx_tasks_status_created_at ON tasks (status, created_at)",
    "CREATE INDEX idx_tasks_agent_created_at ON tasks (agent, created_at)",
)
SHAPES = {"timestamptz": "timestamptz", "epoch": "bigint"}


# -- a stand-in for a one-line fix in PostgresTaskSource._failed_page ---------------------------------------------
# `wanted = [i for i in ids if i not in (skip(ids) if skip else set())]` calls `skip` (SignatureStore.known:
# a SQLite lookup of the whole batch, 40 queries of 500 ids) once per id: O(batch^2), about 20,000 calls a
# batch of 20,000. With `--pg-memo-known` (or BENCH_MEMO_KNOWN=1 in a child) `known` answers a repeated call
# on the same list from a one-entry memo, which is what computing `skip(ids)` once before the comprehension
# gives; everything else runs as committed.
def memo_known() -> None:
    from self_improver.tools.errors.signature_store import SignatureStore

    original = SignatureStore.known
    if getattr(original, "bench_memo", False):
        return

    def known(self: Any, task_ids: Any) -> set[Any]:
        last = getattr(self, "_bench_last_known", None)
        if last is not None and last[0] is task_ids:
            return last[1]  # type: ignore[no-any-return]
        found = original(self, task_ids)
        self._bench_last_known = (task_ids, found)
        return found

    known.bench_memo = True  # type: ignore[attr-defined]
    SignatureStore.known = known  # type: ignore[method-assign]


def memo_requested() -> bool:
    return os.environ.get("BENCH_MEMO_KNOWN") == "1"


# -- the cluster ----------------------------------------------------------------------------------------------
def _bin() -> Path:
    found = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"), reverse=True)
    if found:
        return found[0].parent
    initdb = shutil.which("initdb")
    if not initdb:
        raise SystemExit("no PostgreSQL server binaries: apt-get install postgresql")
    return Path(initdb).parent


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Cluster:
    def __init__(self) -> None:
        self.owner = "postgres" if os.geteuid() == 0 else None
        self.superuser = self.owner or os.environ.get("USER") or "postgres"
        self.port = 0
        self.bin = _bin()

    def _run(self, *command: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        argv = [str(self.bin / command[0]), *command[1:]]
        if self.owner:
            argv = ["runuser", "-u", self.owner, "--", *argv]
        return subprocess.run(argv, check=check, capture_output=True, text=True)

    def url(self, db: str = "postgres") -> str:
        return f"postgresql://{self.superuser}@127.0.0.1:{self.port}/{db}"

    def start(self) -> None:
        if not (DATA / "PG_VERSION").exists():
            shutil.rmtree(PG_DIR, ignore_errors=True)
            PG_DIR.mkdir(parents=True)
            if self.owner:
                shutil.chown(PG_DIR, self.owner)
            self._run(
                "initdb", "-D", str(DATA), "-U", self.superuser, "--auth=trust", "-E", "UTF8", "--no-sync"
            )
        if (DATA / "postmaster.pid").exists():  # left running by an interrupted run of this bench
            self._run("pg_ctl", "-D", str(DATA), "-m", "fast", "stop", check=False)
        self.port = _free_port()
        options = (
            f"-c listen_addresses=127.0.0.1 -c port={self.port} -c unix_socket_directories={PG_DIR} "
            + " ".join(f"-c {k}={v}" for k, v in SETTINGS.items())
        )
        self._run("pg_ctl", "-D", str(DATA), "-o", options, "-l", str(PG_DIR / "log"), "-w", "start")
        deadline = time.monotonic() + 30
        while True:
            try:
                self.execute("SELECT 1")
                return
            except Exception:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.1)

    def stop(self) -> None:
        self._run("pg_ctl", "-D", str(DATA), "-m", "fast", "stop", check=False)

    def execute(self, sql: str, db: str = "postgres") -> list[tuple[Any, ...]]:
        import psycopg

        with psycopg.connect(self.url(db), autocommit=True) as conn:
            cur = conn.execute(sql)  # type: ignore[arg-type]
            return cur.fetchall() if cur.description else []

    def version(self) -> str:
        return str(self.execute("SHOW server_version")[0][0])


def db_name(scenario: tb.Scenario, rows: int, shape: str) -> str:
    return f"{scenario.name}_{rows}_{scenario.rate}_{shape}"


def load(cluster: Cluster, scenario: tb.Scenario, rows: int, shape: str, rebuild: bool = False) -> str:
    """The database for a store, loaded from the SQLite store's rows once (cached in the cluster)."""
    import psycopg

    name = db_name(scenario, rows, shape)
    exists = cluster.execute(f"SELECT 1 FROM pg_database WHERE datname = '{name}'")
    if exists and not rebuild:
        try:
            if cluster.execute("SELECT rows FROM bench_loaded", name)[0][0] == rows:
                return cluster.url(name)
        except Exception:
            pass
    source = tb.build_store(scenario, rows, "canonical")
    started = time.perf_counter()
    print(f"loading {rows:,} rows into PostgreSQL {name} ({shape}) ...", file=sys.stderr, flush=True)
    cluster.execute(f'DROP DATABASE IF EXISTS "{name}"')
    cluster.execute(f'CREATE DATABASE "{name}"')
    cluster.execute("CREATE EXTENSION IF NOT EXISTS pg_stat_statements", name)
    lite = sqlite3.connect(f"{source.resolve().as_uri()}?mode=ro", uri=True)
    created = "CAST(strftime('%s', created_at) AS INTEGER)" if shape == "epoch" else "created_at"
    select = ", ".join(created if c == "created_at" else c for c in COLUMNS)
    with psycopg.connect(cluster.url(name)) as conn:
        conn.execute("SET TimeZone = 'UTC'")  # the store's ISO text is UTC
        conn.execute(TABLE.format(created=SHAPES[shape]))  # type: ignore[arg-type]
        cursor = lite.execute(f"SELECT {select} FROM tasks ORDER BY id")
        with conn.cursor().copy(f"COPY tasks ({', '.join(COLUMNS)}) FROM STDIN (FREEZE)") as copy:  # type: ignore[arg-type]
            while batch := cursor.fetchmany(20_000):
                for row in batch:
                    copy.write_row(row)
        conn.commit()
    lite.close()
    copied = time.perf_counter() - started
    for sql in INDEXES:
        cluster.execute(sql, name)
    cluster.execute("VACUUM (ANALYZE) tasks", name)
    cluster.execute(f"CREATE TABLE bench_loaded AS SELECT {rows} AS rows", name)
    size = cluster.execute("SELECT pg_size_pretty(pg_database_size(current_database()))", name)[0][0]
    print(
        f"loaded in {time.perf_counter() - started:.0f} s (COPY {copied:.0f} s, indexes + VACUUM ANALYZE "
        f"{time.perf_counter() - started - copied:.0f} s), {size}",
        file=sys.stderr,
    )
    return cluster.url(name)


# -- the seed's SQL and the hand-written SQL, PostgreSQL dialect -------------------------------------------------
def _day(shape: str) -> str:
    """The seed's date of a row: a function on the column (the session's TimeZone is UTC)."""
    return "to_timestamp(created_at)::date" if shape == "epoch" else "created_at::date"


NOW_DAY = "(%(now)s::timestamptz - interval '{n} day')::date"


def seed_sql(shape: str) -> dict[str, str]:
    day = _day(shape)
    cols = tb.COLUMNS
    return {
        "daily": f"SELECT status, count(*) FROM tasks WHERE {day} = {NOW_DAY.format(n=1)} GROUP BY status",
        "errors": f"SELECT error, count(*) AS count FROM tasks WHERE {day} >= {NOW_DAY.format(n=7)} "
        "AND status = 'failed' GROUP BY error ORDER BY count DESC",
        "trend": f"SELECT {day} AS day, count(*), sum((status = 'failed')::int) FROM tasks "
        f"WHERE {day} >= {NOW_DAY.format(n=7)} GROUP BY day ORDER BY day",
        "agent_day": f"SELECT {cols} FROM tasks WHERE agent = %(agent)s AND {day} = {NOW_DAY.format(n=1)} "
        f"ORDER BY created_at DESC LIMIT {tb.PAGE}",
        "failed_page": f"SELECT {cols} FROM tasks WHERE status = 'failed' ORDER BY created_at DESC LIMIT {tb.PAGE}",
        "error_contains": f"SELECT {cols} FROM tasks WHERE error ILIKE '%%' || %(needle)s || '%%' "
        f"ORDER BY created_at DESC LIMIT {tb.PAGE}",
    }


def bound(moment: datetime, shape: str) -> Any:
    return int(moment.timestamp()) if shape == "epoch" else moment.astimezone(UTC)


RANGE_COUNTS = "SELECT status, count(*) FROM tasks WHERE created_at >= %s AND created_at < %s GROUP BY status"


def limit_summary(conn: Any, shape: str) -> dict[str, int]:
    rows = conn.execute(RANGE_COUNTS, (bound(tb.midnight(1), shape), bound(tb.midnight(0), shape)))
    return {s: int(n) for s, n in rows.fetchall()}


def limit_trend_per_day(conn: Any, shape: str) -> list[tuple[str, int, int]]:
    found = []
    for back in range(7, -1, -1):
        hi = tb.midnight(back - 1) if back else tb.ANCHOR
        rows = conn.execute(RANGE_COUNTS, (bound(tb.midnight(back), shape), bound(hi, shape))).fetchall()
        counts = {s: int(n) for s, n in rows}
        found.append((tb.midnight(back).date().isoformat(), sum(counts.values()), counts.get("failed", 0)))
    return found


def limit_trend_grouped(conn: Any, shape: str) -> list[tuple[str, int, int]]:
    """One pass over the window's index range, bucketing by an expression on the raw value."""
    day = "created_at / 86400" if shape == "epoch" else "(created_at AT TIME ZONE 'UTC')::date"
    rows = conn.execute(
        f"SELECT {day} AS d, count(*), count(*) FILTER (WHERE status = 'failed') FROM tasks "
        "WHERE created_at >= %s AND created_at < %s GROUP BY d ORDER BY d",
        (bound(tb.midnight(7), shape), bound(tb.ANCHOR, shape)),
    ).fetchall()

    def as_day(d: Any) -> str:
        return (
            (datetime(1970, 1, 1) + timedelta(days=d)).date().isoformat()
            if shape == "epoch"
            else d.isoformat()
        )

    return [(as_day(d), int(n), int(f)) for d, n, f in rows]


def limit_top_errors(conn: Any, shape: str) -> tuple[int, int, int]:
    lo, hi = bound(tb.midnight(7), shape), bound(tb.ANCHOR, shape)
    counts = {s: int(n) for s, n in conn.execute(RANGE_COUNTS, (lo, hi)).fetchall()}
    groups = conn.execute(
        "SELECT error, count(*) AS n FROM tasks WHERE status = 'failed' AND created_at >= %s AND created_at < %s "
        "GROUP BY error ORDER BY n DESC",
        (lo, hi),
    ).fetchall()
    return sum(counts.values()), counts.get("failed", 0), len(groups)


def limit_find(conn: Any, shape: str, which: str, needle: str, text_match: str = "ilike") -> list[int]:
    order = f"ORDER BY created_at DESC, id DESC LIMIT {tb.PAGE}"
    cols = tb.COLUMNS
    if which == "agent_day":
        sql = f"SELECT {cols} FROM tasks WHERE agent = %s AND created_at >= %s AND created_at < %s {order}"
        params: tuple[Any, ...] = (tb.AGENT, bound(tb.midnight(1), shape), bound(tb.midnight(0), shape))
    elif which == "failed_page":
        sql, params = f"SELECT {cols} FROM tasks WHERE status = 'failed' {order}", ()
    else:
        match = (
            "error ILIKE '%%' || %s || '%%'"
            if text_match == "ilike"
            else "strpos(lower(error), lower(%s)) > 0"
        )
        sql, params = f"SELECT {cols} FROM tasks WHERE {match} {order}", (needle,)
    return [r[0] for r in conn.execute(sql, params).fetchall()]


# -- what ours sent ---------------------------------------------------------------------------------------------
def _statements(admin: Any, fn: Callable[[], Any]) -> dict[str, Any]:
    """One call of `fn` as pg_stat_statements saw it: statements, rows to the client, server time."""
    admin.execute("SELECT pg_stat_statements_reset()")
    fn()
    rows = admin.execute(
        "SELECT calls, rows, total_exec_time, query FROM pg_stat_statements WHERE dbid = "
        "(SELECT oid FROM pg_database WHERE datname = current_database()) AND query NOT LIKE '%%pg_stat_statements%%'"
    ).fetchall()
    queries = [
        r
        for r in rows
        if not r[3].lstrip().upper().startswith(("BEGIN", "COMMIT", "ROLLBACK", "SET", "SHOW"))
    ]
    return {
        "round_trips": sum(int(r[0]) for r in rows),
        "queries": sum(int(r[0]) for r in queries),
        "rows": sum(int(r[1]) for r in queries),
        "server_ms": sum(float(r[2]) for r in rows),
        "top": sorted(
            ([int(r[0]), int(r[1]), round(float(r[2]), 2), r[3][:300]] for r in queries), key=lambda x: -x[2]
        )[:4],
    }


def measure_tools(
    url: str, shape: str, signatures: Path, repeat: int, needle: str
) -> tuple[list[tb.Row], dict[str, Any]]:
    import psycopg
    from self_improver.tools.errors import reports
    from self_improver.tools.errors.signature_store import SignatureStore
    from self_improver.tools.telemetry import queries
    from self_improver.tools.telemetry.mapping import TelemetryMapping
    from self_improver.tools.telemetry.source import TelemetryStore, open_source

    store = TelemetryStore(open_source(url, TelemetryMapping.model_validate({})), "UTC", tb.ANCHOR)
    errors = reports.ErrorContext(store, SignatureStore(signatures))
    raw = psycopg.connect(url, autocommit=True, options="-c TimeZone=UTC")
    # The same hand-written SQL without parallel workers: on 2 shared vCPUs a parallel index-only scan of a
    # day or a week can cost more than it saves; the limit is the faster of the two.
    serial = psycopg.connect(
        url, autocommit=True, options="-c TimeZone=UTC -c max_parallel_workers_per_gather=0"
    )
    admin = psycopg.connect(url, autocommit=True)
    now = {"now": tb.ANCHOR, "agent": tb.AGENT, "needle": needle}
    seeds = seed_sql(shape)
    loop = asyncio.new_event_loop()
    run = loop.run_until_complete
    yesterday, today = tb.midnight(1).date().isoformat(), tb.midnight(0).date().isoformat()
    rows: list[tb.Row] = []
    sent: dict[str, Any] = {}

    def seed(key: str) -> Callable[[], list[Any]]:
        return lambda: raw.execute(seeds[key], now).fetchall()  # type: ignore[arg-type]

    # telemetry_summary(yesterday)
    ours_fn = lambda: run(queries.telemetry_summary(store, "yesterday"))  # noqa: E731
    t = tb.interleaved(
        {
            "ours": ours_fn,
            "limit": lambda: limit_summary(raw, shape),
            "serial": lambda: limit_summary(serial, shape),
            "seed": seed("daily"),
        },
        repeat,
    )
    lim, how = _best(t, "limit", "serial")
    ours = ours_fn()
    limit = limit_summary(raw, shape)
    seed_answer = {s: int(n) for s, n in seed("daily")()}
    assert ours.counts_by_status == limit, (ours.counts_by_status, limit)
    sent["telemetry_summary(yesterday)"] = _statements(admin, ours_fn)
    rows.append(
        tb.Row(
            "telemetry_summary(yesterday)", t["ours"], lim, t["seed"], f"range count on (created_at, status){how}",
            f"{ours.total:,} tasks, {ours.failed:,} failed; seed {'equal' if seed_answer == limit else 'DIFFERS'}",
        )
    )  # fmt: skip

    # failure_trend(days=7)
    ours_fn = lambda: run(queries.failure_trend(store, days=7))  # noqa: E731
    t = tb.interleaved(
        {
            "ours": ours_fn,
            "per_day": lambda: limit_trend_per_day(raw, shape),
            "grouped": lambda: limit_trend_grouped(raw, shape),
            "per_day_serial": lambda: limit_trend_per_day(serial, shape),
            "grouped_serial": lambda: limit_trend_grouped(serial, shape),
            "seed": seed("trend"),
        },
        repeat,
    )
    trend = ours_fn()
    mine = [(d.day, d.total, d.failed) for d in trend.days]
    by_day = limit_trend_per_day(raw, shape)
    grouped = limit_trend_grouped(raw, shape)
    assert mine == by_day, (mine, by_day)
    assert [x for x in grouped if x[1]] == [x for x in by_day if x[1]], (grouped, by_day)
    seed_trend = [(d.isoformat(), int(n), int(f)) for d, n, f in seed("trend")()]
    sent["failure_trend(days=7)"] = _statements(admin, ours_fn)
    key = min(("per_day", "grouped", "per_day_serial", "grouped_serial"), key=lambda k: t[k])
    rows.append(
        tb.Row(
            "failure_trend(days=7)", t["ours"], t[key], t["seed"],
            ("8 range counts, one a day" if key.startswith("per_day") else "one range, GROUP BY day expression")
            + (" (serial)" if key.endswith("serial") else ""),
            f"{trend.total:,} tasks; seed {'equal' if [x for x in by_day if x[1]] == seed_trend else 'DIFFERS'}",
        )
    )  # fmt: skip

    # top_errors(days=7), warm
    ours_fn = lambda: run(reports.top_errors(errors, days=7))  # noqa: E731
    t = tb.interleaved(
        {
            "ours": ours_fn,
            "limit": lambda: limit_top_errors(raw, shape),
            "serial": lambda: limit_top_errors(serial, shape),
            "seed": seed("errors"),
        },
        repeat,
    )
    lim, how = _best(t, "limit", "serial")
    top = ours_fn()
    total, failed, distinct = limit_top_errors(raw, shape)
    assert (top.total_tasks, top.failed_tasks) == (total, failed), (
        top.total_tasks,
        top.failed_tasks,
        total,
        failed,
    )
    seed_failed = sum(int(n) for _, n in seed("errors")())
    sent["top_errors(days=7) warm"] = _statements(admin, ours_fn)
    rows.append(
        tb.Row(
            "top_errors(days=7) warm", t["ours"], lim, t["seed"],
            f"window counts + failed rows GROUP BY error on (status, created_at){how}",
            f"{failed:,} failed of {total:,}; {len(top.groups)} groups shown (more: {top.has_more}); "
            f"{distinct:,} distinct texts; seed failed {'equal' if seed_failed == failed else 'DIFFERS'}",
        )
    )  # fmt: skip

    # find_tasks
    cases = {
        "agent_day": ("find_tasks(agent, one day)", dict(agent=tb.AGENT, since=yesterday, until=today)),
        "failed_page": ("find_tasks(status=failed)", dict(status="failed")),
        "error_contains": (f"find_tasks(error_contains={needle!r})", dict(error_contains=needle)),
    }
    for key, (title, kwargs) in cases.items():
        ours_fn = functools.partial(lambda kw: run(queries.find_tasks(store, limit=tb.PAGE, **kw)), kwargs)
        fns: dict[str, Callable[[], Any]] = {
            "ours": ours_fn,
            "limit": functools.partial(limit_find, raw, shape, key, needle),
            "seed": seed(key),
        }
        if key == "error_contains":
            fns["strpos"] = lambda: limit_find(raw, shape, "error_contains", needle, "strpos")
        t = tb.interleaved(fns, repeat * 4)
        page = ours_fn()
        ids = [
            task["id"] if isinstance(task, dict) else task.id for task in page.tasks
        ]  # rows: dicts since 2026-11-29
        expected = limit_find(raw, shape, key, needle)
        assert ids == expected, (key, ids[:5], expected[:5])
        naive = [r[0] for r in fns["seed"]()]
        sent[title] = _statements(admin, ours_fn)
        how, best = "same query by hand", t["limit"]
        if key == "error_contains" and t["strpos"] < best:
            best, how = t["strpos"], "strpos(lower(error)) by hand"
        elif key == "error_contains":
            how = f"error ILIKE '%{needle}%' by hand"
        rows.append(
            tb.Row(
                title, t["ours"], best, t["seed"], how,
                f"{len(ids)} ids equal; naive {'equal' if naive == expected else 'differs (ties/order)'}",
            )
        )  # fmt: skip
    loop.run_until_complete(store.source.close())
    loop.close()
    raw.close()
    serial.close()
    admin.close()
    return rows, sent


def _best(t: dict[str, float], parallel: str, serial: str) -> tuple[float, str]:
    return (t[serial], " (serial)") if t[serial] < t[parallel] else (t[parallel], "")


def print_sent(sent: dict[str, Any]) -> None:
    print("  what ours sent for one call (pg_stat_statements):")
    for tool, s in sent.items():
        print(
            f"    {tool:<38} {s['queries']:>3} queries ({s['round_trips']} round trips with BEGIN/COMMIT), "
            f"{s['rows']:,} rows to Python, server {s['server_ms']:.1f} ms"
        )
