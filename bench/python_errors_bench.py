"""Signature stability on real Python errors: same cause -> one signature, different causes -> different.

Each cause is a function in a small application module written to a temporary source root. Every variant
rewrites that module in a new directory with extra blank lines and comments (so every line number shifts)
and calls it with other values (keys, ports, timeouts, SQL table names, JSON documents), then captures the
real `traceback.format_exc()` text. Run: `python bench/python_errors_bench.py`.
"""

from __future__ import annotations

import argparse
import importlib.util
import random
import sys
import tempfile
import time
import traceback
from collections import defaultdict
from pathlib import Path
from types import ModuleType

from self_improver.tools.errors import analyze_error, cluster_messages

APP_SOURCE = '''
import asyncio
import json
import socket
import sqlite3


class ConfigError(Exception):
    """Raised when the configuration cannot be loaded."""


def parse_payload(text):
{pad}    return json.loads(text)


def query_missing_table(db_path, table):
{pad}    with sqlite3.connect(db_path) as conn:
        return conn.execute(f"SELECT * FROM {{table}}").fetchall()


def insert_duplicate(db_path, email):
{pad}    with sqlite3.connect(db_path) as conn:
        conn.execute("CREATE TABLE IF NOT EXISTS users (email TEXT UNIQUE)")
        conn.execute("INSERT INTO users VALUES (?)", (email,))
        conn.execute("INSERT INTO users VALUES (?)", (email,))


def connect_closed_port(port):
{pad}    with socket.create_connection(("127.0.0.1", port), timeout=1):
        pass


async def _slow(delay):
    await asyncio.sleep(delay)


def wait_too_long(timeout):
{pad}    async def main():
        await asyncio.wait_for(_slow(10), timeout)
    asyncio.run(main())


def lookup_user(users, key):
{pad}    return users[key]


def lookup_order(orders, key):
{pad}    return orders[key]


def render_context(obj):
{pad}    return obj._email_context_until


def parse_amount(text):
{pad}    return int(text)


def load_config(settings, key):
{pad}    try:
        return settings[key]
    except KeyError as exc:
        raise ConfigError(f"missing setting {{key}}") from exc


def retry_then_fail(value):
{pad}    try:
        return 1 / value
    except ZeroDivisionError:
        return {{}}["fallback_" + str(value)]


async def _failing_task(index):
    await asyncio.sleep(0)
    raise ValueError(f"task {{index}} failed with code {{index * 7}}")


def run_task_group(count):
{pad}    async def main():
        async with asyncio.TaskGroup() as group:
            for index in range(count):
                group.create_task(_failing_task(index))
    asyncio.run(main())
'''


def _free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _causes(app: ModuleType, workdir: Path, rng: random.Random, variant: int) -> dict[str, object]:
    """Cause name -> a zero-argument call that raises, with values that differ per variant."""
    word = "".join(rng.choice("abcdefghij") for _ in range(6))
    number = rng.randint(1, 10**6)
    db_path = workdir / f"db_{variant}.sqlite"
    return {
        "json_bad_document": lambda: app.parse_payload(
            rng.choice(["{bad", '{"a": 1,', "[1, 2", "", "{'k': 1}"])
        ),
        "sqlite_missing_table": lambda: app.query_missing_table(str(db_path), f"table_{word}_{number}"),
        "sqlite_unique_violation": lambda: app.insert_duplicate(str(db_path), f"{word}{number}@example.com"),
        "socket_connection_refused": lambda: app.connect_closed_port(_free_port()),
        "asyncio_wait_for_timeout": lambda: app.wait_too_long(rng.choice([0.001, 0.002, 0.005])),
        "keyerror_user": lambda: app.lookup_user({"id": 1}, rng.choice([f"user_{number}", word, number])),
        "keyerror_order": lambda: app.lookup_order({}, f"order-{number}"),
        "attributeerror_context": lambda: app.render_context(object()),
        "valueerror_int": lambda: app.parse_amount(rng.choice([word, f"{number}x", "1.5", ""])),
        "chained_config_error": lambda: app.load_config({}, f"{word}_timeout"),
        "during_handling_keyerror": lambda: app.retry_then_fail(0),
        "exception_group": lambda: app.run_task_group(rng.randint(1, 4)),
    }


