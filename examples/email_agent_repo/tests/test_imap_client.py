import asyncio

import pytest

from email_agent.imap_client import ImapClient


@pytest.mark.xfail(raises=TimeoutError, strict=True, reason="known bug: no retry on IMAP timeout")
def test_connect_retries_timeouts_with_exponential_backoff(monkeypatch):
    attempts = []
    sleeps = []

    async def flaky_open():
        attempts.append(1)
        if len(attempts) < 3:
            await asyncio.Event().wait()  # the server never answers: the client's timeout fires
        return "connection"

    async def record_sleep(seconds):
        sleeps.append(seconds)

    client = ImapClient(flaky_open, timeout=0.05)
    monkeypatch.setattr(asyncio, "sleep", record_sleep)
    asyncio.run(client.connect())
    assert client.connection == "connection"
    assert len(attempts) == 3
    assert sleeps == [0.5, 1.0]
