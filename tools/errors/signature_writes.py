"""Bulk writes of task -> signature assignments into the signature store (`SignatureStore.record_rows`).

A first refresh writes every failed task of the lookback (561k rows at 10M telemetry rows). The rows of a
batch go to SQLite as one JSON document and are inserted by one statement over `json_each`: SQLite then
steps through the whole batch in C with the GIL released (`executemany` takes the GIL back for every row),
so the write of one batch runs beside the reading of the next (json_each parses the document in C; the
statement costs about the same CPU as `executemany`). The per-signature aggregates (first and last seen,
count, first row) are a Python pass over the rows (4x cheaper than a GROUP BY over the document). Where
SQLite has no JSON functions, or a value does not survive JSON (bytes, non-finite floats, integers beyond
64 bits), the rows go through `executemany`.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Sequence
from typing import Any

# (task_id, signature, created_at, agent, release, detail): `detail` indexes the batch's details list.
TaskRow = tuple[Any, str, str, str | None, str | None, int]
# (title, error_type, template, shape) of a signature, taken from its first new task in the batch.
Detail = tuple[str, str | None, str, str | None]
# (signature, first_seen, last_seen, new tasks, index of its first new row)
Aggregate = tuple[str, str, str, int, int]

_INT64 = (-(2**63), 2**63 - 1)
_JSON_INSERT = (
    "INSERT OR IGNORE INTO task_signatures(task_id, signature, created_at, agent, release) "
    "SELECT json_extract(value, '$[0]'), json_extract(value, '$[1]'), json_extract(value, '$[2]'), "
    "json_extract(value, '$[3]'), json_extract(value, '$[4]') FROM json_each(?)"
)
_PLAIN_INSERT = (
    "INSERT OR IGNORE INTO task_signatures(task_id, signature, created_at, agent, release) VALUES (?,?,?,?,?)"
)
_UPSERT = (
    "INSERT INTO signatures(signature, title, error_type, template, first_seen, last_seen, "
    "occurrences, shape, algorithm) VALUES (?,?,?,?,?,?,?,?,?) ON CONFLICT(signature) DO UPDATE SET "
    "first_seen = min(first_seen, excluded.first_seen), "
    "last_seen = max(last_seen, excluded.last_seen), occurrences = occurrences + excluded.occurrences"
)
_json_works: bool | None = None  # whether this SQLite has json_each (learned on first use)


def unique_rows(rows: Sequence[TaskRow]) -> list[TaskRow]:
    """One row per task id: a repeated id keeps its first position and its last row (as a dict would)."""
    if len({r[0] for r in rows}) == len(rows):
        return list(rows)
    return list({r[0]: r for r in rows}.values())


def write_rows(
    conn: sqlite3.Connection, rows: Sequence[TaskRow], details: Sequence[Detail], algorithm: int
) -> int:
    """Insert the (new) task rows and add them to their signatures' rows, in the connection's open
    transaction; returns how many task rows were inserted. Signatures are upserted in the order of their
    first row, with the details of that row."""
    if not rows:
        return 0
    before = conn.total_changes
    doc = _as_json(rows)
    if doc is None or not _json_insert(conn, doc):
        conn.executemany(_PLAIN_INSERT, [r[:5] for r in rows])
    added = conn.total_changes - before
    values = []
    for signature, first, last, count, row in _aggregate(rows):
        title, error_type, template, shape = details[rows[row][5]]
        values.append((signature, title, error_type, template, first, last, count, shape, algorithm))
    conn.executemany(_UPSERT, values)
    return added


def _json_insert(conn: sqlite3.Connection, doc: str) -> bool:
    """The insert through `json_each`; False (nothing written) when this SQLite has no JSON functions."""
    global _json_works
    if _json_works is False:
        return False
    try:
        conn.execute(_JSON_INSERT, (doc,))
    except UnicodeEncodeError:  # a lone surrogate: the plain path raises the error it always has
        return False
    except sqlite3.OperationalError as error:
        if "json" not in str(error).lower():
            raise
        _json_works = False
        return False
    _json_works = True
    return True


def _as_json(rows: Sequence[TaskRow]) -> str | None:
    """The rows as one JSON array, when every value reads back from JSON as SQLite would have bound it
    (not so for integers beyond 64 bits, bytes or non-finite floats)."""
    low, high = _INT64
    if any(type(r[0]) is int and not low <= r[0] <= high for r in rows):
        return None
    try:
        return json.dumps(rows, ensure_ascii=False, allow_nan=False, check_circular=False)
    except (TypeError, ValueError):
        return None


def _aggregate(rows: Sequence[TaskRow]) -> list[Aggregate]:
    """Per signature, in the order of its first row: first and last created_at, rows, first row."""
    per_signature: dict[str, list[Any]] = {}
    for index, r in enumerate(rows):
        entry = per_signature.get(r[1])
        if entry is None:
            per_signature[r[1]] = [r[1], r[2], r[2], 1, index]
        else:
            entry[1] = min(entry[1], r[2])
            entry[2] = max(entry[2], r[2])
            entry[3] += 1
    return [tuple(e) for e in per_signature.values()]  # type: ignore[misc]
