"""IMAP connection handling for the email agent."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable


class ImapClient:
    def __init__(self, open_connection: Callable[[], Awaitable[object]], timeout: float = 30.0) -> None:
        self._open_connection = open_connection
        self._timeout = timeout
        self.connection: object | None = None

    async def _connect(self) -> None:
        try:
            self.connection = await asyncio.wait_for(self._open_connection(), self._timeout)
        except asyncio.TimeoutError as exc:
            raise TimeoutError(f"IMAP timeout after {self._timeout:g}s") from exc

    async def connect(self) -> None:
        await self._connect()
