"""Telemetry that cannot be read as configured never makes an `ok` night: the warnings go to stderr, the
top of the report and the run record, and the run is `degraded` until the setting they name is fixed."""

from __future__ import annotations

import re
import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from self_improver.server.cli import main
from self_improver.server.nightly import EXIT_CODES, run_nightly
from self_improver.tools.nightly import steps
from self_improver.tools.nightly.runs import RunRecords
from self_improver.tools.telemetry.mapping import TelemetryMapping

NOW = datetime(2026, 2, 16, 0, 17, tzinfo=UTC)
DAYS = 14
PER_DAY = 10  # each day: 2 KeyErrors, 1 IMAP timeout, the rest done
MESSAGES = {0: "KeyError: 'thread_id'", 1: "KeyError: 'thread_id'", 2: "TimeoutError: IMAP timeout after 30s"}


def _user_db(
    path: Path, failed: tuple[str, str] = ("error", "timeout"), epoch: bool = False, ago: int = 0
) -> Path:
    """A user's table: DAYS days of tasks ending `ago` days before the night's yesterday, none today yet.

    Failures are stored under the user's own statuses (`failed`), created_at as text or epoch seconds.
    """
    conn = sqlite3.connect(path)
    kind = "INTEGER" if epoch else "TEXT"
    conn.execute(f"CREATE TABLE tasks (id INTEGER PRIMARY KEY, status TEXT, error TEXT, created_at {kind})")
    rows = []
    for day in range(1 + ago, 1 + ago + DAYS):
        for hour in range(PER_DAY):
            at = (NOW - timedelta(days=day)).replace(hour=hour + 1, minute=0)
            status = failed[0] if hour < 2 else failed[1] if hour == 2 else "done"
            stamp: object = int(at.timestamp()) if epoch else at.strftime("%Y-%m-%d %H:%M:%S")
            rows.append((status, MESSAGES.get(hour), stamp))
    conn.executemany("INSERT INTO tasks(status, error, created_at) VALUES (?, ?, ?)", rows)
    conn.commit()
    conn.close()
    return path


def _yesterday(report: str) -> list[str]:
    line = next(line for line in report.splitlines() if line.startswith("| Yesterday (2026-02-15)"))
    return [cell.strip() for cell in line.strip("|").split("|")]


def _first_section(report: str) -> str:
    """The first section of the report (Warnings, when there are any, comes right after the title)."""
    title, first, *_ = re.split(r"^## ", report, flags=re.MULTILINE)
    assert title.startswith("# Nightly report 2026-02-16\n")
    if first.startswith("Warnings\n"):
        assert title.strip() == "# Nightly report 2026-02-16"  # nothing before the warnings
    return first


