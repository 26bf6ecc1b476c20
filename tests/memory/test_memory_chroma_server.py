"""Memory on a real `chroma run` server: store, recall, outage, restart, and nothing acknowledged is lost."""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest
from local_ports import free_port
from self_improver.tools.memory.connection import ServerDownError
from self_improver.tools.memory.recall import recall
from self_improver.tools.memory.store import MemoryStore
from self_improver.tools.support.problems import UnavailableError

CHROMA = Path(sys.executable).parent / "chroma"
START_TIMEOUT_S = 60.0

pytestmark = pytest.mark.skipif(
    not CHROMA.exists(), reason="the chromadb package's `chroma` command is not installed"
)


@contextmanager
def chroma_server(path: Path, log: Path, port: int) -> Iterator[str]:
    """A `chroma run` process on a loopback port, always terminated."""
    with log.open("ab") as out:
        process = subprocess.Popen(
            [str(CHROMA), "run", "--path", str(path), "--host", "127.0.0.1", "--port", str(port)],
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        deadline = time.monotonic() + START_TIMEOUT_S
        while True:
            if process.poll() is not None:
                pytest.fail(f"chroma run exited with {process.returncode}: {log.read_text()[-2000:]}")
            try:
                if httpx.get(f"http://127.0.0.1:{port}/api/v2/heartbeat", timeout=1.0).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                pytest.fail(f"chroma run did not answer within {START_TIMEOUT_S}s: {log.read_text()[-2000:]}")
            time.sleep(0.2)
        yield f"http://127.0.0.1:{port}"
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=15)


def draft(store: MemoryStore, content: str, signature: str):
    return store.draft(content, 0.7, {"signature": signature, "error_type": "TimeoutError"})


def test_findings_survive_an_outage_and_a_server_restart(tmp_path: Path) -> None:
    server_data, client_data, log = tmp_path / "chroma", tmp_path / "client", tmp_path / "chroma.log"
    port = free_port()
    with chroma_server(server_data, log, port) as url:
        store = MemoryStore(client_data, url=url)
        imap = store.remember(draft(store, "IMAP login timed out after 30s on mail-3", "sig-imap"))
        pg = store.remember(draft(store, "Postgres connection refused on port 5432 during deploy", "sig-pg"))
        assert imap.created and pg.created
        best = recall(store, query="TimeoutError: imap login timed out (mail-9, 120s)", top_k=1).findings[0]
        assert best.id == imap.id

    # The server is down: nothing is acknowledged, the finding waits in the local write-ahead.
    disk = draft(store, "Render node disk full: No space left on device", "sig-disk")
    with pytest.raises(ServerDownError, match="NOT stored yet"):
        store.remember(disk)
    with pytest.raises(UnavailableError, match="did not answer"):
        recall(store, query="anything")

    with chroma_server(server_data, log, port):  # restarted on the same data and address
        confirmed = store.remember(disk)  # this call writes the queued finding first
        assert confirmed.created and confirmed.id == disk.id
        assert store.count() == 3
        assert store.get(imap.id).content == "IMAP login timed out after 30s on mail-3"
        assert recall(store, signature="sig-pg").findings[0].id == pg.id
        assert not store.remember(disk).created
        store.close()

    with chroma_server(server_data, log, free_port()) as url:  # a fresh client finds everything too
        fresh = MemoryStore(tmp_path / "another-client", url=url)
        assert (
            fresh.count() == 3
            and recall(fresh, query="no space left on device", top_k=1).findings[0].id == disk.id
        )
        fresh.close()
