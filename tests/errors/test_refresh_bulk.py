"""The bulk paths of a refresh: digit shapes, the JSON insert against `executemany`, and the write of one
batch running beside the read of the next."""

from __future__ import annotations

import asyncio
import gc
import random
import re
import sqlite3
from pathlib import Path
from typing import Any

import pytest
from self_improver.examples.demo_telemetry import DEMO_ANCHOR, build_demo_db
from self_improver.tools.errors import refresh, signature_writes
from self_improver.tools.errors.refresh import digit_shape, refresh_signatures
from self_improver.tools.errors.signature_store import Assignment, SignatureStore
from self_improver.tools.telemetry.mapping import TelemetryMapping
from self_improver.tools.telemetry.source import TelemetryStore, open_source

PREVIOUS_DIGITS = re.compile(r"(?=[0-9a-fA-F]*\d)[0-9a-fA-F]{6,}|\d+")  # the pattern before the fast one


def test_digit_shape_masks_as_the_previous_pattern() -> None:
    tricky = [
        "",
        "x",
        "9",
        "deadbeef",
        "xdeadbeef1",
        "ab12cd",
        "a12b",
        "123abc",
        "abc123",
        "ffffff9",
        "aaaaa0",
        "0aaaaa",
        "a0aaaa b",
        "zz0123456789abcdefzz",
        "g1234567h",
        "abcdef\u0663",  # an Arabic-Indic digit right after a hex run
        "fffff\u0663",
        "\u0663\u0664abc",
        "request 5c63cfc0 took 86s on node-23",
    ]
    rng = random.Random(10)
    pool = "0123456789abcdefABCDEFghxyz _-:./\u0663\u00e9"
    tricky += ["".join(rng.choice(pool) for _ in range(rng.randrange(30))) for _ in range(5000)]
    for text in tricky:
        assert digit_shape(text) == PREVIOUS_DIGITS.sub("0", text), text


def _rows(store: Path) -> tuple[list[Any], list[Any]]:
    with sqlite3.connect(store) as conn:
        tasks = conn.execute("SELECT rowid, task_id, typeof(task_id), * FROM task_signatures ORDER BY rowid")
        signatures = conn.execute(
            "SELECT rowid, signature, title, error_type, template, first_seen, last_seen, occurrences, shape, "
            "algorithm FROM signatures ORDER BY rowid"
        )
        return tasks.fetchall(), signatures.fetchall()


def _assignment(
    task_id: Any, signature: str, created: str, title: str = "t", agent: str | None = "a"
) -> Assignment:
    return Assignment(
        task_id, signature, title, "KeyError", f"template {signature}", created, agent, f"shape {signature}"
    )


BATCHES = [
    [
        _assignment(1, "aaa", "2026-01-02 00:00:00", title="first of aaa"),
        _assignment(2, "bbb", "2026-01-01 00:00:00"),
        _assignment(3, "aaa", "2026-01-01 00:00:00", title="second of aaa"),
        _assignment(2, "ccc", "2026-01-03 00:00:00"),  # a repeated id: its last row, at its first place
        _assignment("t-9", "bbb", "2026-01-05 00:00:00", agent=None),
    ],
    [
        _assignment(1, "ddd", "2026-01-09 00:00:00"),  # stored already: neither inserted nor counted
        _assignment(4, "aaa", "2025-12-31 00:00:00", title="later title"),
        _assignment(5, "ddd", "2026-01-04 00:00:00", title="ddd"),
    ],
]


