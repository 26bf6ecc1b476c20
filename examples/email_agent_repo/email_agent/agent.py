"""The email agent: checks inboxes and keeps a per-mailbox context fresh."""

from __future__ import annotations

import time

from .handler import EmailHandler


class EmailAgent:
    def __init__(self, clock=time.time) -> None:
        self._email_handler = EmailHandler()
        self._clock = clock
        self.refreshes = 0

    def check_inbox(self, mailbox: str) -> str:
        if self._should_refresh_context(mailbox):
            self._email_handler.refresh(mailbox, self._clock())
            self.refreshes += 1
        return f"checked {mailbox}"

    def _should_refresh_context(self, mailbox: str) -> bool:
        now = self._clock()
        return now >= self._email_context_until.get(mailbox, 0.0)
