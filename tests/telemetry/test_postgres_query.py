"""`query_telemetry` on PostgreSQL: reads pass, an attack corpus is refused or stopped, nothing is written.

Runs against a real server (the session's throwaway cluster) as a superuser URL and as a read-only role.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest
from mcp import Client
from mcp_calls import call, call_error
from self_improver.server.app import build_server
from self_improver.server.config import load_settings

ATTACKS = [
    "WITH gone AS (DELETE FROM tasks RETURNING *) SELECT count(*) FROM gone",
    "WITH x AS (UPDATE tasks SET status = 'done' RETURNING 1) SELECT * FROM x",
    "WITH x AS (INSERT INTO tasks VALUES (99, 'failed', 'x', now()) RETURNING 1) SELECT * FROM x",
    "COPY (SELECT 1) TO PROGRAM 'touch {marker}'",
    "COPY tasks TO '{marker}'",
    "SELECT pg_read_file('/etc/passwd')",
    "SELECT pg_read_binary_file('/etc/hostname')",
    "SELECT lo_export(lo_from_bytea(0, 'x'), '{marker}')",
    "SELECT set_config('default_transaction_read_only', 'off', false); DELETE FROM tasks",
    "SELECT set_config('default_transaction_read_only', 'off', false)",
    "DO $$ BEGIN DELETE FROM tasks; END $$",
    "ALTER SYSTEM SET log_statement = 'all'",
    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity",
    "SET ROLE postgres",
    "SELECT * INTO stolen FROM tasks",
    "SELECT * FROM tasks FOR UPDATE",
    "SELECT query_to_xml('DELETE FROM tasks RETURNING 1', true, true, '')",
    "CALL some_procedure()",
    "LOCK TABLE tasks",
    "TRUNCATE tasks",
    "DROP TABLE tasks",
    "SELECT 1; SELECT 2",
]


@pytest.fixture
def telemetry_db(pg_server: Any) -> str:
    url = pg_server.create_database("attacked")
    for sql in (
        "CREATE TABLE tasks (id bigint PRIMARY KEY, status text, error text, created_at timestamptz)",
        "INSERT INTO tasks SELECT g, CASE WHEN g % 4 = 0 THEN 'failed' ELSE 'done' END, NULL, "
        "timestamptz '2026-02-15 00:00:00+00' + g * interval '1 minute' FROM generate_series(1, 200) g",
        "DROP ROLE IF EXISTS reader",
        "CREATE ROLE reader LOGIN",
        "GRANT SELECT ON tasks TO reader",
    ):
        pg_server.execute(sql, db="attacked")
    return url


def _server(tmp_path: Path, url: str, timeout: float = 2.0) -> Any:
    settings = load_settings(
        None, data_dir=tmp_path / "data", telemetry_db=url, query_timeout_seconds=timeout
    )
    return build_server(settings)


def _reader_url(pg_server: Any) -> str:
    return pg_server.url(user="reader", db="attacked")


async def test_a_read_only_role_reads_and_every_attack_is_refused(
    pg_server: Any, telemetry_db: str, tmp_path: Path
) -> None:
    marker = tmp_path / "marker"
    async with Client(_server(tmp_path, _reader_url(pg_server))) as client:
        ok = await call(
            client, "query_telemetry", sql="SELECT status, count(*) AS n FROM tasks GROUP BY 1 ORDER BY 1"
        )
        explained = await call(
            client, "query_telemetry", sql="EXPLAIN SELECT * FROM tasks WHERE id = %s", params=[3]
        )
        refusals = [await call_error(client, "query_telemetry", sql=a.format(marker=marker)) for a in ATTACKS]
    assert ok["rows"] == [["done", 150], ["failed", 50]]
    assert explained["rows"]
    for attack, text in zip(ATTACKS, refusals, strict=True):
        assert "refused" in text or "exactly one statement" in text or "rejected" in text, (attack, text)
    assert not marker.exists()
    assert pg_server.execute(
        "SELECT count(*), count(*) FILTER (WHERE status = 'failed') FROM tasks", db="attacked"
    ) == [(200, 50)]


async def test_a_superuser_url_is_refused_with_the_sql_for_a_read_only_role(
    pg_server: Any, telemetry_db: str, tmp_path: Path
) -> None:
    marker = tmp_path / "marker"
    async with Client(_server(tmp_path, telemetry_db)) as client:
        plain = await call_error(client, "query_telemetry", sql="SELECT count(*) FROM tasks")
        refusals = [await call_error(client, "query_telemetry", sql=a.format(marker=marker)) for a in ATTACKS]
        summary = await call(client, "telemetry_summary", day="2026-02-15")  # the other tools still work
    assert "superuser" in plain and "CREATE ROLE" in plain and "default_transaction_read_only" in plain
    assert all("refused" in t or "exactly one statement" in t for t in refusals), refusals
    assert summary["total"] == 200 and not marker.exists()


async def test_pg_sleep_past_the_limit_is_stopped_in_time(
    pg_server: Any, telemetry_db: str, tmp_path: Path
) -> None:
    async with Client(_server(tmp_path, _reader_url(pg_server), timeout=1.0)) as client:
        started = time.monotonic()
        text = await call_error(client, "query_telemetry", sql="SELECT pg_sleep(60)")
        elapsed = time.monotonic() - started
    assert "limit" in text and elapsed < 5


async def test_fixed_queries_run_read_only_even_as_a_superuser(
    pg_server: Any, telemetry_db: str, tmp_path: Path
) -> None:
    """Every pooled connection is READ ONLY: a write through it fails in PostgreSQL itself."""
    import psycopg
    from self_improver.tools.telemetry.mapping import TelemetryMapping
    from self_improver.tools.telemetry.postgres_source import PostgresTaskSource
    from self_improver.tools.telemetry.source import TaskFilter

    source = PostgresTaskSource(telemetry_db, TelemetryMapping.model_validate({}))
    try:
        with source._pool_now().connection() as conn, pytest.raises(psycopg.errors.ReadOnlySqlTransaction):
            conn.execute("DELETE FROM tasks")
        with source._pool_now().connection() as conn, pytest.raises(psycopg.errors.ReadOnlySqlTransaction):
            # as a page of tasks runs: no transaction block, the session's default holds
            conn.autocommit = True
            conn.execute("DELETE FROM tasks")
        page, _ = await source.tasks(TaskFilter(status="failed"), 5, None)  # the one-statement path
        with source._pool_now().connection() as conn:
            assert not conn.autocommit  # the page handed its connection back as it found it
        with source._pool_now().connection() as conn:
            timeout = conn.execute("SHOW statement_timeout").fetchone()[0]
    finally:
        await source.close()
    assert timeout != "0"
    assert page and all(task["status"] == "failed" for task in page)
    assert pg_server.execute("SELECT count(*) FROM tasks", db="attacked") == [(200,)]
