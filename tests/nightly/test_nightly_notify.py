"""The nightly summary POSTed to a webhook: JSON with a Slack-compatible `text`, redacted; a failing
webhook is recorded in the run record and never fails the run."""

from __future__ import annotations

import socket

from nightly.night_helpers import NIGHT
from nightly.webhook_server import webhook
from self_improver.server.nightly import run_nightly_async
from self_improver.tools.nightly.runs import RunRecords
from self_improver.tools.notify.webhook import post_json


async def test_the_webhook_receives_the_nights_summary(night_settings) -> None:
    with webhook() as hook:
        settings = night_settings(notify_url=hook.url, embedding="offline")
        result = await run_nightly_async(settings)
    assert result.outcome == "ok" and len(hook.received) == 1
    body = hook.received[0]
    assert hook.headers[0]["Content-Type"] == "application/json"
    assert body["night"] == NIGHT and body["outcome"] == "ok" and body["dry_run"] is False
    assert body["text"].startswith(f"self-improver nightly {NIGHT}: ok")
    assert "Yesterday: 169 tasks, 13 failed" in body["text"]
    assert body["escalating"] and all(s in body["text"] for s in body["escalating"])
    assert str(result.report_path) in body["text"]
    record = RunRecords.in_dir(settings.data_dir).get(result.run_id)
    assert record is not None and record.notify == "notification sent (HTTP 200)" and not record.dry_run


async def test_a_failing_webhook_is_recorded_and_does_not_fail_the_run(night_settings) -> None:
    with webhook(status=500) as hook:
        settings = night_settings(notify_url=hook.url, embedding="offline")
        result = await run_nightly_async(settings)
    assert result.outcome == "ok" and result.exit_code == 0 and len(hook.received) == 1
    record = RunRecords.in_dir(settings.data_dir).get(result.run_id)
    assert record is not None and record.outcome == "ok"
    assert record.notify == "notification failed: the webhook answered HTTP 500"

    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    url = f"http://127.0.0.1:{port}/hooks/T000/secret-token-path"
    unreachable = night_settings(notify_url=url, embedding="offline")
    result = await run_nightly_async(unreachable)
    record = RunRecords.in_dir(unreachable.data_dir).get(result.run_id)
    assert result.outcome == "ok" and record is not None
    assert record.notify and record.notify.startswith("notification failed: the webhook could not be reached")
    assert "secret-token-path" not in record.notify


def test_secrets_in_the_message_are_redacted_before_they_leave() -> None:
    token = "ghp_" + "a1B2c3D4e5" * 4
    with webhook() as hook:
        sent = post_json(hook.url, {"text": f"failed with token {token}", "items": [f"password={token}"]})
    assert sent.sent and sent.status == 200
    body = hook.received[0]
    assert token not in str(body) and "ghp_***" in body["text"]
