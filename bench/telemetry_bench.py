"""Telemetry at production volume: our tools against the seed article's SQL and the best hand-written SQL.

For every telemetry and errors tool (telemetry_summary, failure_trend, top_errors warm, find_tasks with
common filters) it times, on the same SQLite file, in the same process, warm page cache, median of
`--repeat` interleaved rounds:

* ours   - the tool's domain function through `TelemetryStore(open_source(path), "UTC", ANCHOR)`;
* seed   - the seed article's SQL (`date(created_at) ...`, which no index serves; a naive
           `ORDER BY created_at DESC` for find_tasks);
* limit  - the fastest hand-written SQLite query we could write for the same answer on the same indexes;

checks that ours gives the limit's answer, and prints ours/limit and ours/seed. It also measures the first
top_errors on a fresh signature store (subprocess: time and added max RSS), `self-improver nightly` on the
biggest store (first night and a steady second night, with peak RSS), and `self-improver serve` start-up to
the first tools/list answer against a minimal MCPServer on the same SDK.

Scenarios (stores generated inside SQLite, cached in bench/out/, which git ignores):

* today      - 27,000 tasks a day, 8% failed, four error families (the previous benchmark's data);
* production - 330,000 tasks a day (`--rows-per-day` to change it), 5.6% failed, 300 error families
               with numbers, hex ids and hosts varying inside each, a Zipf-like mix, 30 families with a
               Python traceback, 5 families new in the last two days, 12 agents, 40 task names with
               their own durations, three of them slower in the last 7 days.

Shapes: `canonical` (our schema: created_at ISO text) and `epoch` / `epoch_ms` (the same rows with
created_at INTEGER epoch seconds / milliseconds, same indexes).

Engines (`--engine sqlite|postgres|both`): the PostgreSQL case (bench/telemetry_pg.py) loads the same rows
into a throwaway cluster under bench/out/pg/ (created_at timestamptz, or bigint epoch with `--pg-shapes`)
and measures the same tools against the seed's SQL and the best query on that server. `--committed`
measures HEAD's committed files (a `git archive` export) instead of the working tree.

    python bench/telemetry_bench.py --sizes 1000000                       # both scenarios, canonical + epoch
    python bench/telemetry_bench.py --scenarios production --sizes 3000000 --rows-per-day 100000 \\
        --shapes canonical --nightly --serve                              # the held-out check
    python bench/telemetry_bench.py --engine postgres --scenarios production --sizes 1000000,10000000 \
        --pg-shapes timestamptz,epoch --pg-memo-known --nightly --committed
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import functools
import json
import os
import re
import resource
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
OUT = Path(__file__).resolve().parent / "out"
VENV_BIN = Path(sys.executable).parent
ANCHOR = datetime(2026, 2, 16, 0, 17, tzinfo=UTC)
TODAY_RATE = 27_000
PRODUCTION_RATE = 330_000
FAILED_PER_MILLE = 56  # 5.6% of production tasks fail
CANCELLED_PER_MILLE = 4
NEEDLES = {"today": "imap", "production": "quota"}  # find_tasks(error_contains=...): in a few families
AGENT = "agent-1"  # find_tasks(agent=..., since=yesterday, until=today)
PAGE = 50

# -- the seed article's SQL ----------------------------------------------------------------------------
SEED_DAILY = (
    "SELECT status, COUNT(*) FROM tasks WHERE date(created_at) = date(:now, '-1 day') GROUP BY status"
)
SEED_ERRORS = (
    "SELECT error, COUNT(*) as count FROM tasks WHERE date(created_at) >= date(:now, '-7 days') "
    "AND status = 'failed' GROUP BY error ORDER BY count DESC"
)
SEED_TREND = (
    "SELECT date(created_at) AS day, COUNT(*), SUM(status = 'failed') FROM tasks "
    "WHERE date(created_at) >= date(:now, '-7 days') GROUP BY day ORDER BY day"
)
COLUMNS = "id, status, created_at, error, agent, task_name, duration_ms, error_type"
NAIVE_FIND = {
    "agent_day": f"SELECT {COLUMNS} FROM tasks WHERE agent = :agent AND date(created_at) = date(:now, '-1 day') "
    f"ORDER BY created_at DESC LIMIT {PAGE}",
    "failed_page": f"SELECT {COLUMNS} FROM tasks WHERE status = 'failed' ORDER BY created_at DESC LIMIT {PAGE}",
    "error_contains": f"SELECT {COLUMNS} FROM tasks WHERE error LIKE '%' || :needle || '%' "
    f"ORDER BY created_at DESC LIMIT {PAGE}",
}


def seed_sql(sql: str, shape: str) -> str:
    """The seed's date() on an epoch column needs the 'unixepoch' modifier (and ms -> s)."""
    column = {
        "canonical": "created_at",
        "epoch": "created_at, 'unixepoch'",
        "epoch_ms": "created_at / 1000, 'unixepoch'",
    }
    return sql.replace("date(created_at)", f"date({column[shape]})")


# -- the data --------------------------------------------------------------------------------------------
# The previous benchmark's data (27k tasks a day). Its SQL drew random() once per reference, so the status
# and the error of a row came from different draws (errors on done tasks, failed tasks without one);
# `LIMIT -1` keeps the subquery from being flattened, so each row draws once.
TODAY_SQL = """
WITH RECURSIVE seq(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM seq WHERE i < :n - 1)
INSERT INTO tasks (status, error, error_type, created_at, agent, task_name, duration_ms)
SELECT
  CASE WHEN r % 100 < 8 THEN 'failed' ELSE 'done' END,
  CASE WHEN r % 100 >= 8 THEN NULL
       WHEN r % 4 = 0 THEN 'TimeoutError: IMAP timeout after ' || (20 + r % 20) || 's on imap' || (r % 7) || '.example.com'
       WHEN r % 4 = 1 THEN 'Gateway timeout: upstream llm-gw-' || (r % 5) || '.internal:8443 did not respond within '
                           || (10 + r % 50) || 's (request ' || printf('%08x', r % 4294967296) || ')'
       WHEN r % 4 = 2 THEN 'KeyError: ''thread_id'''
       ELSE 'ValueError: invalid literal for int() with base 10: ''' || (r % 997) || 'x'''
  END,
  CASE WHEN r % 100 >= 8 THEN NULL WHEN r % 4 < 2 THEN 'TimeoutError' WHEN r % 4 = 2 THEN 'KeyError'
       ELSE 'ValueError' END,
  datetime(:start_jd + (i * 1.0 * :span / :n)),
  'agent-' || (r / 1000 % 3),
  'task-' || (r / 100000 % 11),
  r / 10000000 % 5000
FROM (SELECT i, abs(random()) AS r FROM seq LIMIT -1)
"""

