"""The memory's domain rules on a real embedded chromadb: idempotent writes, audit trail, recall, filters."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from self_improver.tools.memory.connection import EmbeddingMismatchError
from self_improver.tools.memory.embedders import make_embedder, offline_embedder
from self_improver.tools.memory.history import finding_history
from self_improver.tools.memory.recall import recall
from self_improver.tools.memory.reindex import reindex
from self_improver.tools.memory.store import MemoryStore
from self_improver.tools.support.problems import NotFoundError, ToolInputError, UnavailableError

Clock = Callable[[], datetime]

IMAP = "IMAP login times out after 30s on mail-3.acme.com; raising the timeout to 60s in PR #42"
PG = "Postgres refuses connections during deploys: psycopg2.OperationalError: Connection refused on port 5432"
DISK = "Render node disk is full: OSError: [Errno 28] No space left on device while writing /var/tmp/x.mp4"


def imap_metadata(**extra: object) -> dict[str, object]:
    return {
        "signature": "sig-imap",
        "error_type": "TimeoutError",
        "occurrences": 42,
        "repo": "acme/worker",
        **extra,
    }


def remember(store: MemoryStore, content: str, confidence: float = 0.7, **metadata: object):
    return store.remember(store.draft(content, confidence, metadata or imap_metadata()))


def test_a_finding_round_trips_in_the_seed_shape(store: MemoryStore) -> None:
    result = remember(store, IMAP, 0.8, signature="sig-imap", error_type="TimeoutError", note="x", flaky=True)
    assert result.created
    stored = store.get(result.id)
    assert stored.model_dump() == {
        "id": result.id,
        "content": IMAP,
        "source": "self-improver",
        "confidence": 0.8,
        "timestamp": "2026-02-16T03:00:00Z",
        "metadata": {
            "error_type": "TimeoutError",
            "signature": "sig-imap",
            "occurrences": None,
            "pr_number": None,
            "pr_status": None,
            "repo": None,
            "note": "x",
            "flaky": True,
        },
    }


def test_the_same_finding_on_the_same_night_is_stored_once(store: MemoryStore, clock: Clock) -> None:
    first = remember(store, IMAP)
    clock.moment += timedelta(hours=2)  # a retried run, same UTC night
    again = remember(store, "  " + IMAP + "\n")
    assert again.id == first.id and not again.created
    assert store.count() == 1
    clock.moment += timedelta(days=1)  # the problem came back the next night
    assert remember(store, IMAP).created
    assert remember(store, IMAP, **imap_metadata(signature="other")).created
    assert store.count() == 3


def test_a_repeat_leaves_the_stored_finding_unchanged(store: MemoryStore) -> None:
    first = remember(store, IMAP, 0.5)
    repeat = remember(store, IMAP, 0.9, **imap_metadata(occurrences=99))
    assert not repeat.created and repeat.finding == first.finding


@pytest.mark.parametrize(
    ("confidence", "metadata", "message"),
    [
        (1.5, {}, "confidence 1.5 is out of range"),
        (-0.1, {}, "out of range"),
        (0.5, {"evidence": {"count": 3}}, "metadata['evidence'] is an object"),
        (0.5, {"tags": ["a", "b"]}, "metadata['tags'] is a list"),
        (0.5, {"_ts": 1}, "reserved"),
        (0.5, {"pr_number": "42"}, "must be an integer"),
        (0.5, {"occurrences": True}, "must be an integer"),
        (0.5, {"signature": 7}, "must be a string"),
    ],
)
def test_bad_findings_are_refused_with_the_fix(store: MemoryStore, confidence, metadata, message) -> None:
    with pytest.raises(ToolInputError, match=re.escape(message)):
        store.draft(IMAP, confidence, metadata)


def test_empty_content_is_refused(store: MemoryStore) -> None:
    with pytest.raises(ToolInputError, match="content is empty"):
        store.draft("   ", 0.5, {})


def test_update_merges_metadata_and_audits_each_change_once(store: MemoryStore, clock: Clock) -> None:
    found = remember(store, IMAP)
    clock.moment += timedelta(hours=1)
    opened = store.update(found.id, {"pr_number": 42, "pr_status": "open"})
    assert opened.metadata["pr_status"] == "open" and opened.metadata["repo"] == "acme/worker"
    assert store.update(found.id, {"pr_number": 42, "pr_status": "open"}) == opened  # a no-op
    clock.moment += timedelta(days=2)
    merged = store.update(
        found.id, {"pr_status": "merged", "verdict": "fixed"}, confidence=0.9, actor="reviewer"
    )
    assert merged.confidence == 0.9 and store.get(found.id) == merged
    changes = [(e.field, e.before, e.after, e.actor) for e in store.audit.entries("sig-imap")]
    assert changes == [
        (None, None, None, "self-improver"),  # created
        ("pr_number", None, 42, "self-improver"),
        ("pr_status", None, "open", "self-improver"),
        ("pr_status", "open", "merged", "reviewer"),
        ("verdict", None, "fixed", "reviewer"),
        ("confidence", 0.7, 0.9, "reviewer"),
    ]


def test_null_clears_an_extra_key_and_nulls_a_known_one(store: MemoryStore) -> None:
    found = remember(store, IMAP, **imap_metadata(verdict="pending", pr_status="open"))
    cleared = store.update(found.id, {"verdict": None, "pr_status": None})
    assert "verdict" not in cleared.metadata and cleared.metadata["pr_status"] is None
    assert store.get(found.id) == cleared


def test_update_errors_say_what_to_send(store: MemoryStore) -> None:
    with pytest.raises(NotFoundError, match="use an id returned by remember_finding or recall_findings"):
        store.update("fnd_missing", {"pr_status": "open"})
    found = remember(store, IMAP)
    with pytest.raises(ToolInputError, match="metadata is empty"):
        store.update(found.id, {})


def test_history_tells_the_story_of_a_signature_in_pages(store: MemoryStore, clock: Clock) -> None:
    first = remember(store, IMAP)
    clock.moment += timedelta(hours=1)
    store.update(first.id, {"pr_number": 42, "pr_status": "open"})
    clock.moment += timedelta(days=1)
    store.update(first.id, {"pr_status": "closed"})
    clock.moment += timedelta(hours=1)
    second = remember(store, IMAP + " (again)")
    remember(store, PG, **imap_metadata(signature="sig-pg"))
    everything = finding_history(store, "sig-imap", limit=200)
    assert [(e.kind, e.change.field if e.change else None) for e in everything.events] == [
        ("found", None),
        ("changed", "pr_number"),
        ("changed", "pr_status"),
        ("changed", "pr_status"),
        ("found", None),
    ]
    assert everything.events[-1].finding_id == second.id
    assert (everything.findings_total, everything.changes_total, everything.has_more) == (2, 3, False)
    pages, cursor = [], None
    while True:
        page = finding_history(store, "sig-imap", limit=2, cursor=cursor)
        pages += page.events
        if not page.has_more:
            break
        cursor = page.next_cursor
    assert pages == everything.events
    with pytest.raises(ToolInputError, match="cursor"):
        finding_history(store, "sig-imap", cursor="bogus")
    assert "nothing is stored" in (finding_history(store, "sig-unknown").note or "")


def test_recall_puts_exact_signature_matches_first(store: MemoryStore) -> None:
    remember(store, IMAP, **imap_metadata(signature="sig-imap"))
    remember(
        store,
        "IMAP sign-in deadline exceeded on the mail sync worker",
        **imap_metadata(signature="sig-imap-2"),
    )
    remember(store, PG, **imap_metadata(signature="sig-pg", error_type="OperationalError"))
    got = recall(store, query="imaplib.IMAP4.abort: socket error: timed out", signature="sig-pg", top_k=3)
    assert [f.match for f in got.findings] == ["signature", "similar", "similar"]
    assert got.findings[0].metadata["signature"] == "sig-pg"
    assert {f.metadata["signature"] for f in got.findings[1:]} == {"sig-imap", "sig-imap-2"}
    only = recall(store, signature="sig-pg")
    assert [f.metadata["signature"] for f in only.findings] == ["sig-pg"] and only.findings[
        0
    ].similarity is None


def test_recall_finds_the_same_problem_worded_differently(store: MemoryStore) -> None:
    remember(store, IMAP, **imap_metadata(signature="sig-imap"))
    remember(store, PG, **imap_metadata(signature="sig-pg", error_type="OperationalError"))
    remember(store, DISK, **imap_metadata(signature="sig-disk", error_type="OSError"))
    cases = {
        "TimeoutError: IMAP login to mail-9.acme.io:993 timed out after 120s": "sig-imap",
        "could not connect to server: Connection refused (10.0.3.17:5432)": "sig-pg",
        "ENOSPC: the disk is full on render-2": "sig-disk",
    }
    for query, signature in cases.items():
        best = recall(store, query=query, top_k=1).findings[0]
        assert best.metadata["signature"] == signature, query
        assert best.match == "similar" and 0 < (best.similarity or 0) <= 1


def test_recall_filters_on_metadata(store: MemoryStore, clock: Clock) -> None:
    remember(store, IMAP, 0.9, **imap_metadata(pr_status="merged", occurrences=50, repo="acme/worker"))
    remember(
        store, PG, 0.4, **imap_metadata(signature="sig-pg", pr_status="open", occurrences=5, repo="acme/api")
    )
    clock.moment += timedelta(days=3)
    remember(
        store,
        DISK,
        0.6,
        **imap_metadata(signature="sig-disk", pr_status="closed", occurrences=12, repo="acme/api"),
    )

    def sigs(**kwargs: object) -> set[str]:
        return {str(f.metadata["signature"]) for f in recall(store, top_k=50, **kwargs).findings}

    assert sigs(where={"pr_status": "merged"}) == {"sig-imap"}
    assert sigs(where={"pr_status": {"$in": ["open", "closed"]}}) == {"sig-pg", "sig-disk"}
    assert sigs(where={"occurrences": {"$gte": 12}}) == {"sig-imap", "sig-disk"}
    assert sigs(where={"occurrences": {"$gt": 5, "$lt": 50}}) == {"sig-disk"}
    assert sigs(where={"repo": {"$ne": "acme/api"}}) == {"sig-imap"}
    assert sigs(where={"confidence": {"$gte": 0.6}, "repo": "acme/api"}) == {"sig-disk"}
    assert sigs(since="2026-02-18") == {"sig-disk"}
    # The full disk is in acme/api too, but is nothing like a refused connection: not returned.
    assert sigs(query="connection refused", where={"repo": "acme/api"}) == {"sig-pg"}
    newest_first = recall(store, where={"repo": "acme/api"}).findings
    assert [f.metadata["signature"] for f in newest_first] == ["sig-disk", "sig-pg"]
    assert all(f.match == "filter" for f in newest_first)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({}, "nothing to recall by"),
        ({"query": "   "}, "nothing to recall by"),
        ({"query": "x", "top_k": 0}, "top_k must be an integer from 1 to 50"),
        ({"query": "x", "top_k": 51}, "top_k must be an integer from 1 to 50"),
        ({"where": {"pr_status": {"$regex": "m.*"}}}, "unknown operator '\\$regex'"),
        ({"where": {"$or": [{"a": 1}]}}, "\\$and/\\$or are not needed"),
        ({"where": {"occurrences": {"$gt": "ten"}}}, "compares numbers"),
        ({"where": {"pr_number": "42"}}, "holds integers"),
        ({"where": {"repo": None}}, "null cannot be matched"),
        ({"where": {"repo": {"$in": []}}}, "non-empty list"),
        ({"where": {"verdict": {"$in": ["a", 1]}}}, "one type"),
        ({"where": {"evidence": {"nested": {"x": 1}}}}, "unknown operator"),
        ({"where": "pr_status=open"}, "where must be an object"),
        ({"query": "x", "since": "last tuesday"}, "not an ISO date"),
    ],
)
def test_bad_recall_arguments_are_refused_with_the_fix(store: MemoryStore, kwargs, message) -> None:
    with pytest.raises(ToolInputError, match=message):
        recall(store, **kwargs)


def test_empty_memory_says_the_problem_looks_new(store: MemoryStore) -> None:
    result = recall(store, query="a brand new failure")
    assert result.findings == [] and "looks new" in (result.note or "")


def test_another_embedding_is_refused_until_reindexed(tmp_path: Path, clock: Clock) -> None:
    data = tmp_path / "data"
    old = MemoryStore(data, now=clock, embedder=offline_embedder(256))
    first = remember(old, IMAP)
    remember(old, PG, **imap_metadata(signature="sig-pg"))
    old.close()
    new = MemoryStore(data, now=clock)
    with pytest.raises(EmbeddingMismatchError, match="self-improver memory reindex"):
        new.count()
    report = reindex(data, None, offline_embedder())
    assert report.findings == 2 and report.backup
    assert new.get(first.id).content == IMAP
    assert recall(new, query="imap timed out", top_k=1).findings[0].id == first.id
    assert reindex(data, None, offline_embedder()).message.endswith("nothing to do")
    new.close()


def test_minilm_without_its_model_asks_for_the_download(tmp_path: Path, monkeypatch) -> None:
    from chromadb.utils.embedding_functions.onnx_mini_lm_l6_v2 import ONNXMiniLM_L6_V2
    from self_improver.tools.memory import minilm

    monkeypatch.setattr(ONNXMiniLM_L6_V2, "DOWNLOAD_PATH", tmp_path / "no-model")
    monkeypatch.setattr(minilm, "packaged_model_dir", lambda: None)  # nor the packaged weights
    with pytest.raises(UnavailableError, match="self-improver memory download-model"):
        make_embedder("minilm")
    store = MemoryStore(tmp_path / "data", embedding="minilm")
    with pytest.raises(UnavailableError, match="download-model"):
        store.count()
    assert not (tmp_path / "no-model").exists()  # nothing was downloaded
