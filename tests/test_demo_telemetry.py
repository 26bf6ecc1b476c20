"""The demo store holds the seed article's night exactly, for any anchor, and looks like real telemetry."""

from __future__ import annotations

import json
import re
import sqlite3
import time as clock
from contextlib import closing
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from self_improver.examples.demo_telemetry import (
    ATTRIBUTE_ERROR,
    DEMO_ANCHOR,
    GATEWAY_ERROR_LIKE,
    IMAP_ERROR_LIKE,
    INJECTION_TEXT,
    SECRET_FRAGMENTS,
    DemoFacts,
    build_demo_db,
    main,
)

FMT = "%Y-%m-%d %H:%M:%S"
SEED_DAILY = "SELECT status, COUNT(*) FROM tasks WHERE date(created_at) = date('now') GROUP BY status;"
SEED_ERRORS = (
    "SELECT error, COUNT(*) as count FROM tasks WHERE date(created_at) >= date('now', '-7 days') "
    "AND status = 'failed' GROUP BY error ORDER BY count DESC;"
)


def midnight(moment: datetime, days_back: int = 0) -> datetime:
    return datetime.combine(moment.date() - timedelta(days=days_back), datetime.min.time(), tzinfo=UTC)


def status_counts(conn: sqlite3.Connection, lo: datetime, hi: datetime) -> dict[str, int]:
    rows = conn.execute(
        "SELECT status, COUNT(*) FROM tasks WHERE created_at >= ? AND created_at < ? GROUP BY status",
        (lo.strftime(FMT), hi.strftime(FMT)),
    )
    return dict(rows.fetchall())


def window_families(conn: sqlite3.Connection, anchor: datetime) -> dict[str, int]:
    """Failures from D-7 00:00 to the anchor by family; the rest by error_type."""
    lo, hi = midnight(anchor, 7).strftime(FMT), anchor.strftime(FMT)
    failed = "status = 'failed' AND created_at >= :lo AND created_at < :hi"
    params = {"lo": lo, "hi": hi, "gw": GATEWAY_ERROR_LIKE, "imap": IMAP_ERROR_LIKE, "attr": ATTRIBUTE_ERROR}
    rows = conn.execute(
        f"""SELECT CASE
                WHEN error_type = 'TimeoutError' AND error LIKE :gw THEN 'gateway'
                WHEN error_type = 'TimeoutError' AND error LIKE :imap THEN 'imap'
                WHEN error_type = 'AttributeError' AND error = :attr THEN 'attribute'
                ELSE 'other:' || error_type END AS family, COUNT(*)
            FROM tasks WHERE {failed} GROUP BY family""",
        params,
    )
    return dict(rows.fetchall())


def all_rows(path: Path) -> list[tuple]:
    with closing(sqlite3.connect(path)) as conn:
        return conn.execute("SELECT * FROM tasks ORDER BY id").fetchall()


@pytest.fixture(scope="module")
def night(tmp_path_factory: pytest.TempPathFactory) -> DemoFacts:
    return build_demo_db(tmp_path_factory.mktemp("night") / "telemetry.db")


@pytest.fixture
def conn(night: DemoFacts):
    connection = sqlite3.connect(night.path)
    yield connection
    connection.close()


def test_yesterday_and_today_are_the_seed_night(night: DemoFacts, conn: sqlite3.Connection) -> None:
    feb15, feb16 = datetime(2026, 2, 15, tzinfo=UTC), datetime(2026, 2, 16, tzinfo=UTC)
    assert status_counts(conn, feb15, feb16) == {"done": 156, "failed": 13}
    assert status_counts(conn, feb16, DEMO_ANCHOR) == {"done": 6, "failed": 1, "running": 1}
    assert status_counts(conn, DEMO_ANCHOR, DEMO_ANCHOR + timedelta(days=365)) == {}
    (running,) = conn.execute("SELECT finished_at, duration_ms, error FROM tasks WHERE status = 'running'")
    assert running == (None, None, None)
    (today_failure,) = conn.execute(
        "SELECT error FROM tasks WHERE status = 'failed' AND created_at >= '2026-02-16 00:00:00'"
    )
    assert today_failure[0].startswith("TimeoutError: Gateway timeout: upstream ")
    assert night.anchor == DEMO_ANCHOR and night.yesterday.day == date(2026, 2, 15)
    assert (night.yesterday.total, night.yesterday.done, night.yesterday.failed) == (169, 156, 13)
    assert (night.today.total, night.today.done, night.today.failed, night.today.running) == (8, 6, 1, 1)


