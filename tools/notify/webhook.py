"""POST one JSON message to a webhook, redacted, with a time limit, never raising.

The body is JSON with a Slack-compatible `text` field (Slack, Mattermost, Teams' and Discord's Slack
endpoints, ntfy and most chat bridges read it) plus whatever structured fields the caller adds. Every
string in it passes through the project's secret redaction first. The URL itself is a secret (chat
webhooks carry their token in the path): it never appears in a returned message.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from dataclasses import dataclass
from typing import Any

from ..errors.redact import redact_secrets

TIMEOUT_SECONDS = 10.0
MAX_TEXT = 3000  # Slack shows about 4000 characters of a message's text; stay well below
USER_AGENT = "self-improver-notify"


@dataclass(frozen=True)
class Delivery:
    """What became of one notification."""

    sent: bool
    status: int | None = None
    error: str | None = None

    def describe(self) -> str:
        if self.sent:
            return f"notification sent (HTTP {self.status})"
        return f"notification failed: {self.error}"


def redacted(value: Any) -> Any:
    """`value` with every string redacted (dicts and lists walked)."""
    if isinstance(value, str):
        return redact_secrets(value, redact_emails=True)
    if isinstance(value, dict):
        return {k: redacted(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [redacted(v) for v in value]
    return value


def post_json(url: str, payload: dict[str, Any], timeout: float = TIMEOUT_SECONDS) -> Delivery:
    """POST `payload` (redacted, `text` cut to MAX_TEXT) to `url`; a failure is returned, not raised."""
    body = redacted(payload)
    if isinstance(body.get("text"), str) and len(body["text"]) > MAX_TEXT:
        body["text"] = body["text"][: MAX_TEXT - 1] + "…"
    if not url.lower().startswith(("http://", "https://")):
        return Delivery(False, error="notify_url must be an http:// or https:// URL")
    request = urllib.request.Request(
        url,
        data=json.dumps(body).encode(),
        headers={"Content-Type": "application/json", "User-Agent": USER_AGENT},
        method="POST",
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310 - scheme checked above
            status = int(response.status)
    except urllib.error.HTTPError as exc:
        return Delivery(False, status=exc.code, error=f"the webhook answered HTTP {exc.code}")
    except (urllib.error.URLError, TimeoutError, OSError) as exc:
        reason = getattr(exc, "reason", exc)
        text = redact_secrets(str(reason), redact_emails=False).replace(url, "<notify_url>")
        return Delivery(False, error=f"the webhook could not be reached ({type(exc).__name__}: {text[:200]})")
    if not 200 <= status < 300:
        return Delivery(False, status=status, error=f"the webhook answered HTTP {status}")
    return Delivery(True, status=status)