def _load_variant(root: Path, variant: int, rng: random.Random) -> ModuleType:
    pad = "".join(rng.choice(["\n", "    # shifted\n", "    pass\n"]) for _ in range(rng.randint(0, 6)))
    header = "\n" * rng.randint(0, 30) + f"# generated module, variant {variant}\n"
    package = root / "app"
    package.mkdir(parents=True, exist_ok=True)
    path = package / "handlers.py"
    path.write_text(header + APP_SOURCE.format(pad=pad))
    spec = importlib.util.spec_from_file_location(f"bench_app_{variant}", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def generate(variants: int, seed: int = 7) -> list[tuple[str, str, str]]:
    """(cause, traceback text, source root) for every cause in every variant."""
    rng = random.Random(seed)
    samples: list[tuple[str, str, str]] = []
    with tempfile.TemporaryDirectory() as tmp:
        for variant in range(variants):
            root = Path(tmp) / f"release_{variant}_{rng.randint(0, 10**9)}"
            app = _load_variant(root, variant, rng)
            for cause, call in _causes(app, root, rng, variant).items():
                try:
                    call()  # type: ignore[operator]
                except BaseException:  # noqa: BLE001 - every error is a sample
                    samples.append((cause, traceback.format_exc(), str(root)))
                else:
                    raise RuntimeError(f"cause {cause} did not raise")
    return samples


def evaluate(labels: list[str], signatures: list[str]) -> tuple[int, int, list[str]]:
    """(stable causes, merged signature count, details) for one way of computing signatures."""
    by_cause: dict[str, set[str]] = defaultdict(set)
    causes_by_signature: dict[str, set[str]] = defaultdict(set)
    for label, signature in zip(labels, signatures, strict=True):
        by_cause[label].add(signature)
        causes_by_signature[signature].add(label)
    stable = sum(1 for sigs in by_cause.values() if len(sigs) == 1)
    merged = [sig for sig, causes in causes_by_signature.items() if len(causes) > 1]
    details = [f"  unstable: {cause} -> {sorted(sigs)}" for cause, sigs in by_cause.items() if len(sigs) > 1]
    details += [f"  merged: {sig} <- {sorted(causes_by_signature[sig])}" for sig in merged]
    return stable, len(merged), details


def run(variants: int) -> bool:
    started = time.perf_counter()
    samples = generate(variants)
    generated = time.perf_counter() - started
    labels = [cause for cause, _, _ in samples]
    causes = len(set(labels))
    ways = {
        "analyze_error(traceback, source_root)": [
            analyze_error("", text, source_root=root).signature for _, text, root in samples
        ],
        "analyze_error(traceback) no source root": [
            analyze_error("", text).signature for _, text, _ in samples
        ],
        "cluster_messages(traceback texts)": cluster_messages([text for _, text, _ in samples]),
        "cluster_messages(log line + traceback)": cluster_messages(
            [f"2026-02-15 10:00:{i % 60:02d} ERROR worker: {text}" for i, (_, text, _) in enumerate(samples)]
        ),
    }
    print(
        f"Python errors: {len(samples)} real tracebacks, {causes} causes x {variants} variants "
        f"(generated in {generated:.1f}s)"
    )
    ok = True
    for name, signatures in ways.items():
        stable, merged, details = evaluate(labels, signatures)
        print(
            f"  {name:<42} stable causes {stable}/{causes}, merged causes {merged}, "
            f"distinct signatures {len(set(signatures))}"
        )
        for line in details:
            print(line)
        ok = ok and stable == causes and merged == 0
    return ok


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--variants", type=int, default=20, help="variants per cause (default 20)")
    args = parser.parse_args(argv)
    return 0 if run(args.variants) else 1


if __name__ == "__main__":
    sys.exit(main())
