"""The nightly run on the demo night: report and charts, findings once per night, lock, crashes, failures."""

from __future__ import annotations

import asyncio
import os
import re
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from nightly.night_helpers import NIGHT
from self_improver.examples.demo_telemetry import (
    WINDOW_ATTRIBUTE,
    WINDOW_GATEWAY,
    WINDOW_IMAP,
    YESTERDAY_DONE,
    YESTERDAY_FAILED,
)
from self_improver.server.cli import main
from self_improver.server.nightly import run_nightly
from self_improver.tools.memory import service as memory
from self_improver.tools.memory.store import open_store
from self_improver.tools.nightly.lock import NightlyLock
from self_improver.tools.nightly.runs import RunRecords
from self_improver.tools.pulls.service import PullRequestService
from self_improver.tools.support.problems import UnavailableError

SVG = "{http://www.w3.org/2000/svg}svg"


def _row_of(report: str, needle: str) -> list[str]:
    """The cells of the first table row that mentions `needle`."""
    line = next(line for line in report.splitlines() if line.startswith("|") and needle in line)
    return [cell.strip() for cell in re.split(r"(?<!\\)\|", line)[1:-1]]


def _findings(settings, signature: str) -> list:
    store = open_store(settings.data_dir, None, settings.embedding)
    try:
        found = asyncio.run(
            memory.recall_findings(
                store, signature=signature, where={"kind": "nightly_observation"}, top_k=10
            )
        )
    finally:
        store.close()
    return [f for f in found.findings if f.match == "signature"]


def test_the_cli_writes_the_report_and_charts_and_prints_only_its_path(
    night_settings, demo_db: Path, capsys: pytest.CaptureFixture
) -> None:
    data_dir = night_settings().data_dir
    argv = [
        "nightly",
        "--telemetry-db",
        str(demo_db),
        "--data-dir",
        str(data_dir),
        "--now",
        "2026-02-16T00:17:00Z",
    ]
    assert main(argv) == 0
    out, err = capsys.readouterr()
    report_path = data_dir / "reports" / f"nightly-{NIGHT}.md"
    assert out == f"{report_path}\n"  # stdout: the report's path and nothing else
    assert "nightly [1/8] Cluster new failures: ok" in err and "nightly run #1 ok" in err
    assert "WARNING" not in err  # the demo telemetry reads as configured

    report = report_path.read_text()
    assert "## Warnings" not in report and "outcome **ok**" in report
    for chart in ("failure-rate", "signatures"):
        svg = data_dir / "reports" / f"nightly-{NIGHT}-{chart}.svg"
        assert f"]({svg.name})" in report
        assert ET.parse(svg).getroot().tag == SVG  # well-formed XML
    summary = _row_of(report, f"Yesterday ({'2026-02-15'})")
    total = YESTERDAY_DONE + YESTERDAY_FAILED
    assert summary[1:] == [str(total), str(YESTERDAY_FAILED), f"{100 * YESTERDAY_FAILED / total:.2f}%"]
    # The top signatures with the demo night's counts, in order, with their states.
    gateway, imap, attribute = (
        _row_of(report, "Gateway timeout"),
        _row_of(report, "IMAP timeout"),
        _row_of(report, "_email_context_until"),
    )
    assert [gateway[0], gateway[3], imap[0], imap[3], attribute[0], attribute[3]] == [
        "1",
        str(WINDOW_GATEWAY),
        "2",
        str(WINDOW_IMAP),
        "3",
        str(WINDOW_ATTRIBUTE),
    ]
    assert (gateway[5], attribute[5]) == ("escalating", "new")
    assert "## Watch list" in report and "## Merged fixes and verdicts" in report
    assert "hunter2" not in report and "sk-live-7d41c09fa2e35b8864d0" not in report


def test_new_and_escalating_signatures_become_findings_once_per_night(night_settings) -> None:
    settings = night_settings()
    first = run_nightly(settings)
    assert first.outcome == "ok" and first.counts["findings"] == 3 and first.counts["findings_existing"] == 0
    report = first.report_path.read_text()
    gateway = _row_of(report, "Gateway timeout")[1].strip("`")
    attribute = _row_of(report, "_email_context_until")[1].strip("`")

    found = _findings(settings, gateway)
    assert len(found) == 1
    finding = found[0]
    assert (
        f"{WINDOW_GATEWAY} failure(s) in the last 7 days" in finding.content
        and "per 1000 tasks" in finding.content
    )
    assert "first seen" in finding.content and "state escalating" in finding.content
    assert finding.metadata["signature"] == gateway and finding.metadata["occurrences"] == WINDOW_GATEWAY
    assert finding.metadata["error_type"] == "TimeoutError" and finding.metadata["night"] == NIGHT

    again = run_nightly(settings)  # the same night, re-run
    assert again.counts["findings"] == 0 and again.counts["findings_existing"] == 3
    assert len(_findings(settings, gateway)) == 1 and len(_findings(settings, attribute)) == 1


def test_a_second_run_is_locked_out_and_names_the_holder(
    night_settings, capsys: pytest.CaptureFixture
) -> None:
    settings = night_settings()
    holder = NightlyLock.in_dir(settings.data_dir)
    holder.acquire(started_at="2026-02-16T00:17:02Z")
    try:
        code = main(
            ["nightly", "--data-dir", str(settings.data_dir), "--telemetry-db", str(settings.telemetry_db)]
        )
    finally:
        holder.release()
    out, err = capsys.readouterr()
    assert code == 75 and out == ""
    assert f"pid {os.getpid()}" in err and "since 2026-02-16T00:17:02Z" in err
    assert [r.outcome for r in RunRecords.in_dir(settings.data_dir).recent()] == ["locked-out"]
    assert not (settings.data_dir / "reports").exists()


def test_a_crashed_run_is_reported_and_the_next_one_continues(night_settings) -> None:
    settings = night_settings()
    records = RunRecords.in_dir(settings.data_dir)
    crashed = records.start("2026-02-15T00:17:00+00:00")  # a run whose process died: never finished

    result = run_nightly(settings)

    assert result.outcome == "ok" and result.crashed_runs == [crashed]
    assert (
        records.get(crashed).outcome == "crashed" and "ended without finishing" in records.get(crashed).error
    )
    finished = records.get(result.run_id)
    assert finished.outcome == "ok" and finished.counts["findings"] == 3 and finished.finished_at
    assert result.warnings == [] and finished.warnings == []
    report = result.report_path.read_text()
    assert f"Run #{crashed}, started" in report and "marked crashed" in report


def test_a_failing_step_is_reported_and_the_others_still_run(
    night_settings, worker_repo: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def unreachable(self, since):
        raise UnavailableError("GitHub did not answer (connection refused): try again later")

    monkeypatch.setattr(PullRequestService, "merged_pull_requests", unreachable)
    settings = night_settings(repos=[{"name": "worker", "path": str(worker_repo)}], pr_provider="local")

    result = run_nightly(settings)

    assert result.outcome == "partial" and result.exit_code == 1
    status = {s.name: s.status for s in result.steps}
    assert status["merged"] == "failed" and status["impact"] == "skipped"
    assert status["errors"] == status["findings"] == status["pulls"] == "ok"
    report = result.report_path.read_text()
    assert "GitHub did not answer" in report and "| merged | Detect merged fixes | **failed** |" in report
    assert "1 step(s) failed" in report and "outcome **partial**" in report
    assert "Gateway timeout" in report  # the other sections are there
    record = RunRecords.in_dir(settings.data_dir).get(result.run_id)
    assert record.outcome == "partial" and "GitHub did not answer" in record.error