def test_failures_under_other_statuses_make_the_night_degraded_until_failed_statuses_is_set(
    tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    db = _user_db(tmp_path / "theirs.db")
    data_dir = tmp_path / "data"
    argv = ["nightly", "--telemetry-db", str(db), "--data-dir", str(data_dir), "--now", NOW.isoformat()]

    assert main(argv) == EXIT_CODES["degraded"] != 0
    out, err = capsys.readouterr()
    warnings = [line for line in err.splitlines() if "WARNING:" in line]
    assert len(warnings) == 1, err  # the same problem in every window: said once
    assert warnings[0].startswith("nightly: WARNING: failure trend 2026-01-19 to 2026-02-15: ")
    assert "failed_statuses" in warnings[0] and "'error' (28), 'timeout' (14)" in warnings[0]
    assert 'failed_statuses = ["error", "failed", "timeout"]' in warnings[0]
    assert "also in: top errors" in warnings[0] and "summary of 2026-02-15" in warnings[0]
    assert "nightly run #1 degraded (1 telemetry warning(s)" in err
    report = Path(out.strip()).read_text()
    top = _first_section(report)
    assert top.startswith("Warnings\n") and "outcome **degraded**" in top
    assert "failed_statuses" in top and "'error' (28)" in top and "`no task in this window" in top
    assert _yesterday(report)[1:] == [str(PER_DAY), "0", "0.00%"]  # what the misread looks like
    record = RunRecords.in_dir(data_dir).get(1)
    assert record.outcome == "degraded" and len(record.warnings) == 1
    assert "failed_statuses" in record.warnings[0]

    config = tmp_path / "self-improver.toml"
    config.write_text('[telemetry]\nfailed_statuses = ["error", "timeout"]\n')
    assert main([*argv, "--config", str(config)]) == 0
    out, err = capsys.readouterr()
    assert "WARNING" not in err and "nightly run #2 ok" in err
    report = Path(out.strip()).read_text()
    assert "## Warnings" not in report and _first_section(report).startswith("Summary\n")
    assert _yesterday(report)[1:] == [str(PER_DAY), "3", "30.00%"]
    assert "70 tasks, 21 failed" in report  # top errors' window: 7 days and today
    record = RunRecords.in_dir(data_dir).get(2)
    assert record.outcome == "ok" and record.warnings == []


def test_the_mapping_in_settings_counts_the_failures(make_settings, tmp_path: Path) -> None:
    db = _user_db(tmp_path / "theirs.db")

    misread = run_nightly(make_settings(telemetry_db=db, now=NOW, data_dir=tmp_path / "a"))
    assert misread.outcome == "degraded" and misread.exit_code == 65 and len(misread.warnings) == 1
    assert misread.counts["new_tasks"] == 0 and "degraded" in misread.message

    mapping = TelemetryMapping(failed_statuses=["error", "timeout"])
    result = run_nightly(make_settings(telemetry_db=db, now=NOW, data_dir=tmp_path / "b", telemetry=mapping))
    assert result.outcome == "ok" and result.exit_code == 0 and result.warnings == []
    assert result.counts["new_tasks"] == 3 * DAYS and result.counts["new_signatures"] == 2
    report = result.report_path.read_text()
    assert _yesterday(report)[1:] == [str(PER_DAY), "3", "30.00%"] and "KeyError" in report


def test_epoch_seconds_in_an_integer_column_are_counted(make_settings, tmp_path: Path) -> None:
    db = _user_db(tmp_path / "epoch.db", failed=("failed", "failed"), epoch=True)

    result = run_nightly(make_settings(telemetry_db=db, now=NOW))

    assert result.outcome == "ok" and result.warnings == []  # no task yet today: normal at night
    assert result.counts["new_tasks"] == 3 * DAYS and result.counts["signatures"] == 2
    report = result.report_path.read_text()
    assert _yesterday(report)[1:] == [str(PER_DAY), "3", "30.00%"]
    assert "70 tasks, 21 failed" in report


def test_a_table_whose_tasks_all_lie_outside_the_windows_is_degraded(make_settings, tmp_path: Path) -> None:
    db = _user_db(tmp_path / "old.db", failed=("failed", "failed"), ago=60)

    result = run_nightly(make_settings(telemetry_db=db, now=NOW))

    assert result.outcome == "degraded" and result.exit_code == 65
    assert len(result.warnings) == 1  # every window says it, with its own dates: one warning
    assert "no task has created_at in this window" in result.warnings[0]
    assert "timestamp_format" in result.warnings[0]
    assert _first_section(result.report_path.read_text()).startswith("Warnings\n")


def test_a_failed_step_still_makes_the_night_partial(
    make_settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def broken(*args, **kwargs):
        raise RuntimeError("the duration histogram exploded")

    monkeypatch.setattr(steps, "slow_operations", broken)

    result = run_nightly(make_settings(telemetry_db=_user_db(tmp_path / "theirs.db"), now=NOW))

    assert result.outcome == "partial" and result.exit_code == 1 and len(result.warnings) == 1
    assert "failed: slow" in result.message and "1 telemetry warning(s)" in result.message
    report = result.report_path.read_text()
    assert _first_section(report).startswith("Warnings\n") and "outcome **partial**" in report


def test_a_runs_db_from_before_warnings_gets_the_column(tmp_path: Path) -> None:
    path = tmp_path / "runs.db"
    old = sqlite3.connect(path)
    old.execute(
        "CREATE TABLE runs (id INTEGER PRIMARY KEY AUTOINCREMENT, started_at TEXT NOT NULL, finished_at TEXT, "
        "outcome TEXT NOT NULL, night_of TEXT, pid INTEGER, host TEXT, counts TEXT NOT NULL DEFAULT '{}', "
        "steps TEXT NOT NULL DEFAULT '[]', agent TEXT, report_path TEXT, error TEXT)"
    )
    old.execute("INSERT INTO runs(started_at, outcome) VALUES ('2026-02-15T00:17:00Z', 'ok')")
    old.commit()
    old.close()

    records = RunRecords(path)
    run_id = records.start(NOW.isoformat())
    records.finish(run_id, "degraded", {}, [], None, None, None, ["check failed_statuses"])

    assert records.get(1).warnings == [] and records.get(run_id).warnings == ["check failed_statuses"]
    assert RunRecords(path).get(run_id).outcome == "degraded"  # opening it again changes nothing