# Production: one 63-bit draw `r` per row split into digit groups (status, family, duration, tail,
# agent) and one `v` for the values inside messages and the task name. Families and task names come from
# two small temp tables built in Python (below), so the mix is readable and deterministic.
PRODUCTION_SQL = """
WITH RECURSIVE seq(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM seq WHERE i < :n - 1)
INSERT INTO tasks (status, error, error_type, traceback, created_at, agent, task_name, duration_ms)
SELECT status, error, error_type,
       CASE WHEN traceback_template IS NOT NULL THEN replace(traceback_template, '{message}', error) END,
       created_at, agent, task_name, duration_ms
FROM (
  SELECT s.status,
    CASE WHEN f.f IS NOT NULL THEN
      replace(replace(replace(replace(replace(replace(f.template,
        '{n}', 1 + v % 90),
        '{hex}', printf('%08x', v % 4294967296)),
        '{id}', v / 3 % 1000003),
        '{host}', 'node-' || (v / 7 % 40)),
        '{code}', 500 + (v / 11 % 5)),
        '{ms}', 100 + v / 13 % 9900)
    END AS error,
    f.error_type,
    f.traceback AS traceback_template,
    datetime(s.jd) AS created_at,
    'agent-' || CAST(12 * (s.y / 1000.0) * (s.y / 1000.0) AS INTEGER) AS agent,
    t.name AS task_name,
    CAST(t.base_ms * (0.5 + s.u / 1000.0)
         * (CASE WHEN s.w < (CASE WHEN s.recent THEN t.tail_recent ELSE 30 END) THEN 3 + s.w % 7 ELSE 1 END)
         * (CASE WHEN s.recent THEN t.slower ELSE 1.0 END) AS INTEGER) AS duration_ms
  FROM (
    SELECT jd, v,
      CASE WHEN r % 1000 < :failed THEN 'failed' WHEN r % 1000 < :failed + :cancelled THEN 'cancelled'
           ELSE 'done' END AS status,
      -- a Zipf-like family mix (the cube of a uniform); the newest families only in the last two days
      CASE WHEN CAST(300 * x * x * x AS INTEGER) >= 295 AND jd < :end_jd - 2
           THEN CAST(300 * x * x * x AS INTEGER) - 100 ELSE CAST(300 * x * x * x AS INTEGER) END AS fam,
      r / 1000000000 % 1000 AS u,
      r / 1000000000000 % 1000 AS w,
      r / 1000000000000000 % 1000 AS y,
      v / 1000000000000000 % 40 AS task,
      jd >= :end_jd - 7 AS recent
    FROM (
      SELECT jd, r, v, (r / 1000 % 1000000) / 1000000.0 AS x
      FROM (SELECT :start_jd + (i * 1.0 * :span / :n) AS jd, abs(random()) AS r, abs(random()) AS v
            FROM seq LIMIT -1)
      LIMIT -1)
  ) AS s
  LEFT JOIN bench_families AS f ON s.status = 'failed' AND f.f = s.fam
  LEFT JOIN bench_tasks AS t ON t.t = s.task
)
"""

SERVICES = (
    "imap", "smtp", "postgres", "redis", "billing", "search", "auth", "storage", "webhook", "gateway",
    "vectors", "scheduler", "crm", "calendar", "payments", "ocr", "slack",
)  # fmt: skip
OPERATIONS = (
    "fetch", "sync", "upload", "render", "parse", "index", "notify", "resolve", "checkout", "embed",
    "summarize", "classify", "translate", "export", "import", "refund", "archive", "transcribe", "enrich",
)  # fmt: skip
REASONS = (
    ("timed out", "TimeoutError"),
    ("connection refused", "ConnectionRefusedError"),
    ("connection reset by peer", "ConnectionResetError"),
    ("rate limited", "RateLimitError"),
    ("quota exceeded", "QuotaExceededError"),
    ("invalid JSON in response", "JSONDecodeError"),
    ("missing field", "KeyError"),
    ("permission denied", "PermissionError"),
    ("certificate verify failed", "SSLError"),
    ("context window exceeded", "ContextLengthError"),
    ("record not found", "NotFoundError"),
    ("duplicate key", "IntegrityError"),
    ("disk full", "OSError"),
    ("out of memory", "MemoryError"),
    ("deadline exceeded", "DeadlineExceeded"),
    ("upstream unavailable", "ServiceUnavailable"),
    ("bad gateway", "BadGateway"),
    ("schema mismatch", "ValidationError"),
    ("token expired", "AuthenticationError"),
    ("lock wait timeout", "OperationalError"),
    ("too many open files", "OSError"),
    ("unexpected end of stream", "EOFError"),
    ("payload too large", "PayloadTooLarge"),
)
SENTENCES = (
    "{exc}: {svc} {op} failed: {reason} after {n}s (request {hex})",
    "{svc} {op} error: {reason} for task {id} on {host}",
    "{exc}: {reason} while calling {svc} to {op} (attempt {n} of 5, trace {hex})",
    "{op} job for {svc} aborted: {reason}; {n} items pending, batch {id}",
    "{exc}: {reason} in {svc} client during {op} (status {code}, {ms} ms)",
    "upstream {svc} returned {code} on {op}: {reason} (request id {hex})",
)
TRACEBACK = """Traceback (most recent call last):
  File "/srv/app/workers/{svc}_worker.py", line {line1}, in run_{op}
    result = await client.{op}(payload)
  File "/srv/app/clients/{svc}.py", line {line2}, in {op}
    raise {exc}(detail)
{exc}: {{message}}"""
SLOWER = {
    3: (2.2, 30),
    11: (1.7, 30),
    27: (1.0, 150),
}  # task -> (bulk factor, tail per mille) in the last 7 days


def error_families() -> list[tuple[int, str, str, str | None]]:
    """300 families. Slot words come from lists of 17, 19 and 23 words indexed by f, so any two families
    differ in at least two slots and the miner has no reason to merge them."""
    families = []
    for f in range(300):
        svc, op = SERVICES[f % 17], OPERATIONS[f % 19]
        reason, exc = REASONS[f % 23]
        template = SENTENCES[f % 6].format(
            exc=exc, svc=svc, op=op, reason=reason, n="{n}", hex="{hex}", id="{id}", host="{host}",
            code="{code}", ms="{ms}",
        )  # fmt: skip
        traceback = None
        if f % 10 == 7:  # a Python traceback stored beside the message
            template = f"{exc}: {svc} {op}: {reason} (request {{hex}})"
            traceback = TRACEBACK.format(svc=svc, op=op, exc=exc, line1=40 + f % 60, line2=100 + f % 90)
        families.append((f, template, exc, traceback))
    return families


def task_names() -> list[tuple[int, str, int, float, int]]:
    rows = []
    for t in range(40):
        slower, tail = SLOWER.get(t, (1.0, 30))
        rows.append(
            (t, f"{OPERATIONS[t % 19]}_{SERVICES[(t * 7) % 17]}", 40 + (t * 373) % 3000, slower, tail)
        )
    return rows


@dataclass(frozen=True)
class Scenario:
    name: str
    rate: int  # tasks a day

    @property
    def label(self) -> str:
        return f"{self.name} {self.rate // 1000}k/day"


def store_path(scenario: Scenario, rows: int, shape: str) -> Path:
    return OUT / f"telemetry_{scenario.name}_{rows}_{scenario.rate}perday_{shape}.db"


