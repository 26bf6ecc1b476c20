"""Untrusted text stays text: no terminal escapes in what we write, no markdown that renders as markup."""

from __future__ import annotations

import re
import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from self_improver.server.nightly import run_nightly
from self_improver.tools.errors.results import DayCount, ErrorCluster
from self_improver.tools.nightly.charts import CountSeries, signature_panels
from self_improver.tools.nightly.report import code
from self_improver.tools.pulls import evidence
from self_improver.tools.support.text import code_span, fenced_block, strip_control, strip_control_deep

CLEAR = "\x1b[2J"
OSC8 = "\x1b]8;;https://evil.example\x1b\\click\x1b]8;;\x1b\\"
IMAGE = "![agent](https://evil.example/agent.png)"
CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def _render(markdown: str) -> str:
    markdown_it = pytest.importorskip("markdown_it")
    return markdown_it.MarkdownIt("commonmark").enable("table").render(markdown)


@pytest.mark.parametrize(
    ("raw", "clean"),
    [
        (f"{CLEAR}boom", "boom"),
        (OSC8, "click"),
        ("\x1b]0;window title\x07after", "after"),  # OSC ended by BEL
        ("\x1b[1;31mred\x1b[0m", "red"),
        ("\x9b2Jc1 csi \x9d8;;x\x9clink", "c1 csi link"),  # the 8-bit forms
        ("\x1bcreset \x1b(Bcharset", "reset charset"),
        ("keep\ttabs\nand newlines\r\x00\x07\x08\x7f", "keep\ttabs\nand newlines"),
        ("ünïcödé – “quotes” 🙂", "ünïcödé – “quotes” 🙂"),
    ],
)
def test_strip_control_removes_escape_sequences_and_control_characters(raw: str, clean: str) -> None:
    assert strip_control(raw) == clean


def test_strip_control_deep_and_the_markdown_helpers() -> None:
    assert strip_control_deep({"a\x1b[2J": [OSC8, 3, ("\x07x",)]}) == {"a": ["click", 3, ("x",)]}
    # stripping happens before the fence is chosen: `\x01` between backticks cannot make a longer run
    span = code_span("a`\x01`b")
    assert span == "``` a``b ```" and not CONTROL.search(span)
    assert "<img" not in _render(code_span(IMAGE)) and "<a " not in _render(code_span("[x](http://e.x)"))
    block = fenced_block(f"{CLEAR}line\n````\n{OSC8}")
    assert block.startswith("`````text\n") and "\x1b" not in block
    assert code("a|b") == "`a\\|b`"  # table cells keep the report's pipe escaping


def _hostile_db(path: Path, now: datetime) -> Path:
    conn = sqlite3.connect(path)
    conn.execute(
        "CREATE TABLE tasks (id INTEGER PRIMARY KEY, status TEXT, error TEXT, created_at TEXT, agent TEXT, "
        "task_name TEXT, duration_ms INTEGER)"
    )
    rows = []
    for day in range(1, 15):
        for hour in range(6):
            at = (now - timedelta(days=day)).replace(hour=hour + 1, minute=0).strftime("%Y-%m-%d %H:%M:%S")
            failed = hour < 2 and day == 1  # new yesterday: the watch list quotes the newest message
            error = f"RuntimeError: {CLEAR}disk {OSC8} failed \x07\x00 {IMAGE}" if failed else None
            rows.append(("failed" if failed else "done", error, at, f"agent{CLEAR}{IMAGE}", "sync", 100))
    conn.executemany(
        "INSERT INTO tasks(status, error, created_at, agent, task_name, duration_ms) VALUES (?, ?, ?, ?, ?, ?)",
        rows,
    )
    conn.commit()
    conn.close()
    return path


def test_the_nightly_report_carries_no_escape_sequence_from_telemetry(make_settings, tmp_path: Path) -> None:
    now = datetime(2026, 2, 16, 0, 17, tzinfo=UTC)
    db = _hostile_db(tmp_path / "hostile.db", now)

    result = run_nightly(make_settings(telemetry_db=db, now=now))

    report = result.report_path.read_text()
    assert "disk click failed" in report  # the newest message is quoted, as text
    assert "\x1b" not in report and "]8;;" not in report and not CONTROL.search(report)
    html = _render(report)
    assert "evil.example" not in re.sub(r"<code[^>]*>.*?</code>", "", html, flags=re.DOTALL)
    for chart in result.report_path.parent.glob("*.svg"):
        assert not CONTROL.search(chart.read_text())