def test_the_week_groups_into_gateway_imap_attribute_and_one_offs(
    night: DemoFacts, conn: sqlite3.Connection
) -> None:
    families = window_families(conn, DEMO_ANCHOR)
    gateway, imap, attribute = families.pop("gateway"), families.pop("imap"), families.pop("attribute")
    assert (gateway, imap, attribute) == (10, 4, 2)
    assert len(families) == 11 and set(families.values()) == {1}, families
    assert gateway > imap > attribute > max(families.values())
    assert night.window_start == datetime(2026, 2, 9, tzinfo=UTC)
    assert (night.window_gateway_timeouts, night.window_imap_timeouts, night.window_attribute_errors) == (
        10,
        4,
        2,
    )
    assert (night.window_other_failures, night.window_other_max_group, night.window_failed) == (11, 1, 27)
    # Yesterday's 13 are a mix of the three families and others.
    yesterday = dict(
        conn.execute(
            """SELECT CASE WHEN error LIKE ? THEN 'gateway' WHEN error LIKE ? THEN 'imap'
                           WHEN error = ? THEN 'attribute' ELSE 'other' END AS f, COUNT(*)
               FROM tasks WHERE status = 'failed' AND created_at >= '2026-02-15' AND created_at < '2026-02-16'
               GROUP BY f""",
            (GATEWAY_ERROR_LIKE, IMAP_ERROR_LIKE, ATTRIBUTE_ERROR),
        ).fetchall()
    )
    assert yesterday == {"gateway": 4, "imap": 2, "attribute": 2, "other": 5}


def test_tracebacks_follow_each_family_through_its_code(conn: sqlite3.Connection) -> None:
    def tracebacks(where: str, *params: str) -> list[str]:
        return [r[0] for r in conn.execute(f"SELECT traceback FROM tasks WHERE {where}", params)]

    imap = tracebacks("error LIKE ?", IMAP_ERROR_LIKE)
    assert imap and all('email_agent/imap_client.py", line' in t and ", in _connect\n" in t for t in imap)
    attribute = tracebacks("error = ?", ATTRIBUTE_ERROR)
    assert len(attribute) == 2
    assert all('email_agent/agent.py", line' in t and "in _should_refresh_context" in t for t in attribute)
    gateway = tracebacks("error LIKE ?", GATEWAY_ERROR_LIKE)
    assert all("httpx/_client.py" in t and "httpx.ReadTimeout" in t for t in gateway)
    # Line numbers in our files move between weeks, as if the code was edited.
    connect_lines = {re.search(r'imap_client.py", line (\d+), in _connect', t).group(1) for t in imap}
    assert len(connect_lines) > 1
    key_errors = tracebacks("error_type = 'KeyError' AND created_at >= '2026-02-09'")
    assert key_errors and all("KeyError: 'thread_id'" in t for t in key_errors)


def test_each_big_family_has_one_call_path_in_the_week(conn: sqlite3.Connection) -> None:
    """However errors are fingerprinted (message template or application frames), the top groups hold."""
    for pattern in (GATEWAY_ERROR_LIKE, IMAP_ERROR_LIKE, ATTRIBUTE_ERROR):
        tracebacks = [
            r[0]
            for r in conn.execute(
                "SELECT traceback FROM tasks WHERE error LIKE ? AND created_at >= '2026-02-09'", (pattern,)
            )
        ]
        paths = {tuple(re.findall(r'File "/srv/agents/([^"]+)", line \d+, in (\S+)', t)) for t in tracebacks}
        assert len(paths) == 1, paths


