"""Reach chroma (embedded by default, a server when memory_url is set) and open the findings collection.

The collection pins the embedding's name and dimension in its metadata: vectors of two embeddings
are not comparable, so opening it with another one is refused with the way to migrate. A server
that does not answer becomes an UnavailableError that says how to bring memory back.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import chromadb
import httpx
from chromadb.config import Settings as ChromaSettings
from chromadb.errors import ChromaError, NotFoundError, UniqueConstraintError

from ..support.problems import UnavailableError
from .embedders import Embedder
from .outages import EmbeddingMismatchError, ServerDownError

COLLECTION = "self_improver_findings"
PIN_NAME, PIN_DIM, PIN_SPACE = "embedding_name", "embedding_dim", "embedding_space"
REINDEX_COLLECTION = f"{COLLECTION}_reindex"
REQUEST_TIMEOUT_S = 10.0


def _chroma_settings() -> ChromaSettings:
    return ChromaSettings(anonymized_telemetry=False, allow_reset=False)


def parse_url(url: str) -> tuple[str, int, bool]:
    parsed = urlparse(url if "://" in url else f"http://{url}")
    if parsed.scheme not in ("http", "https") or not parsed.hostname:
        raise UnavailableError(
            f"memory_url {url!r} is not an http(s)://host:port address: fix SELF_IMPROVER_MEMORY_URL"
        )
    return (
        parsed.hostname,
        parsed.port or (443 if parsed.scheme == "https" else 8000),
        parsed.scheme == "https",
    )


def server_down(url: str, exc: BaseException) -> ServerDownError:
    return ServerDownError(
        f"the chroma server at {url} did not answer ({type(exc).__name__}: {exc}): start it (e.g. `chroma run "
        "--path DIR --host HOST --port PORT`), fix SELF_IMPROVER_MEMORY_URL, or unset it to use the embedded store; "
        "then call again"
    )


def is_outage(exc: BaseException) -> bool:
    """True for failures of the connection to a server, not for a refused request."""
    if isinstance(exc, httpx.TransportError | ConnectionError | TimeoutError):
        return True
    return isinstance(exc, ValueError) and "could not connect" in str(exc).lower()


@contextmanager
def outage_as_unavailable(url: str | None) -> Iterator[None]:
    """Translate a lost server into an UnavailableError; embedded failures stay what they are."""
    try:
        yield
    except UnavailableError:
        raise
    except Exception as exc:
        if url and is_outage(exc):
            raise server_down(url, exc) from exc
        if isinstance(exc, sqlite3.OperationalError | ChromaError) and not url:
            raise UnavailableError(
                f"the embedded memory store failed ({exc}): check the data directory"
            ) from exc
        raise


def open_client(data_dir: Path, url: str | None) -> Any:
    """A chroma client; a server must answer a heartbeat before it is used."""
    if not url:
        path = data_dir / "memory"
        path.mkdir(parents=True, exist_ok=True)
        return chromadb.PersistentClient(path=str(path), settings=_chroma_settings())
    host, port, ssl = parse_url(url)
    with outage_as_unavailable(url):
        client = chromadb.HttpClient(host=host, port=port, ssl=ssl, settings=_chroma_settings())
        session = getattr(getattr(client, "_server", None), "_session", None)
        if isinstance(session, httpx.Client):
            session.timeout = httpx.Timeout(REQUEST_TIMEOUT_S)  # chroma's own default waits forever
        client.heartbeat()
    return client


def check_pin(collection: Any, embedder: Embedder) -> None:
    pinned = dict(collection.metadata or {})
    name, dim = pinned.get(PIN_NAME), pinned.get(PIN_DIM)
    if name == embedder.name and dim == embedder.dim:
        return
    raise EmbeddingMismatchError(
        f"the memory collection {collection.name!r} holds vectors of embedding {name!r} (dimension {dim}), but the "
        f"configured embedding is {embedder.name!r} (dimension {embedder.dim}), and the two cannot be compared: run "
        "`self-improver memory reindex` to re-embed every finding with the configured embedding (the old collection "
        "is kept as a backup), or set SELF_IMPROVER_EMBEDDING back to the embedding the collection was built with"
    )


def create_collection(client: Any, embedder: Embedder, name: str) -> Any:
    metadata = {PIN_NAME: embedder.name, PIN_DIM: embedder.dim, PIN_SPACE: "cosine"}
    return client.create_collection(
        name,
        metadata=metadata,
        configuration={"hnsw": {"space": "cosine"}},
        embedding_function=embedder.function,
    )


def get_collection(client: Any, name: str = COLLECTION) -> Any | None:
    try:
        return client.get_collection(name)
    except NotFoundError:
        return None


def open_collection(client: Any, embedder: Embedder, name: str = COLLECTION) -> Any:
    """The findings collection, created on first use, refused when its pinned embedding differs."""
    collection = get_collection(client, name)
    if collection is None and name == COLLECTION and get_collection(client, REINDEX_COLLECTION) is not None:
        raise UnavailableError(
            "a memory reindex was interrupted before it finished: run `self-improver memory reindex` again to complete "
            "it; no finding is lost"
        )
    if collection is None:
        try:
            collection = create_collection(client, embedder, name)
        except UniqueConstraintError:  # another process created it first
            collection = client.get_collection(name)
    check_pin(collection, embedder)
    return collection