def test_chart_labels_lose_escape_sequences() -> None:
    svg = signature_panels(
        [datetime(2026, 2, 1).date()], [CountSeries("abc", f"{CLEAR}{OSC8}", [1])], [], "t"
    )
    assert "\x1b" not in svg and "[2J" not in svg and "click" in svg


def _cluster(**overrides: object) -> ErrorCluster:
    fields: dict = {
        "signature": "abc123",
        "title": f"KeyError: {IMAGE} <img src=x onerror=alert(1)> @octocat",
        "error_type": "KeyError",
        "template": "KeyError: <*>",
        "state": "new",
        "first_seen": "2026-02-01 10:00:00",
        "last_seen": f"2026-02-15 {OSC8}",
        "occurrences": 12,
        "agents": [IMAGE, f"mail{CLEAR}er", "[link](https://evil.example)"],
        "per_day": [DayCount(day="2026-02-15", count=3)],
        "chain": ["KeyError"],
        "traceback": f"Traceback (most recent call last):\n  {CLEAR}File x\n```\n</details><img src=x>\nKeyError",
        "in_app_frames": [],
        "variants": [],
        "sample_task_ids": [1],
        "related": [],
    }
    return ErrorCluster(**(fields | overrides))


@pytest.mark.parametrize("with_traceback", [True, False])
async def test_pull_request_evidence_shows_telemetry_only_as_code(
    monkeypatch: pytest.MonkeyPatch, with_traceback: bool
) -> None:
    cluster = _cluster() if with_traceback else _cluster(traceback=None, template=f"{IMAGE} <b>bold</b>")

    async def fake_cluster(errors: object, signature: str, samples: int) -> ErrorCluster:
        return cluster

    monkeypatch.setattr(evidence.reports, "error_cluster", fake_cluster)
    result = await evidence.evidence_for(object(), "abc123")  # type: ignore[arg-type]

    body = result.markdown
    assert result.known and "\x1b" not in body and not CONTROL.search(body)
    html = _render(body)
    outside_code = re.sub(r"<code[^>]*>.*?</code>", "", html, flags=re.DOTALL)
    assert "<img" not in outside_code and "<a " not in outside_code and "<b>" not in outside_code
    assert "evil.example" not in outside_code and "@octocat" not in outside_code
    assert "<code>![agent](https://evil.example/agent.png)</code>" in html  # shown, literally
    if with_traceback:
        assert "Traceback (most recent call last):" in html and "</details><img" not in outside_code


async def test_tool_results_and_errors_carry_no_terminal_escapes(make_settings, tmp_path) -> None:
    """Every tool's structured result passes through the same stripping (the registry's wrapper)."""
    import sqlite3
    from datetime import UTC, datetime

    from mcp import Client
    from mcp_calls import call
    from self_improver.server.app import build_server

    db = tmp_path / "escapes.db"
    conn = sqlite3.connect(db)
    conn.execute(
        "CREATE TABLE tasks (id INTEGER PRIMARY KEY, status TEXT, error TEXT, created_at TEXT, agent TEXT)"
    )
    hostile = "boom \x1b[2J\x1b]8;;https://evil.example\x1b\\click\x1b]8;;\x1b\\ done"
    conn.execute(
        "INSERT INTO tasks VALUES (1, 'failed', ?, '2026-02-15 10:00:00', ?)", (hostile, "agent\x07\x1b[31m")
    )
    conn.commit()
    conn.close()
    settings = make_settings(telemetry_db=db, now=datetime(2026, 2, 16, tzinfo=UTC))
    async with Client(build_server(settings)) as client:
        page = await call(client, "find_tasks")
        top = await call(client, "top_errors", days=3)
    text = repr(page) + repr(top)
    assert "\x1b" not in text and "\x07" not in text
    assert page["tasks"][0]["error"] == "boom click done"