def test_every_row_is_consistent(night: DemoFacts) -> None:
    rows = all_rows(night.path)
    assert len(rows) == night.total_tasks
    ids = [r[0] for r in rows]
    assert ids == sorted(ids) and [r[3] for r in rows] == sorted(r[3] for r in rows)
    for (
        _id,
        status,
        error,
        created,
        agent,
        task_name,
        started,
        finished,
        duration,
        etype,
        tb,
        meta,
        _release,
    ) in rows:
        assert re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d", created) and started == created
        assert agent in {"email-agent", "calendar-agent", "digest-agent"} and task_name
        assert isinstance(json.loads(meta), dict) and json.loads(meta)
        if status == "running":
            continue
        end = datetime.strptime(created, FMT) + timedelta(milliseconds=duration)
        assert finished == end.strftime(FMT) and finished <= DEMO_ANCHOR.strftime(FMT)
        if status == "done":
            assert error is None and etype is None and tb is None
            continue
        assert status == "failed" and "\n" not in error
        assert error.startswith(f"{etype}: ")
        assert tb.startswith('Traceback (most recent call last):\n  File "') and tb.endswith("\n")
        last = tb.rstrip("\n").split("\n\n")[-1]
        message = error.split(": ", 1)[1]
        if etype == "ValidationError":  # pydantic prints its errors over several lines
            message = message.split(":")[0]
        assert message in last
    per_day = [d.total for d in night.daily]
    assert len(per_day) == 29 and night.start == datetime(2026, 1, 19, tzinfo=UTC)
    assert all(120 <= n <= 180 for n in per_day[:-1]), per_day
    assert all(d.failed >= 1 for d in night.daily)


def test_one_leaked_secret_and_one_injection_older_than_the_week(
    night: DemoFacts, conn: sqlite3.Connection
) -> None:
    for needle, task_id in (
        (SECRET_FRAGMENTS[0], night.secret_task_id),
        (INJECTION_TEXT, night.injection_task_id),
    ):
        rows = conn.execute(
            "SELECT id, created_at FROM tasks WHERE error LIKE ?", (f"%{needle}%",)
        ).fetchall()
        assert len(rows) == 1 and rows[0][0] == task_id
        assert rows[0][1] < "2026-02-09 00:00:00"
    (secret,) = conn.execute("SELECT error, traceback FROM tasks WHERE id = ?", (night.secret_task_id,))
    assert all(fragment in secret[0] and fragment in secret[1] for fragment in SECRET_FRAGMENTS)


def test_same_seed_same_rows_other_seed_same_facts(tmp_path: Path, night: DemoFacts) -> None:
    again = build_demo_db(tmp_path / "again.db")
    assert all_rows(again.path) == all_rows(night.path)
    other = build_demo_db(tmp_path / "other.db", seed=8)
    assert all_rows(other.path) != all_rows(night.path)
    assert (other.yesterday, other.today) == (night.yesterday, night.today)
    with closing(sqlite3.connect(other.path)) as conn:
        families = window_families(conn, DEMO_ANCHOR)
    assert (families.pop("gateway"), families.pop("imap"), families.pop("attribute")) == (10, 4, 2)
    assert max(families.values()) == 1


@pytest.mark.parametrize(
    "anchor",
    [
        datetime(2025, 7, 3, 13, 45, 12, 500000, tzinfo=UTC),
        datetime(2026, 2, 16, 3, 17, tzinfo=UTC).astimezone(),  # same instant in the local zone
        datetime(2024, 12, 31, 23, 59, 59),  # naive = UTC, crosses a year
        datetime(2026, 3, 1, 0, 0, 5, tzinfo=UTC),  # five seconds after midnight
        "now",
    ],
)
def test_any_anchor_gives_the_same_night_relative_to_it(tmp_path: Path, night: DemoFacts, anchor) -> None:
    anchor = datetime.now(UTC) if anchor == "now" else anchor
    aware = (anchor if anchor.tzinfo else anchor.replace(tzinfo=UTC)).astimezone(UTC)
    if aware - midnight(aware) < timedelta(seconds=1):
        clock.sleep(1.1)
        aware = anchor = datetime.now(UTC)
    facts = build_demo_db(tmp_path / "moved.db", anchor=anchor)
    assert facts.anchor == aware
    shape = [(d.total, d.done, d.failed, d.running) for d in facts.daily]
    assert shape == [(d.total, d.done, d.failed, d.running) for d in night.daily]
    with closing(sqlite3.connect(facts.path)) as conn:
        assert status_counts(conn, midnight(aware, 1), midnight(aware)) == {"done": 156, "failed": 13}
        assert status_counts(conn, midnight(aware), aware) == {"done": 6, "failed": 1, "running": 1}
        assert conn.execute("SELECT MAX(finished_at) FROM tasks").fetchone()[0] <= aware.strftime(FMT)
        families = window_families(conn, aware)
    assert (families.pop("gateway"), families.pop("imap"), families.pop("attribute")) == (10, 4, 2)

    # Only times (and so ids, and today's durations near midnight) move: the rest is the same, row for row.
    def untimed(path: Path) -> list[tuple]:
        return sorted((r[1:3] + r[4:6] + r[9:] for r in all_rows(path)), key=repr)

    assert untimed(facts.path) == untimed(night.path)