def _julian(conn: sqlite3.Connection, moment: datetime) -> float:
    return float(conn.execute("SELECT julianday(?)", (moment.strftime("%Y-%m-%d %H:%M:%S"),)).fetchone()[0])


def build_store(scenario: Scenario, rows: int, shape: str) -> Path:
    from self_improver.tools.telemetry.schema import open_writable

    OUT.mkdir(exist_ok=True)
    path = store_path(scenario, rows, shape)
    if path.exists():
        return path
    if shape != "canonical":
        return _build_epoch(scenario, rows, shape)
    started = time.perf_counter()
    print(f"building {rows:,} rows ({scenario.label}) -> {path.name} ...", file=sys.stderr, flush=True)
    tmp = path.with_suffix(".building")
    tmp.unlink(missing_ok=True)
    conn = open_writable(str(tmp))  # our schema and its three indexes
    conn.execute("PRAGMA journal_mode = OFF")
    conn.execute("PRAGMA synchronous = OFF")
    conn.execute("PRAGMA cache_size = -200000")
    indexes = _drop_indexes(conn)  # bulk insert first, index after: same schema, much faster
    end_jd = _julian(conn, ANCHOR)
    span = rows / scenario.rate
    params = {"n": rows, "start_jd": end_jd - span, "span": span, "end_jd": end_jd}
    with conn:
        if scenario.name == "today":
            conn.execute(TODAY_SQL, params)
        else:
            conn.execute(
                "CREATE TEMP TABLE bench_families (f INTEGER PRIMARY KEY, template, error_type, traceback)"
            )
            conn.executemany("INSERT INTO bench_families VALUES (?,?,?,?)", error_families())
            conn.execute(
                "CREATE TEMP TABLE bench_tasks (t INTEGER PRIMARY KEY, name, base_ms, slower, tail_recent)"
            )
            conn.executemany("INSERT INTO bench_tasks VALUES (?,?,?,?,?)", task_names())
            conn.execute(
                PRODUCTION_SQL, params | {"failed": FAILED_PER_MILLE, "cancelled": CANCELLED_PER_MILLE}
            )
    inserted = time.perf_counter() - started
    for sql in indexes:
        conn.execute(sql)
    conn.execute("PRAGMA journal_mode = WAL")
    conn.close()
    tmp.rename(path)
    print(
        f"built in {time.perf_counter() - started:.0f} s (rows {inserted:.0f} s, indexes "
        f"{time.perf_counter() - started - inserted:.0f} s)",
        file=sys.stderr,
    )
    return path


def _drop_indexes(conn: sqlite3.Connection) -> list[str]:
    found = conn.execute(
        "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND tbl_name = 'tasks' AND sql IS NOT NULL"
    ).fetchall()
    for name, _ in found:
        conn.execute(f'DROP INDEX "{name}"')
    return [sql for _, sql in found]


def _build_epoch(scenario: Scenario, rows: int, shape: str) -> Path:
    """The canonical store's rows with created_at as INTEGER epoch seconds (or ms), same indexes."""
    canonical = build_store(scenario, rows, "canonical")
    path = store_path(scenario, rows, shape)
    started = time.perf_counter()
    print(f"building {path.name} from {canonical.name} ...", file=sys.stderr, flush=True)
    tmp = path.with_suffix(".building")
    tmp.unlink(missing_ok=True)
    conn = sqlite3.connect(tmp)
    conn.execute("PRAGMA journal_mode = OFF")
    conn.execute("PRAGMA synchronous = OFF")
    conn.execute("ATTACH DATABASE ? AS canon", (f"{canonical.resolve().as_uri()}?mode=ro",))
    table_sql = conn.execute("SELECT sql FROM canon.sqlite_master WHERE name = 'tasks'").fetchone()[0]
    table_sql, replaced = re.subn(
        r"created_at\s+TEXT NOT NULL DEFAULT CURRENT_TIMESTAMP", "created_at  INTEGER NOT NULL", table_sql
    )
    assert replaced == 1, table_sql
    conn.execute(table_sql)
    indexes = [
        r[0]
        for r in conn.execute(
            "SELECT sql FROM canon.sqlite_master WHERE type = 'index' AND tbl_name = 'tasks' AND sql IS NOT NULL"
        )
    ]
    columns = [r[1] for r in conn.execute("PRAGMA canon.table_info(tasks)")]
    scale = "1000 * " if shape == "epoch_ms" else ""
    select = ", ".join(
        f"{scale}CAST(strftime('%s', created_at) AS INTEGER)" if c == "created_at" else c for c in columns
    )
    with conn:
        conn.execute(f"INSERT INTO main.tasks ({', '.join(columns)}) SELECT {select} FROM canon.tasks")
    for sql in indexes:
        conn.execute(sql)
    conn.execute("PRAGMA journal_mode = WAL")
    conn.commit()
    conn.execute("DETACH DATABASE canon")
    conn.close()
    tmp.rename(path)
    print(f"built in {time.perf_counter() - started:.0f} s", file=sys.stderr)
    return path


# -- bounds and the hand-written SQL ---------------------------------------------------------------------
def bound(moment: datetime, shape: str) -> Any:
    if shape == "epoch":
        return int(moment.timestamp())
    if shape == "epoch_ms":
        return int(moment.timestamp()) * 1000
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S")


def midnight(days_back: int) -> datetime:
    day = ANCHOR.date() - timedelta(days=days_back)
    return datetime(day.year, day.month, day.day, tzinfo=UTC)


RANGE_COUNTS = "SELECT status, COUNT(*) FROM tasks WHERE created_at >= ? AND created_at < ? GROUP BY status"


def limit_summary(conn: sqlite3.Connection, shape: str) -> dict[str, int]:
    return dict(conn.execute(RANGE_COUNTS, (bound(midnight(1), shape), bound(midnight(0), shape))).fetchall())


def limit_trend_per_day(conn: sqlite3.Connection, shape: str) -> list[tuple[str, int, int]]:
    """Eight covering-index range counts, one per day (the last one ends now)."""
    found = []
    for back in range(7, -1, -1):
        hi = midnight(back - 1) if back else ANCHOR
        counts = dict(conn.execute(RANGE_COUNTS, (bound(midnight(back), shape), bound(hi, shape))).fetchall())
        found.append((midnight(back).date().isoformat(), sum(counts.values()), counts.get("failed", 0)))
    return found


def limit_trend_grouped(conn: sqlite3.Connection, shape: str) -> list[tuple[str, int, int]]:
    """One pass over the window's index range, bucketing by an expression on the raw value."""
    day = {
        "canonical": "substr(created_at, 1, 10)",
        "epoch": "created_at / 86400",
        "epoch_ms": "created_at / 86400000",
    }
    rows = conn.execute(
        f"SELECT {day[shape]} AS d, COUNT(*), SUM(status = 'failed') FROM tasks "
        "WHERE created_at >= ? AND created_at < ? GROUP BY d ORDER BY d",
        (bound(midnight(7), shape), bound(ANCHOR, shape)),
    ).fetchall()
    as_day = (
        (lambda d: d)
        if shape == "canonical"
        else (lambda d: (datetime(1970, 1, 1) + timedelta(days=d)).date().isoformat())
    )
    return [(as_day(d), int(n), int(f)) for d, n, f in rows]


