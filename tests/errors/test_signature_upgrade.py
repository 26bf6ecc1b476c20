"""A change of the fingerprinting algorithm keeps every stored name: groups, findings and pull-request markers.

The "previous version" is simulated: night 1 is clustered by an algorithm whose names all differ from
today's (today's names, hashed again) and the store is then put back to the schema before versioning (no
`algorithm` column, no alias table). Night 2, a month later with the same errors again, runs today's
algorithm under SIGNATURE_ALGORITHM = 2.
"""

from __future__ import annotations

import hashlib
import sqlite3
from dataclasses import replace
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from git_repos import commit_file, git
from mcp import Client
from mcp_calls import call, remember
from self_improver.examples.demo_telemetry import DEMO_ANCHOR, build_demo_db
from self_improver.server.app import build_server
from self_improver.tools.errors import refresh
from self_improver.tools.errors.signature_store import SignatureStore

LATER = DEMO_ANCHOR + timedelta(days=30)  # the demo spans 28 days: the repeat starts after it
REAL_SIGNATURES_FOR = refresh.signatures_for


def old_name(name: str) -> str:
    return hashlib.sha1(f"algorithm-1:{name}".encode()).hexdigest()[:12]


def previous_algorithm(
    keys: list[Any], known: list[Any], source_root: str | None, analysed: Any = None
) -> Any:
    """Today's grouping under other names (names already stored, from seeds, stay as they are)."""
    stored = {row["signature"] for row in known}
    found = REAL_SIGNATURES_FOR(keys, known, source_root, analysed)
    return {
        key: (sig if sig.signature in stored else replace(sig, signature=old_name(sig.signature)), shape)
        for key, (sig, shape) in found.items()
    }


def to_previous_schema(db: Path) -> None:
    """What a store written before versioning looks like."""
    with sqlite3.connect(db) as conn:
        conn.execute("ALTER TABLE signatures DROP COLUMN algorithm")
        conn.execute("DROP TABLE signature_aliases")
        conn.execute("DELETE FROM runs WHERE key = 'algorithm'")


def repeat_failures(db: Path, days: int) -> int:
    """Every failed task of the demo again, `days` later: the same errors on a later night."""
    with sqlite3.connect(db) as conn:
        columns = [r[1] for r in conn.execute("PRAGMA table_info(tasks)") if r[1] not in ("id", "created_at")]
        listed = ", ".join(columns)
        return conn.execute(
            f"INSERT INTO tasks({listed}, created_at) SELECT {listed}, datetime(created_at, ?) FROM tasks "
            "WHERE status = 'failed'",
            (f"+{days} days",),
        ).rowcount


def per_signature(store: Path) -> dict[str, int]:
    with sqlite3.connect(store) as conn:
        return dict(
            conn.execute("SELECT signature, COUNT(*) FROM task_signatures GROUP BY signature").fetchall()
        )


@pytest.fixture
def checkout(tmp_path: Path) -> Path:
    repo = tmp_path / "worker"
    repo.mkdir()
    git(repo, "init", "-q", "--initial-branch=main")
    commit_file(repo, "worker/imap.py", "TIMEOUT = 30\n", "initial")
    return repo


def _branch(repo: Path, name: str) -> str:
    """A fix branch off main with one commit, the user's checkout left on main."""
    git(repo, "checkout", "-q", "-b", name, "main")
    commit_file(repo, "worker/imap.py", f"TIMEOUT = 60  # {name}\n", f"fix on {name}")
    git(repo, "checkout", "-q", "main")
    return name


