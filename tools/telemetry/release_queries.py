"""The two release questions of the task-source boundary, one function per engine.

- `task_releases(ids)`: the release each of the given tasks ran on (tasks without one are left out);
- `release_first_seen(window)`: the earliest created_at of each release among the tasks created in the
  window (an index-served range on the time column, grouped by release).

`SyncEngine` (engine.py) answers `{}` when the table has no `release` column, and otherwise runs the
engine's `_task_releases` / `_release_first_seen`: one-line calls into this module, so these queries
stay apart from the engines' other code.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from .timestamps import decode_any
from .windows import Window

CHUNK = 500


def sqlite_task_releases(source: Any, conn: Any, learned: Any, ids: list[Any]) -> dict[Any, str]:
    c = learned.columns
    found: dict[Any, str] = {}
    for start in range(0, len(ids), CHUNK):
        chunk = ids[start : start + CHUNK]
        marks = ",".join("?" for _ in chunk)
        for task_id, release in conn.execute(
            f"SELECT {c['id']}, {c['release']} FROM {source._table()} "
            f"WHERE {c['id']} IN ({marks}) AND {c['release']} IS NOT NULL",
            chunk,
        ):
            if str(release).strip():
                found[task_id] = str(release)
    return found


def sqlite_release_first_seen(source: Any, conn: Any, learned: Any, window: Window) -> dict[str, datetime]:
    from .sqlite_windows import sort_key, window_sql

    c = learned.columns
    params: dict[str, Any] = {}
    where = window_sql(learned, window, params)
    rows = conn.execute(
        f"SELECT {c['release']}, MIN({sort_key(learned)}) FROM {source._table()} "
        f"WHERE {where} AND {c['release']} IS NOT NULL GROUP BY {c['release']}",
        params,
    ).fetchall()
    return _first_seen(rows, learned)


def postgres_task_releases(source: Any, conn: Any, learned: Any, ids: list[Any]) -> dict[Any, str]:
    from psycopg import sql

    c = learned.columns
    columns = sql.SQL("{i}, {r}::text").format(i=c["id"], r=c["release"])
    rows = source._rows_by_id(conn, learned, ids, columns)
    return {_plain(r[0]): str(r[1]) for r in rows if r[1] is not None and str(r[1]).strip()}


def postgres_release_first_seen(source: Any, conn: Any, learned: Any, window: Window) -> dict[str, datetime]:
    from psycopg import sql

    from .postgres_windows import sort_key, window_sql

    c = learned.columns
    params: dict[str, Any] = {}
    where = window_sql(learned, window, params)
    rows = conn.execute(
        sql.SQL(
            "SELECT {r}::text, min({k}) FROM {t} WHERE {w} AND {r} IS NOT NULL GROUP BY {r}::text"
        ).format(r=c["release"], k=sort_key(learned), t=source._table_id(), w=where),
        params,
    ).fetchall()
    return _first_seen(rows, learned)


def _first_seen(rows: Sequence[Any], learned: Any) -> dict[str, datetime]:
    encoding = learned.schema.time.encoding
    found: dict[str, datetime] = {}
    for release, first in rows:
        if release is None or not str(release).strip() or first is None:
            continue
        moment = _moment(first, encoding)
        if moment is not None:
            found[str(release)] = moment
    return found


def _moment(value: Any, encoding: Any) -> datetime | None:
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    if encoding.exact_range:
        return encoding.decode(value) or decode_any(value)  # type: ignore[no-any-return]
    try:
        return datetime.fromtimestamp(float(value), UTC)  # the sort key: epoch seconds
    except (TypeError, ValueError, OverflowError):
        return None


def _plain(value: Any) -> Any:
    return value if isinstance(value, int | str) else str(value)