def test_anchor_must_leave_room_after_midnight(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="after UTC midnight"):
        build_demo_db(tmp_path / "x.db", anchor=datetime(2026, 2, 16, 0, 0, 0, 900000, tzinfo=UTC))
    facts = build_demo_db(tmp_path / "y.db", anchor=datetime(2026, 2, 16, 0, 0, 1, tzinfo=UTC))
    with closing(sqlite3.connect(facts.path)) as conn:
        assert status_counts(conn, midnight(facts.anchor), facts.anchor) == {
            "done": 6,
            "failed": 1,
            "running": 1,
        }


def test_seed_article_sql_runs_unchanged_on_a_night_anchored_now(tmp_path: Path) -> None:
    for attempt in range(3):
        now = datetime.now(UTC)
        if now - midnight(now) < timedelta(seconds=2):
            clock.sleep(2)
            continue
        facts = build_demo_db(tmp_path / f"now{attempt}.db", anchor=now)
        with closing(sqlite3.connect(facts.path)) as conn:
            daily = dict(conn.execute(SEED_DAILY).fetchall())
            errors = conn.execute(SEED_ERRORS).fetchall()
            yesterday = dict(
                conn.execute(SEED_DAILY.replace("date('now')", "date('now', '-1 day')")).fetchall()
            )
            sqlite_today = conn.execute("SELECT date('now')").fetchone()[0]
        if sqlite_today == now.date().isoformat():  # else midnight passed while we looked: try again
            break
    else:
        pytest.fail("could not read the seed queries within one UTC day")
    assert daily == {"done": 6, "failed": 1, "running": 1}
    assert yesterday == {"done": 156, "failed": 13}
    assert sum(n for _, n in errors) == facts.window_failed == 27
    assert [n for _, n in errors] == sorted((n for _, n in errors), reverse=True)
    by_error = dict(errors)
    assert by_error[ATTRIBUTE_ERROR] == 2
    gateway = [n for e, n in errors if e.startswith("TimeoutError: Gateway timeout")]
    assert gateway == [1] * 10  # every line differs (request ids): the seed query cannot see this group
    assert sum(n for e, n in errors if e.startswith("TimeoutError: IMAP timeout after ")) == 4


def test_refuses_to_replace_a_file_unless_asked(tmp_path: Path) -> None:
    path = tmp_path / "t.db"
    path.write_text("not a database")
    with pytest.raises(FileExistsError):
        build_demo_db(path)
    assert build_demo_db(path, overwrite=True).total_tasks == len(all_rows(path))


def test_building_is_fast(tmp_path: Path) -> None:
    started = clock.perf_counter()
    build_demo_db(tmp_path / "fast.db")
    assert clock.perf_counter() - started < 1.0


def test_command_line_builds_and_prints_the_facts(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "cli.db"
    assert main([str(path)]) == 0
    out = capsys.readouterr().out
    assert "169 tasks, 156 done, 13 failed" in out and "8 tasks, 6 done, 1 failed, 1 running" in out
    assert main([str(path)]) == 2
    assert main([str(path), "--force", "--anchor", "2026-03-01T08:00:00Z", "--seed", "3"]) == 0
    assert "2026-02-28: 169 tasks" in capsys.readouterr().out
