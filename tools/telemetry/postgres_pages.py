"""A page of tasks on PostgreSQL (find_tasks): the statement, its parameters and the records.

A page is a sub-millisecond statement, so what Python does around it counts: composing the statement
with `psycopg.sql` costs ~60 us, so its text is composed once per filter shape and kept on the learned
table; the sort key stays as the driver returns it (one row's travels, and `encode_cursor` converts it).

On the event loop's own connection (`postgres_loop`), a timestamp at a whole second in UTC is read as our
canonical text straight from the server's text (`canonical_times`): a page shows every time as that
text, and making a datetime of each only to format it again cost a page ~30 us. Any other value (a
fraction of a second, another zone) is read by the driver's own loader, so the sort key stays exact.
"""

from __future__ import annotations

from typing import Any

from .engine import Key, task_page
from .postgres_windows import (
    Learned,
    agent_sql,
    or_null,
    sort_key,
    typed,
    window_params,
    window_sql,
)
from .source import TaskFilter, TaskRows

Shape = tuple[bool, bool, bool, bool, bool]  # window, status, text search, after a cursor, agent


def canonical_times(conn: Any) -> None:
    """Read whole-second UTC timestamps on `conn` as canonical text (`YYYY-MM-DD HH:MM:SS`); the session's
    DateStyle is ISO and its TimeZone UTC (`postgres_pool`), so the server's text is ours plus `+00`."""
    import psycopg
    from psycopg.adapt import Loader
    from psycopg.pq import Format

    for name, size in (("timestamptz", 22), ("timestamp", 19)):
        oid = psycopg.adapters.types[name].oid
        exact_loader = psycopg.adapters.get_loader(oid, Format.TEXT)  # the driver's own, before ours

        class CanonicalText(Loader):
            def __init__(self, oid: int, context: Any = None, exact: Any = exact_loader, size: int = size):
                super().__init__(oid, context)
                self._exact = exact(oid, context)
                self._size = size

            def load(self, data: Any) -> Any:
                if len(data) == self._size and data[19:] in (b"", b"+00"):
                    return str(data[:19], "ascii")
                return self._exact.load(data)

        conn.adapters.register_loader(oid, CanonicalText)


def page_shape(filters: TaskFilter, after: Key | None) -> Shape:
    return (
        filters.since is not None or filters.until is not None,
        filters.status is not None,
        bool(filters.error_contains),
        after is not None,
        filters.agent is not None,
    )


def page_params(learned: Learned, filters: TaskFilter, limit: int, after: Key | None) -> dict[str, Any]:
    """The page's parameters; it reads one task more than `limit` to know whether more follow."""
    params: dict[str, Any] = {"limit": limit + 1}
    if filters.since is not None or filters.until is not None:
        window_params(learned, filters.span(), params)
    if filters.status is not None:
        params["status"] = filters.status
    if filters.error_contains:
        params["needle"] = filters.error_contains
    if after is not None:
        params |= {"c_key": after[0], "c_id": after[1]}
    if filters.agent is not None:
        agent_sql(learned, filters.agent, params)  # checks the table has agents; sets the parameter
    return params


def page_sql(conn: Any, learned: Learned, table: Any, filters: TaskFilter, after: Key | None) -> str:
    """The statement for this filter shape, composed on first use."""
    shape = page_shape(filters, after)
    text = learned.page_sql.get(shape)
    if text is None:
        text = learned.page_sql[shape] = _compose(learned, table, filters, after).as_string(conn)
    return text


def _compose(learned: Learned, table: Any, filters: TaskFilter, after: Key | None) -> Any:
    from psycopg import sql

    c = learned.columns
    unused: dict[str, Any] = {}
    where: list[Any] = [sql.SQL("TRUE")]
    if filters.since is not None or filters.until is not None:
        where.append(window_sql(learned, filters.span(), unused))
    if filters.status is not None:
        where.append(sql.SQL("{}::text = %(status)s").format(c["status"]))
    if filters.error_contains:
        where.append(sql.SQL("strpos(lower({}::text), lower(%(needle)s)) > 0").format(c["error"]))
    key = sort_key(learned)
    if after is not None:
        where.append(
            sql.SQL("({k}, {i}) < ({ck}, {ci})").format(  # a row comparison: the index seeks to it
                k=key, ck=typed(learned, "created_at", "c_key"), i=c["id"], ci=typed(learned, "id", "c_id")
            )
        )
    return sql.SQL(
        "SELECT {i}, {s}::text, {c}, {e}::text, {a}, {n}, {d}, {et}{k2} FROM {t} WHERE {w}{ag} "
        "ORDER BY {k} DESC, {i} DESC LIMIT %(limit)s"
    ).format(
        i=c["id"],
        s=c["status"],
        c=c["created_at"],
        e=c["error"],
        a=or_null(learned, "agent"),
        n=or_null(learned, "task_name"),
        d=or_null(learned, "duration_ms", as_text=False),
        et=or_null(learned, "error_type"),
        k=key,
        k2=sql.SQL("")
        if key is c["created_at"]
        else sql.SQL(", {}").format(key),  # a key other than created_at itself
        t=table,
        w=sql.SQL(" AND ").join(where),
        ag=agent_sql(learned, filters.agent, unused),
    )


def page_records(learned: Learned, rows: list[Any], limit: int) -> TaskRows:
    return task_page(rows, limit, learned.schema.time.encoding)