async def test_an_upgrade_keeps_group_finding_and_pull_request_names(
    make_settings, tmp_path: Path, checkout: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    night = build_demo_db(tmp_path / "telemetry.db")
    settings = {
        "telemetry_db": night.path,
        "pr_provider": "local",
        "repos": [{"name": "worker", "path": str(checkout)}],
    }

    # night 1, previous version: groups, a finding and a pull request under the old names
    monkeypatch.setattr(refresh, "signatures_for", previous_algorithm)
    monkeypatch.setattr(refresh, "SIGNATURE_ALGORITHM", 1)
    async with Client(build_server(make_settings(now=DEMO_ANCHOR, **settings))) as client:
        before = await call(client, "top_errors", days=30, limit=50)
        names = {(g["title"], g["signature"]) for g in before["groups"]}
        top = before["groups"][0]["signature"]
        finding = await remember(client, top, "Gateway timeouts: the upstream pool is too small.")
        opened = await call(
            client,
            "open_pull_request",
            repo="worker",
            branch=_branch(checkout, f"self-improver/{top}-gateway"),
            title="Retry gateway timeouts",
            body="Gateway timeouts fail tasks; this retries them once.",
            signature=top,
        )
    store = tmp_path / "data" / "signatures.db"
    night_1 = per_signature(store)
    to_previous_schema(store)

    # night 2, this version under a new algorithm number: the same errors again
    added = repeat_failures(night.path, (LATER - DEMO_ANCHOR).days)
    monkeypatch.setattr(refresh, "signatures_for", REAL_SIGNATURES_FOR)
    monkeypatch.setattr(refresh, "SIGNATURE_ALGORITHM", 2)
    async with Client(build_server(make_settings(now=LATER, **settings))) as client:
        after = await call(client, "top_errors", days=30, limit=50)
        recalled = await call(client, "recall_findings", signature=after["groups"][0]["signature"], top_k=3)
        again = await call(
            client,
            "open_pull_request",
            repo="worker",
            branch=_branch(checkout, f"self-improver/{after['groups'][0]['signature']}-gateway-again"),
            title="Retry gateway timeouts (again)",
            body="Gateway timeouts fail tasks; this retries them once.",
            signature=after["groups"][0]["signature"],
        )

    # the groups keep their names and gather both nights' tasks
    assert {(g["title"], g["signature"]) for g in after["groups"]} == names
    assert per_signature(store) == {name: 2 * n for name, n in night_1.items()}
    with sqlite3.connect(store) as conn:
        stored = {r[0] for r in conn.execute("SELECT DISTINCT signature FROM task_signatures")}
        versions = dict(conn.execute("SELECT signature, algorithm FROM signatures").fetchall())
        aliases = conn.execute("SELECT computed, signature, algorithm FROM signature_aliases").fetchall()
    assert stored == set(versions) and {name for _, name in names} <= stored
    assert set(versions.values()) == {1}, "no group was split into a name of the new algorithm"
    assert sum(night_1.values()) == added and aliases
    assert all(old_name(computed) == name and algorithm == 2 for computed, name, algorithm in aliases)
    # the finding and the pull request still point at the group
    assert recalled["findings"][0]["id"] == finding["id"] and recalled["findings"][0]["match"] == "signature"
    assert again["deduplicated"] and again["pull_request"]["number"] == opened["pull_request"]["number"]
    assert again["pull_request"]["signature"] == top


def test_a_store_of_the_previous_version_opens_and_reads_as_algorithm_1(tmp_path: Path) -> None:
    db = tmp_path / "signatures.db"
    with sqlite3.connect(db) as conn:
        conn.executescript(
            """
            CREATE TABLE signatures (signature TEXT PRIMARY KEY, title TEXT NOT NULL, error_type TEXT,
                template TEXT NOT NULL, first_seen TEXT NOT NULL, last_seen TEXT NOT NULL,
                occurrences INTEGER NOT NULL DEFAULT 0, resolved_at TEXT, resolved_by TEXT, shape TEXT);
            CREATE TABLE task_signatures (task_id PRIMARY KEY, signature TEXT NOT NULL, created_at TEXT NOT NULL,
                agent TEXT);
            CREATE TABLE runs (key TEXT PRIMARY KEY, value TEXT NOT NULL);
            INSERT INTO signatures VALUES ('aaaaaaaaaaaa', 'KeyError: thread_id', 'KeyError', '''thread_id''',
                '2026-02-10 00:00:00', '2026-02-15 00:00:00', 3, NULL, NULL, NULL);
            INSERT INTO task_signatures VALUES (1, 'aaaaaaaaaaaa', '2026-02-15 00:00:00', 'a');
            """
        )
    store = SignatureStore(db)
    assert store.signatures(["aaaaaaaaaaaa"])["aaaaaaaaaaaa"]["algorithm"] == 1
    assert store.assigned([1, 2]) == {1: ("aaaaaaaaaaaa", 1)}
    assert store.needs_carry_over(1) is False and store.needs_carry_over(2) is True
    # a name of algorithm 2 with the same type and template continues the one old signature that has them
    assert store.continued_names([("bbbbbbbbbbbb", "KeyError", "'thread_id'")], 2) == {
        "bbbbbbbbbbbb": "aaaaaaaaaaaa"
    }
    assert store.continued_names([("bbbbbbbbbbbb", None, "other")], 2) == {"bbbbbbbbbbbb": "aaaaaaaaaaaa"}
    assert store.continued_names([("cccccccccccc", None, "other")], 2) == {}
    store.finish_carry_over({}, 2)
    assert store.needs_carry_over(2) is False