def limit_top_errors(conn: sqlite3.Connection, shape: str) -> tuple[int, int, int]:
    """What a top-errors answer needs from the table, read once: the window's counts (covering index)
    and its failed tasks' messages grouped (the seed's query on the status index's range)."""
    lo, hi = bound(midnight(7), shape), bound(ANCHOR, shape)
    counts = dict(conn.execute(RANGE_COUNTS, (lo, hi)).fetchall())
    groups = conn.execute(
        "SELECT error, COUNT(*) AS n FROM tasks WHERE status = 'failed' AND created_at >= ? AND created_at < ? "
        "GROUP BY error ORDER BY n DESC",
        (lo, hi),
    ).fetchall()
    return sum(counts.values()), counts.get("failed", 0), len(groups)


def limit_find(
    conn: sqlite3.Connection, shape: str, which: str, needle: str, text_match: str = "like"
) -> list[int]:
    order = f"ORDER BY created_at DESC, id DESC LIMIT {PAGE}"
    if which == "agent_day":
        sql = f"SELECT {COLUMNS} FROM tasks WHERE agent = ? AND created_at >= ? AND created_at < ? {order}"
        params: tuple[Any, ...] = (AGENT, bound(midnight(1), shape), bound(midnight(0), shape))
    elif which == "failed_page":
        sql, params = f"SELECT {COLUMNS} FROM tasks WHERE status = 'failed' {order}", ()
    else:
        match = "error LIKE '%' || ? || '%'" if text_match == "like" else "instr(lower(error), lower(?)) > 0"
        sql, params = f"SELECT {COLUMNS} FROM tasks WHERE {match} {order}", (needle,)
    return [r[0] for r in conn.execute(sql, params).fetchall()]


# -- timing ------------------------------------------------------------------------------------------------
def interleaved(fns: dict[str, Callable[[], Any]], repeat: int) -> dict[str, float]:
    """Median ms of each function; one warm-up each, then `repeat` rounds that run every function once,
    so load changes on the shared machine hit all sides alike."""
    for fn in fns.values():
        fn()
    samples: dict[str, list[float]] = {k: [] for k in fns}
    for _ in range(repeat):
        for name, fn in fns.items():
            started = time.perf_counter()
            fn()
            samples[name].append(time.perf_counter() - started)
    return {k: statistics.median(v) * 1000 for k, v in samples.items()}


@dataclass
class Row:
    tool: str
    ours: float
    limit: float
    seed: float
    limit_how: str
    check: str

    @property
    def vs_limit(self) -> float:
        return self.ours / self.limit

    @property
    def vs_seed(self) -> float:
        return self.ours / self.seed


TOOLS = ("telemetry_summary", "failure_trend", "top_errors", "find_tasks")


def measure_tools(
    path: Path, shape: str, signatures: Path, repeat: int, needle: str, tools: tuple[str, ...] = TOOLS
) -> list[Row]:
    from self_improver.tools.errors import reports, secret_detector
    from self_improver.tools.errors.signature_store import SignatureStore
    from self_improver.tools.telemetry.mapping import TelemetryMapping
    from self_improver.tools.telemetry.source import TelemetryStore, open_source

    store = TelemetryStore(open_source(path, TelemetryMapping()), "UTC", ANCHOR)
    errors = reports.ErrorContext(store, SignatureStore(signatures))
    raw = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)
    now = {"now": ANCHOR.strftime("%Y-%m-%d %H:%M:%S")}
    # One loop for every call; asyncio.Runner.run would also re-check the SIGINT handler on each call,
    # which formats the repr of the previous task's result (~1 ms for a page of tasks).
    loop = asyncio.new_event_loop()
    run = loop.run_until_complete
    rows: list[Row] = []

    def seed(sql: str, params: dict[str, Any] | None = None) -> Callable[[], list[Any]]:
        text = seed_sql(sql, shape)
        return lambda: raw.execute(text, params or now).fetchall()

    if "telemetry_summary" in tools:
        rows.append(_measure_summary(store, raw, run, shape, repeat, seed))
    if "failure_trend" in tools:
        rows.append(_measure_trend(store, raw, run, shape, repeat, seed))
    if "top_errors" in tools:
        rows += _measure_top_errors(errors, raw, run, shape, repeat, seed)
    if "find_tasks" in tools:
        rows += _measure_find_tasks(store, raw, run, shape, repeat, needle, secret_detector)
    loop.run_until_complete(store.source.close())
    loop.close()
    raw.close()
    return rows


def _measure_summary(store: Any, raw: Any, run: Any, shape: str, repeat: int, seed: Any) -> Row:
    from self_improver.tools.telemetry import queries

    t = interleaved(
        {
            "ours": lambda: run(queries.telemetry_summary(store, "yesterday")),
            "limit": lambda: limit_summary(raw, shape),
            "seed": seed(SEED_DAILY),
        },
        repeat,
    )
    ours = run(queries.telemetry_summary(store, "yesterday"))
    limit = limit_summary(raw, shape)
    seed_answer = dict(seed(SEED_DAILY)())
    assert ours.counts_by_status == limit, (ours.counts_by_status, limit)
    return Row(
        "telemetry_summary(yesterday)",
        t["ours"],
        t["limit"],
        t["seed"],
        "range count on (created_at, status)",
        f"{ours.total:,} tasks, {ours.failed:,} failed; seed {'equal' if seed_answer == limit else 'DIFFERS'}",
    )


def _measure_trend(store: Any, raw: Any, run: Any, shape: str, repeat: int, seed: Any) -> Row:
    from self_improver.tools.telemetry import queries

    t = interleaved(
        {
            "ours": lambda: run(queries.failure_trend(store, days=7)),
            "per_day": lambda: limit_trend_per_day(raw, shape),
            "grouped": lambda: limit_trend_grouped(raw, shape),
            "seed": seed(SEED_TREND),
        },
        repeat,
    )
    trend = run(queries.failure_trend(store, days=7))
    mine = [(d.day, d.total, d.failed) for d in trend.days]
    by_day = limit_trend_per_day(raw, shape)
    grouped = limit_trend_grouped(raw, shape)
    assert mine == by_day, (mine, by_day)
    assert [x for x in grouped if x[1]] == [x for x in by_day if x[1]], (grouped, by_day)
    seed_trend = [tuple(r) for r in seed(SEED_TREND)()]
    how = "per_day" if t["per_day"] <= t["grouped"] else "grouped"
    return Row(
        "failure_trend(days=7)",
        t["ours"],
        t[how],
        t["seed"],
        "8 range counts, one a day" if how == "per_day" else "one range, GROUP BY day expression",
        f"{trend.total:,} tasks; seed {'equal' if [tuple(x) for x in by_day if x[1]] == seed_trend else 'DIFFERS'}",
    )


