"""`self-improver ingest --format otlp FILE`: the Collector's JSON lines, reported line by line like JSONL."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest
from otlp.collector import FIXTURE
from otlp.planted_spans import all_spans, expected_tasks
from self_improver.server.cli import main

GOOD_SPAN: dict[str, object] = {
    "traceId": "5b8efff798038103d269b633813fc60c",
    "spanId": "eee19b7ec3c1b174",
    "name": "nightly",
    "startTimeUnixNano": "1771200000000000000",
    "endTimeUnixNano": "1771200002000000000",
}


def _line(*spans: dict[str, object]) -> str:
    return json.dumps({"resourceSpans": [{"scopeSpans": [{"spans": list(spans)}]}]})


def _count(db: Path) -> int:
    with sqlite3.connect(db) as conn:
        return int(conn.execute("SELECT count(*) FROM tasks").fetchone()[0])


def test_the_fixture_imports_every_task_span_once(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    db = tmp_path / "store.db"
    assert main(["ingest", "--format", "otlp", str(FIXTURE), "--telemetry-db", str(db)]) == 0
    err = capsys.readouterr().err
    not_tasks = all_spans() - expected_tasks()
    assert f"imported {expected_tasks()} task(s) from {all_spans()} span(s)" in err
    assert f"(0 already stored, {not_tasks} span(s) not tasks); 0 bad line(s) skipped" in err
    assert main(["ingest", "--format", "otlp", str(FIXTURE), "--telemetry-db", str(db)]) == 0
    assert f"imported 0 task(s) from {all_spans()} span(s)" in capsys.readouterr().err
    assert _count(db) == expected_tasks()


def test_bad_lines_are_reported_by_number_and_the_good_spans_kept(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    source = tmp_path / "traces.jsonl"
    lines = [
        _line(GOOD_SPAN),
        '{"resourceSpans": [',
        _line({**GOOD_SPAN, "spanId": "not-hex!"}),
        "",
        _line(
            {**GOOD_SPAN, "spanId": "1111111111111111"}, {**GOOD_SPAN, "spanId": "2222", "name": "short id"}
        ),
        "[]",
    ]
    source.write_text("\n".join(lines) + "\n")
    db = tmp_path / "store.db"
    assert main(["ingest", "--format", "otlp", str(source), "--telemetry-db", str(db)]) == 0
    err = capsys.readouterr().err
    assert f"{source}:2: skipped: not valid JSON" in err
    assert f"{source}:3: skipped: resourceSpans[0].scopeSpans[0].spans[0].spanId is " in err
    assert f"{source}:5: skipped: 1 span(s) rejected: span 'short id': span_id has 2 bytes, expected 8" in err
    assert f"{source}:6: skipped: expected a JSON object" in err
    assert "imported 2 task(s) from 3 span(s)" in err and "4 bad line(s) skipped" in err
    assert "Traceback" not in err
    assert _count(db) == 2


def test_a_users_database_is_refused_and_jsonl_stays_the_default(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    theirs = tmp_path / "agents.db"
    with sqlite3.connect(theirs) as conn:
        conn.execute("CREATE TABLE tasks (id INTEGER PRIMARY KEY, status TEXT, error TEXT, created_at TEXT)")
    assert main(["ingest", "--format", "otlp", str(FIXTURE), "--telemetry-db", str(theirs)]) == 2
    assert "your own database" in capsys.readouterr().err

    jsonl = tmp_path / "tasks.jsonl"
    jsonl.write_text(json.dumps({"status": "done", "created_at": "2026-02-15T10:00:00Z"}) + "\n")
    assert main(["ingest", str(jsonl), "--telemetry-db", str(tmp_path / "ours.db")]) == 0
    assert "imported 1 task(s)" in capsys.readouterr().err
    # An OTLP file read as JSONL (the default) is one bad line per request, never a silent import.
    assert main(["ingest", str(FIXTURE), "--telemetry-db", str(tmp_path / "other.db")]) == 1
    assert "missing `status`" in capsys.readouterr().err
