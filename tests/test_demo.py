"""`self-improver demo` runs end to end: the nightly questions, then the fix loop over stdio."""

from __future__ import annotations

import os
import subprocess
import sys


def test_demo_answers_the_nightly_questions_and_opens_two_checked_pull_requests(tmp_path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SELF_IMPROVER_") and k != "GITHUB_TOKEN"}
    env["XDG_DATA_HOME"] = str(tmp_path)
    result = subprocess.run(
        [sys.executable, "-m", "self_improver.server.cli", "demo"],
        capture_output=True,
        text=True,
        timeout=300,
        env=env,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    out = result.stdout
    assert "2026-02-15: 169 tasks (156 done, 13 failed), failure rate 7.7%" in out
    assert "2026-02-16: 8 tasks (6 done, 1 failed, 1 running)" in out
    assert "10x" in out and "4x" in out and "AttributeError: '_email_context_until'" in out
    assert out.count("run_checks: passed") == 2
    assert "open_pull_request: #1 local://email-agent/pulls/1" in out
    assert "open_pull_request: #2 local://email-agent/pulls/2" in out
    # The later night: the IMAP fix has enough evidence to be called fixed; the AttributeError fix
    # (2 occurrences before the merge) does not, and the report says how many more tasks are needed.
    verdicts = out[out.index("## Merged fixes and verdicts") :]
    rows = {line.split("|")[1].strip(): line for line in verdicts.splitlines() if line.startswith("| #")}
    assert "**fixed**" in rows["#2"] and "**inconclusive**" in rows["#1"]
    assert "more tasks after the merge" in verdicts
    # The demo's folder outlives the run and the output says where the report and charts are.
    folder = tmp_path / "self-improver" / "demo"
    assert f"The demo works in {folder}" in out
    report = folder / "data" / "reports" / "nightly-2026-03-09.md"
    assert f"  report  {report}" in out and report.is_file()
    assert len(list(report.parent.glob("nightly-2026-03-09-*.svg"))) == 2
    assert "examples/self-improver.toml" in out