def _measure_top_errors(errors: Any, raw: Any, run: Any, shape: str, repeat: int, seed: Any) -> list[Row]:
    """top_errors(days=7), warm (the signature store was filled by the first-run subprocess); then as the
    server runs it, with the counts of finished days kept between calls (the limit still counts live)."""
    from self_improver.tools.errors import reports
    from self_improver.tools.telemetry.day_counts import DayCountCache

    t = interleaved(
        {
            "ours": lambda: run(reports.top_errors(errors, days=7)),
            "limit": lambda: limit_top_errors(raw, shape),
            "seed": seed(SEED_ERRORS),
        },
        repeat,
    )
    top = run(reports.top_errors(errors, days=7))
    total, failed, distinct = limit_top_errors(raw, shape)
    assert (top.total_tasks, top.failed_tasks) == (total, failed), (
        top.total_tasks,
        top.failed_tasks,
        total,
        failed,
    )
    seed_failed = sum(n for _, n in seed(SEED_ERRORS)())
    check = (
        f"{failed:,} failed of {total:,}; {len(top.groups)} groups shown (more: {top.has_more}); "
        f"{distinct:,} distinct texts; seed failed {'equal' if seed_failed == failed else 'DIFFERS'}"
    )
    how = "window counts + failed rows GROUP BY error on (status, created_at)"
    rows = [Row("top_errors(days=7) warm", t["ours"], t["limit"], t["seed"], how, check)]
    with tempfile.TemporaryDirectory() as tmp:  # as `serve` runs it: finished days' counts kept (day_counts)
        served = dataclasses.replace(
            errors,
            telemetry=dataclasses.replace(errors.telemetry, day_counts=DayCountCache(Path(tmp) / "dc.db")),
        )
        run(reports.top_errors(served, days=7))  # fills the cache, as the first call of a night does
        again = run(reports.top_errors(served, days=7))
        assert again.model_dump() == top.model_dump()
        t = interleaved(
            {
                "ours": lambda: run(reports.top_errors(served, days=7)),
                "limit": lambda: limit_top_errors(raw, shape),
                "seed": seed(SEED_ERRORS),
            },
            repeat,
        )
    rows.append(
        Row(
            "top_errors(days=7) warm, as served",
            t["ours"],
            t["limit"],
            t["seed"],
            how,
            check + "; same answer",
        )
    )
    return rows


def _measure_find_tasks(
    store: Any, raw: Any, run: Any, shape: str, repeat: int, needle: str, secret_detector: Any
) -> list[Row]:
    """find_tasks with common filters; the failed page also with the redaction cache emptied before each
    call (every error text masked again: the first view of a page), when the code measured has one."""
    from self_improver.tools.telemetry import queries

    yesterday, today = midnight(1).date().isoformat(), midnight(0).date().isoformat()
    now = {"now": ANCHOR.strftime("%Y-%m-%d %H:%M:%S")}
    cached: Any = getattr(secret_detector, "_redact_cached", None)
    cases: dict[str, tuple[str, dict[str, Any], bool]] = {
        "agent_day": ("find_tasks(agent, one day)", dict(agent=AGENT, since=yesterday, until=today), False),
        "failed_page": ("find_tasks(status=failed)", dict(status="failed"), False),
        "failed_cold": ("find_tasks(status=failed), texts masked anew", dict(status="failed"), True),
        "error_contains": (f"find_tasks(error_contains={needle!r})", dict(error_contains=needle), False),
    }
    rows = []
    for key, (title, kwargs, cold) in cases.items():
        if cold and cached is None:
            continue  # no cache in the code measured: the failed page above is already this figure
        which = "failed_page" if key == "failed_cold" else key
        naive_sql = seed_sql(NAIVE_FIND[which], shape)
        naive_params = now | {"agent": AGENT, "needle": needle}

        def ours(kw: dict[str, Any] = kwargs, cold: bool = cold) -> Any:
            if cold:
                cached.cache_clear()
            return run(queries.find_tasks(store, limit=PAGE, **kw))

        fns: dict[str, Callable[[], Any]] = {
            "ours": ours,
            "limit": functools.partial(limit_find, raw, shape, which, needle),
            "seed": functools.partial(lambda sql, p: raw.execute(sql, p).fetchall(), naive_sql, naive_params),
        }
        if key == "error_contains":
            fns["instr"] = lambda: limit_find(raw, shape, "error_contains", needle, "instr")
        t = interleaved(fns, repeat * 4)  # sub-millisecond queries: more rounds for a stable median
        page = ours()
        ids = [
            task["id"] if isinstance(task, dict) else task.id for task in page.tasks
        ]  # rows: dicts since 2026-11-29
        expected = limit_find(raw, shape, which, needle)
        assert ids == expected, (key, ids[:5], expected[:5])
        naive = [r[0] for r in fns["seed"]()]
        how = "same query by hand"
        best = t["limit"]
        if key == "error_contains" and t["instr"] < best:
            best, how = t["instr"], "instr(lower(error)) by hand"
        elif key == "error_contains":
            how = f"error LIKE '%{needle}%' by hand"
        rows.append(
            Row(
                title,
                t["ours"],
                best,
                t["seed"],
                how,
                f"{len(ids)} ids equal; naive {'equal' if naive == expected else 'differs (ties/order)'}",
            )
        )
    return rows


# -- first top_errors, in a child process --------------------------------------------------------------------
def child_first_top(db: str, signatures: str) -> None:
    from self_improver.tools.errors import reports
    from self_improver.tools.errors.signature_store import SignatureStore
    from self_improver.tools.telemetry.mapping import TelemetryMapping
    from self_improver.tools.telemetry.source import TelemetryStore, open_source

    if os.environ.get("BENCH_MEMO_KNOWN") == "1":
        import telemetry_pg

        telemetry_pg.memo_known()
    location = db if db.startswith("postgresql://") else Path(db)
    store = TelemetryStore(open_source(location, TelemetryMapping()), "UTC", ANCHOR)
    ctx = reports.ErrorContext(store, SignatureStore(Path(signatures)))
    before = _current_rss_kb()  # now, not the high-water mark: imports may have peaked higher
    started = time.perf_counter()
    profile = None
    if os.environ.get("BENCH_PROFILE"):  # BENCH_PROFILE=out.prof: a cProfile of this first run
        import cProfile

        profile = cProfile.Profile()
        profile.enable()
    result = asyncio.run(reports.top_errors(ctx, days=7))
    seconds = time.perf_counter() - started
    if profile is not None:
        profile.disable()
        profile.dump_stats(os.environ["BENCH_PROFILE"])
    after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    count = (
        sqlite3.connect(signatures)
        .execute("SELECT COUNT(*), (SELECT COUNT(*) FROM task_signatures) FROM signatures")
        .fetchone()
    )
    print(
        json.dumps(
            {
                "seconds": seconds,
                "rss_before_mb": before / 1024,
                "rss_after_mb": after / 1024,
                "added_mb": (after - before) / 1024,
                "signatures": count[0],
                "clustered": count[1],
                "failed_in_window": result.failed_tasks,
            }
        )
    )


def _current_rss_kb() -> int:
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


