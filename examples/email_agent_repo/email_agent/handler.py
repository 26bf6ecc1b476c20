"""Mailbox bookkeeping shared by the agent's tasks."""

from __future__ import annotations


class EmailHandler:
    def __init__(self) -> None:
        # Per mailbox: the time (epoch seconds) until which the cached context stays valid.
        self._email_context_until: dict[str, float] = {}
        self._email_context_ttl = 300.0

    def refresh(self, mailbox: str, now: float) -> None:
        self._email_context_until[mailbox] = now + self._email_context_ttl