@pytest.mark.parametrize("json_path", [True, False])
def test_record_writes_the_same_rows_through_json_and_executemany(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, json_path: bool
) -> None:
    monkeypatch.setattr(signature_writes, "_json_works", None if json_path else False)
    store = SignatureStore(tmp_path / "signatures.db")
    added = [store.record(batch, 3) for batch in BATCHES]
    assert added == [4, 2]
    tasks, signatures = _rows(tmp_path / "signatures.db")
    assert [(r[1], r[2], r[4]) for r in tasks] == [
        (1, "integer", "aaa"),
        (2, "integer", "ccc"),
        (3, "integer", "aaa"),
        ("t-9", "text", "bbb"),
        (4, "integer", "aaa"),
        (5, "integer", "ddd"),
    ]
    assert [r[1:] for r in signatures] == [
        (
            "aaa",
            "first of aaa",
            "KeyError",
            "template aaa",
            "2025-12-31 00:00:00",
            "2026-01-02 00:00:00",
            3,
            "shape aaa",
            3,
        ),
        (
            "ccc",
            "t",
            "KeyError",
            "template ccc",
            "2026-01-03 00:00:00",
            "2026-01-03 00:00:00",
            1,
            "shape ccc",
            3,
        ),
        (
            "bbb",
            "t",
            "KeyError",
            "template bbb",
            "2026-01-05 00:00:00",
            "2026-01-05 00:00:00",
            1,
            "shape bbb",
            3,
        ),
        (
            "ddd",
            "ddd",
            "KeyError",
            "template ddd",
            "2026-01-04 00:00:00",
            "2026-01-04 00:00:00",
            1,
            "shape ddd",
            3,
        ),
    ]
    assert signature_writes._json_works is (True if json_path else False)


def test_values_json_would_change_go_through_executemany(tmp_path: Path) -> None:
    store = SignatureStore(tmp_path / "signatures.db")
    assert store.record([_assignment(b"\x01", "aaa", "2026-01-01 00:00:00")], 3) == 1
    with pytest.raises(OverflowError):  # as before: SQLite has no integer that large
        store.record([_assignment(2**70, "aaa", "2026-01-01 00:00:00")], 3)
    tasks, _ = _rows(tmp_path / "signatures.db")
    assert [(r[1], r[2]) for r in tasks] == [(b"\x01", "blob")]


def _telemetry(db: Path) -> TelemetryStore:
    return TelemetryStore(open_source(db, TelemetryMapping()), "UTC", DEMO_ANCHOR)


async def test_small_batches_pipelined_keep_every_count_consistent(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    night = build_demo_db(tmp_path / "telemetry.db")
    whole = SignatureStore(tmp_path / "whole.db")
    await refresh_signatures(_telemetry(night.path), whole)
    monkeypatch.setattr(refresh, "BATCH", 37)  # many batches, each written while the next is read
    batched = SignatureStore(tmp_path / "batched.db")
    report = await refresh_signatures(_telemetry(night.path), batched)
    tasks, signatures = _rows(tmp_path / "batched.db")
    assert report.new_tasks == len(tasks) == report.scanned == len(_rows(tmp_path / "whole.db")[0])
    assert report.new_signatures == len(signatures)
    with sqlite3.connect(tmp_path / "batched.db") as conn:
        mismatched = conn.execute(
            "SELECT s.signature FROM signatures s JOIN (SELECT signature, COUNT(*) n, MIN(created_at) lo, "
            "MAX(created_at) hi FROM task_signatures GROUP BY signature) t USING (signature) "
            "WHERE s.occurrences != t.n OR s.first_seen != t.lo OR s.last_seen != t.hi"
        ).fetchall()
    assert mismatched == []
    assert gc.isenabled()  # paused while clustering only


async def test_a_failed_write_fails_the_refresh_after_the_read_stops(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    night = build_demo_db(tmp_path / "telemetry.db")
    monkeypatch.setattr(refresh, "BATCH", 37)
    store = SignatureStore(tmp_path / "signatures.db")
    calls = []
    original = store.record_rows

    def failing(*args: Any) -> int:
        calls.append(len(args[0]))
        if len(calls) == 2:
            raise sqlite3.OperationalError("disk I/O error")
        return original(*args)

    monkeypatch.setattr(store, "record_rows", failing)
    with pytest.raises(sqlite3.OperationalError, match="disk I/O"):
        await refresh_signatures(_telemetry(night.path), store)
    assert len(calls) == 2  # no batch is analysed on top of a failed write
    assert await asyncio.to_thread(store.watermark) is None  # nor is the span marked covered
    assert gc.isenabled()