# -- the secret detector's gates skip only rules that cannot match ----------------------------------------
GATED_SECRETS = [
    ("bot 123456789:AAEhBOweik6ad9r_QXMENQjcrGbqCr4K-ab failed", "Telegram Bot Token"),
    ("discord MTk4NjIyNDgzNDcxOTI1MjQ4.Cl2FMQ.ZnCjm1XVW7vRze4b7Cq4se7kKWs rejected", "Discord Bot Token"),
    ("twilio SKa1b2c3d4e5f6a7b8c9d0a1b2c3d4e5f6 denied", "Twilio API Key"),
    ("mailchimp 0123456789abcdef0123456789abcdef-us12 bad", "Mailchimp Access Key"),
    ("gitlab gldt-AbCdEfGhIjKlMnOpQrSt expired", "GitLab token"),
    ("ibm_cloud_iam_api_key = 'AbCdEfGhIjKlMnOpQrStUvWxYz0123456789_-AbCdEf'", "IBM Cloud IAM Key"),
    ("cloudant_password: 'abcdefghijklmnopqrstuvwx'", "Cloudant Credentials"),
    (
        "sl_api_key = 'a1b2c3d4e5f6a7b8c9d0a1b2c3d4e5f6a1b2c3d4e5f6a7b8c9d0a1b2c3d4e5f6'",
        "SoftLayer Credentials",
    ),
    ("secret_access_key = 'a1b2c3d4e5f6a7b8c9d0a1b2c3d4e5f6a1b2c3d4e5f6a7b8'", "IBM COS HMAC Credentials"),
    ("key AcQoC4B2bu9RJrBx106vKMWGgIoeKOeudKlpmu9i end", "AWS secret access key"),
    ('payload "Zm9vYmFyQmF6UXV4MTIzNDU2Nzg5MGFiY2Rl" sent', "high-entropy string"),
    ("db password = 'hunter22' in settings", "value of `password`"),
    ("fetch https://admin:Sup3rS3cret@db.internal/x failed", "password in a URL"),
]
NEAR_MISSES = [  # a character short of a gate, or the gate's test right beside other needles
    "KeyError: 'user_id' while processing task 12345 on node-3 (session abc)",
    "bot 123456789:AAEhBOweik6ad9r_QXMENQjcrGbqCr4K- failed",
    "password: see https://docs.example/secret and token rotation",
    "PAſSWORD = 'hunter22'; KEY_PASS = \"s3cr3t\"",
    "ConnectionResetError: connection reset by peer (attempt 3 of 5, trace 008dec36)",
    'quoted "Zm9vYmFyQmF6UXV4MTIzNDU2" and "AbCdEfGhIjKlMnOpQrS"',
]


def test_each_gated_rule_still_finds_its_secret() -> None:
    from self_improver.tools.errors.redact import find_secrets, redact_secrets

    for text, kind in GATED_SECRETS:
        found = find_secrets(text)
        assert [m.kind for m in found] == [kind], text
        start, end = found[0].span
        assert text[start:end] not in redact_secrets(text)


def test_the_gates_change_no_answer(monkeypatch: pytest.MonkeyPatch) -> None:
    """With every gate lifted the detector finds exactly the same secrets (the gates only save work)."""
    from self_improver.tools.errors import secret_detector

    texts = [t for t, _ in GATED_SECRETS] + NEAR_MISSES
    texts += [a + sep + b for a in texts[:6] for b in NEAR_MISSES for sep in (" ", "\n")]
    gated = [secret_detector.find_secrets(t) for t in texts]
    monkeypatch.setattr(secret_detector, "_GATED", {})
    assert [secret_detector.find_secrets(t) for t in texts] == gated


def test_masked_texts_are_cached_by_exact_text() -> None:
    from self_improver.tools.errors import secret_detector

    text = "token=abcdef123456 for bob@example.com"
    assert secret_detector.redact_secrets(text) == "token=*** for <email>"
    assert secret_detector.redact_secrets(text, redact_emails=False) == "token=*** for bob@example.com"
    long = "x" * secret_detector.CACHED_TEXT + " password='hunter22'"
    assert secret_detector.redact_secrets(long).endswith("password='***'")
