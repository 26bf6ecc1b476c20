"""`run_cluster_cli`: what a user sees on stdout, stderr and in the exit code."""

from __future__ import annotations

import io
import json
import re
import sys
from pathlib import Path

import pytest
from self_improver.tools.errors.cli import run_cluster_cli


def _lines(text: str) -> list[str]:
    return text.splitlines()


def test_plain_file_prints_one_signature_per_line_and_a_summary(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "errors.txt"
    path.write_text(
        "TimeoutError: IMAP timeout after 30s\nTimeoutError: IMAP timeout after 45s\n\n"
        "KeyError: 'user_id'\nrejected password: letmein\n"
    )
    assert run_cluster_cli([str(path)]) == 0
    out, err = capsys.readouterr()
    signatures = _lines(out)
    assert len(signatures) == 4 and all(re.fullmatch(r"[0-9a-f]{12}", s) for s in signatures)
    assert signatures[0] == signatures[1] != signatures[2]
    assert f"{signatures[0]}      2  TimeoutError: IMAP timeout after <duration>" in err
    assert "rejected password: ***" in err and "letmein" not in err
    assert "4 messages, 3 groups" in err


def test_jsonl_with_tracebacks(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    traceback = 'Traceback (most recent call last):\n  File "/srv/app/a.py", line {n}, in f\nKeyError: {n}'
    rows = [
        {"message": "KeyError: 1", "traceback": traceback.format(n=1)},
        {"error": "KeyError: 2", "traceback": traceback.format(n=99), "error_type": "KeyError"},
        {"message": "disk full", "traceback": None},
    ]
    path = tmp_path / "errors.jsonl"
    path.write_text("\n".join(json.dumps(r) for r in rows) + "\n\n")
    assert run_cluster_cli(["--jsonl", str(path)]) == 0
    signatures = _lines(capsys.readouterr().out)
    assert len(signatures) == 3 and signatures[0] == signatures[1] != signatures[2]


def test_bad_json_lines_are_reported_with_line_numbers(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "bad.jsonl"
    path.write_text('{"message": "ok"}\n{broken\n[1, 2]\n{"other": 1}\n')
    assert run_cluster_cli(["--jsonl", str(path)]) == 2
    out, err = capsys.readouterr()
    assert out == ""
    assert "3 bad JSON line(s)" in err
    assert "line 2:" in err and "line 3: expected a JSON object" in err
    assert "line 4: no 'message' or 'error' field" in err


def test_missing_or_unreadable_input_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert run_cluster_cli([str(tmp_path / "nope.txt")]) == 2
    assert "cannot read" in capsys.readouterr().err
    assert run_cluster_cli([str(tmp_path)]) == 2
    assert "Is a directory" in capsys.readouterr().err or "cannot read" in capsys.readouterr().err
    assert run_cluster_cli([]) == 2


def test_stdin_binary_and_non_utf8_input(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    data = b"caf\xe9 failed\n\x00\x01\x02\xff binary\nValueError: bad\n"
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(data)))
    assert run_cluster_cli(["-"]) == 0
    out, err = capsys.readouterr()
    assert len(_lines(out)) == 3
    assert "3 messages" in err


def test_empty_input(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "empty.txt"
    path.write_bytes(b"")
    assert run_cluster_cli([str(path), "--top", "5"]) == 0
    out, err = capsys.readouterr()
    assert out == "" and "0 messages, 0 groups" in err