def first_top_errors(path: Path | str, signatures: Path) -> dict[str, Any]:
    for suffix in ("", "-wal", "-shm"):
        Path(f"{signatures}{suffix}").unlink(missing_ok=True)
    done = subprocess.run(
        [sys.executable, __file__, "--child-first-top", str(path), str(signatures)],
        capture_output=True,
        text=True,
        env=_env(),
    )
    if done.returncode:
        raise RuntimeError(f"first top_errors failed ({done.returncode}): {done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


# -- nightly and serve ------------------------------------------------------------------------------------
def _env() -> dict[str, str]:
    """No SELF_IMPROVER_* settings from the caller; bytecode cached under bench/out/pycache, so our modules
    load from .pyc as an installed package's do (with PYTHONDONTWRITEBYTECODE=1 every start would compile
    the repository's ~250 modules while the SDK's come compiled from site-packages)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("SELF_IMPROVER_")}
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    env["PYTHONPYCACHEPREFIX"] = str(OUT / "pycache")
    return env


def run_nightly(db: Path | str, data_dir: Path, now: datetime) -> dict[str, Any]:
    patched = str(db).startswith("postgresql://") and os.environ.get("BENCH_MEMO_KNOWN") == "1"
    command = [
        *(
            [sys.executable, str(Path(__file__).parent / "pg_nightly_cli.py")]
            if patched
            else [str(VENV_BIN / "self-improver")]
        ),
        "nightly",
        "--telemetry-db",
        str(db),
        "--data-dir",
        str(data_dir),
        "--now",
        now.isoformat(),
        "--no-agent",
    ]
    timer = ["/usr/bin/time", "-v"] if Path("/usr/bin/time").exists() else []
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    started = time.perf_counter()
    done = subprocess.run(timer + command, capture_output=True, text=True, env=_env())
    seconds = time.perf_counter() - started
    rss = re.search(r"Maximum resident set size \(kbytes\): (\d+)", done.stderr)
    peak_mb = (
        int(rss.group(1)) / 1024
        if rss
        else max(before, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss) / 1024
    )
    steps = re.findall(r"nightly \[\d+/\d+\] (.+?): (\w+) \(([\d.]+) s\) - (.*)", done.stderr)
    if done.returncode not in (0, 1):
        raise RuntimeError(f"nightly exited {done.returncode}: {done.stderr[-2000:]}")
    return {
        "seconds": seconds,
        "peak_mb": peak_mb,
        "exit": done.returncode,
        "steps": [(title, status, float(s), detail[:140]) for title, status, s, detail in steps],
    }


MINIMAL_SERVER = """
from mcp.server.mcpserver import MCPServer

app = MCPServer("minimal")


@app.tool()
def ping(text: str) -> str:
    \"\"\"Echo the text.\"\"\"
    return text


app.run()
"""


CALLS = 40  # tool calls timed per server start, after one warm-up call
CHEAPEST = {"ours": ("find_tasks", {"status": "failed", "limit": 1}), "minimal": ("ping", {"text": "x"})}


async def _tools_list(command: str, args: list[str], call: tuple[str, dict[str, Any]]) -> tuple[float, ...]:
    """Start-up to the first tools/list, a second tools/list, the tool count, and the median of CALLS
    calls of `call` (one tool call's full round trip over stdio)."""
    from mcp import Client, StdioServerParameters

    params = StdioServerParameters(command=command, args=args, env=_env())
    started = time.perf_counter()
    async with Client(params) as client:
        first = await client.list_tools()
        startup = time.perf_counter() - started
        again = time.perf_counter()
        await client.list_tools()
        warm = time.perf_counter() - again
        await client.call_tool(*call)
        calls = []
        for _ in range(CALLS):
            at = time.perf_counter()
            answer = await client.call_tool(*call)
            calls.append(time.perf_counter() - at)
            assert not answer.is_error, answer
    return startup * 1000, warm * 1000, len(first.tools), statistics.median(calls) * 1000


def serve_latency(db: Path, repeat: int) -> dict[str, Any]:
    """`serve` against a one-tool server on the same SDK: start-up to tools/list, and the fixed cost of a
    tool call (our cheapest useful call, a one-row find_tasks page, against the minimal server's echo)."""
    with tempfile.TemporaryDirectory() as tmp:
        script = Path(tmp) / "minimal_server.py"
        script.write_text(MINIMAL_SERVER)
        ours_args = ["serve", "--telemetry-db", str(db), "--data-dir", tmp, "--now", ANCHOR.isoformat()]
        commands = {
            "ours": (str(VENV_BIN / "self-improver"), ours_args),
            "minimal": (sys.executable, [str(script)]),
        }
        samples: dict[str, list[tuple[float, ...]]] = {"ours": [], "minimal": []}
        for name, (command, args) in commands.items():  # warm-up: fills the .pyc cache
            asyncio.run(_tools_list(command, args, CHEAPEST[name]))
        for _ in range(repeat):
            for name, (command, args) in commands.items():
                samples[name].append(asyncio.run(_tools_list(command, args, CHEAPEST[name])))
    found = {}
    for name, values in samples.items():
        found[name] = {
            "startup_ms": statistics.median(v[0] for v in values),
            "warm_ms": statistics.median(v[1] for v in values),
            "tools": values[0][2],
            "call_ms": statistics.median(v[3] for v in values),
        }
    return found


# -- main ---------------------------------------------------------------------------------------------------
def print_rows(label: str, rows: list[Row]) -> None:
    print(f"\n{label}")
    print(
        f"{'tool':<38} {'ours':>9} {'limit':>9} {'seed':>10} {'ours/limit':>10} {'ours/seed':>9}  limit = ; answer"
    )
    for r in rows:
        print(
            f"{r.tool:<38} {ms(r.ours):>9} {ms(r.limit):>9} {ms(r.seed):>10} {r.vs_limit:>9.2f}x {r.vs_seed:>8.3f}x  {r.limit_how}; {r.check}"
        )


def ms(value: float) -> str:
    return f"{value:.1f}ms" if value >= 10 else f"{value:.2f}ms" if value >= 0.1 else f"{value * 1000:.0f}us"


def use_committed_tree() -> str:
    """Import `self_improver` from HEAD's committed files (a `git archive` export under bench/out/committed/),
    not the working tree, which other people may be editing: this process and every child (PYTHONPATH)."""
    head = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout.strip()
    tree = OUT / "committed" / head
    package = tree / "self_improver"
    if not (package / "__init__.py").exists():
        tree.mkdir(parents=True, exist_ok=True)
        archive = subprocess.run(
            ["git", "archive", "--format=tar", "HEAD", "server", "tools", "prompts", "examples"],
            cwd=ROOT, capture_output=True, check=True,
        ).stdout  # fmt: skip
        subprocess.run(["tar", "-x", "-C", str(tree)], input=archive, check=True)
        package.mkdir(exist_ok=True)
        for top in ("server", "tools", "prompts", "examples"):
            link = package / top
            if not link.exists():
                link.symlink_to(tree / top)
        (package / "__init__.py").write_text("")
    sys.path.insert(0, str(tree))
    os.environ["PYTHONPATH"] = os.pathsep.join(filter(None, [str(tree), os.environ.get("PYTHONPATH")]))
    import self_improver

    assert Path(self_improver.__file__).parent == package, self_improver.__file__
    return f"{head} (committed tree: git archive HEAD, working-tree edits not measured)"


def code_state() -> str:
    """The commit measured, and whether the code under it had uncommitted changes (read-only git calls)."""
    try:
        head = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--short", "--", "tools", "server"], cwd=ROOT, capture_output=True, text=True
        ).stdout.split("\n")
    except OSError:
        return "unknown"
    changed = [line[3:] for line in dirty if line.strip()]
    return f"{head}" + (
        f" + uncommitted changes in {len(changed)} file(s) of tools/, server/" if changed else ""
    )


def markdown(results: list[dict[str, Any]]) -> str:
    lines = [
        "| store | tool | ours | limit | seed | ours/limit | ours/seed |",
        "|-------|------|-----:|------:|-----:|-----------:|----------:|",
    ]
    for store in results:
        name = f"{_engine(store)}{store['scenario']} {store['rate'] // 1000}k/day {store['rows'] / 1e6:g}M {store['shape']}"
        for r in store["tools"]:
            lines.append(
                f"| {name} | {r['tool']} | {ms(r['ours'])} | {ms(r['limit'])} | {ms(r['seed'])} | "
                f"{r['ours'] / r['limit']:.2f}x | {r['ours'] / r['seed']:.2f}x |"
            )
    return "\n".join(lines)


def _engine(store: dict[str, Any]) -> str:
    return "postgresql " if store.get("engine") == "postgresql" else ""


def growth(results: list[dict[str, Any]]) -> list[str]:
    """How each figure grows from the smallest to the largest store of one engine, scenario rate and shape."""
    lines = []
    groups: dict[tuple[Any, ...], list[dict[str, Any]]] = {}
    for store in results:
        key = (store.get("engine", "sqlite"), store["scenario"], store["rate"], store["shape"])
        groups.setdefault(key, []).append(store)
    for (engine, scenario, rate, shape), stores in groups.items():
        if len(stores) < 2:
            continue
        small, big = min(stores, key=lambda s: s["rows"]), max(stores, key=lambda s: s["rows"])
        lines.append(
            f"{engine} {scenario} {rate // 1000}k/day {shape}, {small['rows'] / 1e6:g}M -> {big['rows'] / 1e6:g}M rows "
            f"(x{big['rows'] / small['rows']:g}): ours / limit / seed grow"
        )
        for a, b in zip(small["tools"], big["tools"], strict=True):
            lines.append(
                f"  {a['tool']:<38} x{b['ours'] / a['ours']:.2f} / x{b['limit'] / a['limit']:.2f} / "
                f"x{b['seed'] / a['seed']:.2f}; ours/limit {a['ours'] / a['limit']:.2f}x -> {b['ours'] / b['limit']:.2f}x"
            )
    return lines


def targets(results: list[dict[str, Any]], extra: dict[str, Any]) -> list[str]:
    """The issue's targets, each with its figure and whether it holds."""
    found, seed = [], []
    for store in results:
        name = f"{_engine(store)}{store['scenario']} {store['rate'] // 1000}k/day {store['rows']:,} {store['shape']}"
        for r in store["tools"]:
            within, not_slower = r["ours"] <= 2 * r["limit"], r["ours"] <= r["seed"]
            found.append(
                f"{'ok  ' if within else 'MISS'} {name}: {r['tool']}: ours/limit {r['ours'] / r['limit']:.2f}x (<= 2)"
            )
            seed.append(
                f"{'ok  ' if not_slower else 'MISS'} {name}: {r['tool']}: ours/seed {r['ours'] / r['seed']:.2f}x "
                "(<= 1: never slower than the seed's SQL)"
            )
        first = store["first_top_errors"]
        if first is not None and store["rows"] >= 3_000_000:
            ok = first["seconds"] < 10 and first["added_mb"] < 300
            found.append(
                f"{'ok  ' if ok else 'MISS'} {name}: first top_errors {first['seconds']:.1f} s (< 10), "
                f"+{first['added_mb']:.0f} MB (< 300)"
            )
    for key in ("nightly", "pg_nightly"):
        if key not in extra:
            continue
        first, steady = extra[key]["first"], extra[key]["steady"]
        ok = steady["seconds"] < 15 and steady["peak_mb"] < 500 and first["seconds"] < 60
        found.append(
            f"{'ok  ' if ok else 'MISS'} nightly on {extra[key]['store']}: steady {steady['seconds']:.1f} s "
            f"(< 15), peak {steady['peak_mb']:.0f} MB (< 500); first night {first['seconds']:.1f} s (< 60), "
            f"peak {first['peak_mb']:.0f} MB"
        )
    if "serve" in extra:
        ratio = extra["serve"]["ours"]["startup_ms"] / extra["serve"]["minimal"]["startup_ms"]
        found.append(
            f"{'ok  ' if ratio <= 1.3 else 'MISS'} serve start-up to first tools/list: {ratio:.2f}x a minimal server (<= 1.3)"
        )
        above = extra["serve"]["ours"]["call_ms"] - extra["serve"]["minimal"]["call_ms"]
        found.append(
            f"{'ok  ' if above < 1.0 else 'MISS'} a tool call's fixed cost: {above:.2f} ms above the protocol floor (< 1)"
        )
    return found + seed


def run_postgres(
    args: argparse.Namespace,
    scenarios: list[Scenario],
    sizes: list[int],
    results: list[dict[str, Any]],
    extra: dict[str, Any],
) -> None:
    """The PostgreSQL case: the same rows in a throwaway cluster (see bench/telemetry_pg.py)."""
    import telemetry_pg

    if args.pg_memo_known:
        os.environ["BENCH_MEMO_KNOWN"] = "1"  # this process, the first-top_errors child and nightly
        telemetry_pg.memo_known()
    cluster = telemetry_pg.Cluster()
    cluster.start()
    try:
        print(f"PostgreSQL {cluster.version()} on 127.0.0.1:{cluster.port}, data {telemetry_pg.DATA}")
        last: str | None = None
        for scenario in scenarios:
            for rows in sizes:
                for shape in args.pg_shapes.split(","):
                    url = telemetry_pg.load(cluster, scenario, rows, shape, args.pg_rebuild)
                    signatures = OUT / f"pg_{telemetry_pg.db_name(scenario, rows, shape)}.signatures.db"
                    first = first_top_errors(url, signatures)
                    measured, sent = telemetry_pg.measure_tools(
                        url, shape, signatures, args.repeat, NEEDLES[scenario.name]
                    )
                    label = (
                        f"PostgreSQL: {scenario.label}, {rows:,} rows ({rows / scenario.rate:.1f} days), {shape}; "
                        f"first top_errors on a fresh signature store {first['seconds']:.2f} s, +{first['added_mb']:.0f} "
                        f"MB max RSS ({first['clustered']:,} failed tasks clustered into {first['signatures']} signatures)"
                    )
                    print_rows(label, measured)
                    telemetry_pg.print_sent(sent)
                    results.append(
                        {
                            "engine": "postgresql",
                            "scenario": scenario.name,
                            "rate": scenario.rate,
                            "rows": rows,
                            "shape": shape,
                            "first_top_errors": first,
                            "tools": [r.__dict__ for r in measured],
                            "sent": sent,
                            "memo_known": args.pg_memo_known,
                        }
                    )
                    if scenario.name == "production" and shape == "timestamptz":
                        last = url
        if args.nightly and last is not None:
            with tempfile.TemporaryDirectory() as data_dir:
                first_night = run_nightly(last, Path(data_dir), ANCHOR - timedelta(days=1))
                second_night = run_nightly(last, Path(data_dir), ANCHOR)
            store = last.rsplit("/", 1)[-1]
            extra["pg_nightly"] = {
                "store": f"postgresql {store}",
                "first": first_night,
                "steady": second_night,
            }
            for name, night in (("first night", first_night), ("steady night", second_night)):
                print(
                    f"\nnightly on PostgreSQL {store}, {name}: {night['seconds']:.1f} s, peak RSS "
                    f"{night['peak_mb']:.0f} MB, exit {night['exit']}"
                )
                for title, status, seconds, detail in night["steps"]:
                    print(f"  {title:<42} {status:<8} {seconds:>6.1f} s  {detail}")
    finally:
        cluster.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--scenarios", default="today,production")
    parser.add_argument("--sizes", default="1000000")
    parser.add_argument("--rows-per-day", type=int, default=PRODUCTION_RATE, help="production traffic a day")
    parser.add_argument("--shapes", default="canonical,epoch", help="canonical, epoch, epoch_ms")
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument(
        "--tools",
        default=",".join(TOOLS),
        help="which tools to time on the SQLite stores (without top_errors, no first-run subprocess either)",
    )
    parser.add_argument(
        "--nightly", action="store_true", help="also time `self-improver nightly` on the last store"
    )
    parser.add_argument("--serve", action="store_true", help="also time `self-improver serve` tools/list")
    parser.add_argument("--serve-repeat", type=int, default=5)
    parser.add_argument(
        "--json",
        type=lambda v: Path(v) if v else None,
        default=OUT / "telemetry_results.json",
        help="append results here ('' for none)",
    )
    parser.add_argument("--engine", choices=("sqlite", "postgres", "both"), default="sqlite")
    parser.add_argument(
        "--pg-shapes", default="timestamptz", help="PostgreSQL created_at types: timestamptz, epoch (bigint)"
    )
    parser.add_argument("--pg-rebuild", action="store_true", help="reload the PostgreSQL databases")
    parser.add_argument(
        "--pg-memo-known",
        action="store_true",
        help="stand in for the one-line fix of PostgresTaskSource._failed_page's per-id skip() call (telemetry_pg.memo_known)",
    )
    parser.add_argument(
        "--committed", action="store_true", help="measure HEAD's committed code, not the working tree"
    )
    parser.add_argument("--child-first-top", nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child_first_top:
        child_first_top(*args.child_first_top)
        return
    state = use_committed_tree() if args.committed else code_state()
    print(
        f"code: {state}; python {sys.version.split()[0]}, sqlite {sqlite3.sqlite_version}, load {os.getloadavg()[0]:.1f}"
    )
    scenarios = [
        Scenario(name, TODAY_RATE if name == "today" else args.rows_per_day)
        for name in args.scenarios.split(",")
    ]
    sizes = [int(s) for s in args.sizes.split(",")]
    shapes = args.shapes.split(",")
    results: list[dict[str, Any]] = []
    last: Path | None = None
    extra: dict[str, Any] = {}
    if args.engine in ("postgres", "both"):
        run_postgres(args, scenarios, sizes, results, extra)
    for scenario in scenarios if args.engine in ("sqlite", "both") else []:
        for rows in sizes:
            for shape in shapes:
                path = build_store(scenario, rows, shape)
                signatures = path.with_suffix(".signatures.db")
                tools = tuple(args.tools.split(","))
                first = first_top_errors(path, signatures) if "top_errors" in tools else None
                measured = measure_tools(path, shape, signatures, args.repeat, NEEDLES[scenario.name], tools)
                label = f"{scenario.label}, {rows:,} rows ({rows / scenario.rate:.1f} days), {shape}" + (
                    ""
                    if first is None
                    else f"; first top_errors on a fresh signature store {first['seconds']:.2f} s, +"
                    f"{first['added_mb']:.0f} MB max RSS ({first['clustered']:,} failed tasks clustered into "
                    f"{first['signatures']} signatures)"
                )
                print_rows(label, measured)
                results.append(
                    {
                        "engine": "sqlite",
                        "scenario": scenario.name,
                        "rate": scenario.rate,
                        "rows": rows,
                        "shape": shape,
                        "first_top_errors": first,
                        "tools": [r.__dict__ for r in measured],
                    }
                )
                if scenario.name == "production" and shape == "canonical":
                    last = path
    if args.nightly and last is not None:
        with tempfile.TemporaryDirectory() as data_dir:
            first_night = run_nightly(last, Path(data_dir), ANCHOR - timedelta(days=1))
            second_night = run_nightly(last, Path(data_dir), ANCHOR)
        extra["nightly"] = {"store": last.name, "first": first_night, "steady": second_night}
        for name, night in (("first night", first_night), ("steady night", second_night)):
            print(
                f"\nnightly on {last.name}, {name}: {night['seconds']:.1f} s, peak RSS {night['peak_mb']:.0f} MB, exit {night['exit']}"
            )
            for title, status, seconds, detail in night["steps"]:
                print(f"  {title:<42} {status:<8} {seconds:>6.1f} s  {detail}")
    if args.serve:
        db = last or store_path(scenarios[-1], sizes[-1], "canonical")
        serve = serve_latency(db, args.serve_repeat)
        extra["serve"] = serve
        o, m = serve["ours"], serve["minimal"]
        print(
            f"\nserve, start-up to first tools/list: ours {o['startup_ms']:.0f} ms ({o['tools']} tools), minimal "
            f"{m['startup_ms']:.0f} ms ({m['tools']} tool), ratio {o['startup_ms'] / m['startup_ms']:.2f}x; "
            f"a second tools/list {o['warm_ms']:.1f} ms vs {m['warm_ms']:.1f} ms; a tool call (one-row find_tasks "
            f"page against an echo) {o['call_ms']:.2f} ms vs {m['call_ms']:.2f} ms"
        )
    print("\n" + markdown(results))
    for line in growth(results):
        print(line)
    print("\ntargets:")
    for line in targets(results, extra):
        print("  " + line)
    print(f"load average at the end: {' '.join(f'{x:.1f}' for x in os.getloadavg())}")
    if args.json:
        args.json.parent.mkdir(exist_ok=True)
        history = json.loads(args.json.read_text()) if args.json.exists() else []
        history.append(
            {
                "at": datetime.now(UTC).isoformat(timespec="seconds"),
                "argv": sys.argv[1:],
                "code": state,
                "load": os.getloadavg(),
                "stores": results,
                **extra,
            }
        )
        args.json.write_text(json.dumps(history, indent=1))


if __name__ == "__main__":
    main()
