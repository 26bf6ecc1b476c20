"""Telemetry latency: our tools against the seed article's raw SQL on the same file, same process.

Builds stores of 1M and 10M tasks (generated inside SQLite, cached under bench/out/, never committed)
at the same traffic, 27,000 tasks a day (so 10M rows is 370 days of history and 1M is 37), then times `telemetry_summary(day)` and `top_errors(days=7)` against the seed's
two queries. The seed's `date(created_at) = ...` can use no index and scans every row; ours reads only
the window's rows, so its latency should stay nearly flat as the table grows.

    python bench/telemetry_bench.py              # 1M and 10M rows (first build of 10M takes minutes)
    python bench/telemetry_bench.py --sizes 100000,1000000 --repeat 3
"""

from __future__ import annotations

import argparse
import asyncio
import sqlite3
import statistics
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

from self_improver.tools.errors import reports
from self_improver.tools.errors.signature_store import SignatureStore
from self_improver.tools.telemetry import queries
from self_improver.tools.telemetry.schema import open_writable
from self_improver.tools.telemetry.store import TelemetryStore

ANCHOR = datetime(2026, 2, 16, 0, 17, tzinfo=UTC)
ROWS_PER_DAY = 27_000
OUT = Path(__file__).resolve().parent / "out"
SEED_DAILY = (
    "SELECT status, COUNT(*) FROM tasks WHERE date(created_at) = date(:now, '-1 day') GROUP BY status"
)
SEED_ERRORS = (
    "SELECT error, COUNT(*) as count FROM tasks WHERE date(created_at) >= date(:now, '-7 days') "
    "AND status = 'failed' GROUP BY error ORDER BY count DESC"
)
# Error families with varying values, so grouping has real work to do (about 8% of tasks fail).
BUILD_SQL = """
WITH RECURSIVE seq(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM seq WHERE i < :n - 1)
INSERT INTO tasks (status, error, error_type, created_at, agent, task_name, duration_ms)
SELECT
  CASE WHEN r % 100 < 8 THEN 'failed' ELSE 'done' END,
  CASE WHEN r % 100 >= 8 THEN NULL
       WHEN r % 4 = 0 THEN 'TimeoutError: IMAP timeout after ' || (20 + r % 20) || 's on imap' || (r % 7) || '.example.com'
       WHEN r % 4 = 1 THEN 'Gateway timeout: upstream llm-gw-' || (r % 5) || '.internal:8443 did not respond within '
                           || (10 + r % 50) || 's (request ' || printf('%08x', r) || ')'
       WHEN r % 4 = 2 THEN 'KeyError: ''thread_id'''
       ELSE 'ValueError: invalid literal for int() with base 10: ''' || (r % 997) || 'x'''
  END,
  CASE WHEN r % 100 >= 8 THEN NULL WHEN r % 4 < 2 THEN 'TimeoutError' WHEN r % 4 = 2 THEN 'KeyError'
       ELSE 'ValueError' END,
  datetime(:start_jd + (i * 1.0 * :span / :n)),
  'agent-' || (r % 3),
  'task-' || (r % 11),
  r % 5000
FROM (SELECT i, abs(random()) AS r FROM seq)
"""


def build_store(rows: int) -> Path:
    OUT.mkdir(exist_ok=True)
    path = OUT / f"telemetry_{rows}_{ROWS_PER_DAY}perday.db"
    if path.exists():
        return path
    started = time.perf_counter()
    print(f"building {rows:,} rows -> {path} ...", file=sys.stderr, flush=True)
    tmp = path.with_suffix(".building")
    tmp.unlink(missing_ok=True)
    conn = open_writable(str(tmp))
    conn.execute("PRAGMA journal_mode = OFF")
    end_jd = conn.execute("SELECT julianday(?)", (ANCHOR.strftime("%Y-%m-%d %H:%M:%S"),)).fetchone()[0]
    with conn:
        span = rows / ROWS_PER_DAY
        conn.execute(BUILD_SQL, {"n": rows, "start_jd": end_jd - span, "span": span})
    conn.execute("PRAGMA journal_mode = WAL")
    conn.close()
    tmp.rename(path)
    print(f"built in {time.perf_counter() - started:.0f} s", file=sys.stderr)
    return path


def timed(fn, repeat: int) -> float:
    fn()  # warm the page cache so both sides read from memory
    samples = []
    for _ in range(repeat):
        started = time.perf_counter()
        fn()
        samples.append(time.perf_counter() - started)
    return statistics.median(samples) * 1000


def measure(path: Path, repeat: int) -> dict[str, float]:
    store = TelemetryStore(path, "UTC", ANCHOR)
    signatures = path.with_suffix(".signatures.db")
    signatures.unlink(missing_ok=True)
    errors = reports.ErrorContext(store, SignatureStore(signatures))
    raw = sqlite3.connect(path)
    now = {"now": ANCHOR.strftime("%Y-%m-%d %H:%M:%S")}
    started = time.perf_counter()
    asyncio.run(reports.top_errors(errors, days=7))  # first run: clusters the last 90 days once
    first_run = (time.perf_counter() - started) * 1000
    results = {
        "summary_ours": timed(lambda: asyncio.run(queries.telemetry_summary(store, "yesterday")), repeat),
        "summary_seed": timed(lambda: raw.execute(SEED_DAILY, now).fetchall(), repeat),
        "top_ours": timed(lambda: asyncio.run(reports.top_errors(errors, days=7)), repeat),
        "top_seed": timed(lambda: raw.execute(SEED_ERRORS, now).fetchall(), repeat),
        "top_first_run": first_run,
    }
    ours = asyncio.run(queries.telemetry_summary(store, "yesterday"))
    seed = dict(raw.execute(SEED_DAILY, now).fetchall())
    assert ours.counts_by_status == seed, (ours.counts_by_status, seed)
    raw.close()
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="1000000,10000000")
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    table = {n: measure(build_store(n), args.repeat) for n in sizes}
    print(
        f"{'rows':>12} | {'summary ours':>12} {'seed':>10} {'ratio':>7} | {'top_errors ours':>15} {'seed':>10} {'ratio':>7}"
    )
    for n, r in table.items():
        print(
            f"{n:>12,} | {r['summary_ours']:>10.1f}ms {r['summary_seed']:>8.1f}ms {r['summary_seed'] / r['summary_ours']:>6.1f}x"
            f" | {r['top_ours']:>13.1f}ms {r['top_seed']:>8.1f}ms {r['top_seed'] / r['top_ours']:>6.1f}x"
            f" | first top_errors (clusters 90 days once) {r['top_first_run']:.0f}ms"
        )
    if len(sizes) >= 2:
        small, big = table[sizes[0]], table[sizes[-1]]
        growth = sizes[-1] / sizes[0]
        print(
            f"growth {sizes[0]:,} -> {sizes[-1]:,} rows ({growth:.0f}x): summary ours "
            f"{big['summary_ours'] / small['summary_ours']:.2f}x, seed {big['summary_seed'] / small['summary_seed']:.2f}x; "
            f"top_errors ours {big['top_ours'] / small['top_ours']:.2f}x, seed {big['top_seed'] / small['top_seed']:.2f}x"
        )


if __name__ == "__main__":
    main()
