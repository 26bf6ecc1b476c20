"""The offline embedding compares problems, not values: ids and numbers must not decide similarity."""

from __future__ import annotations

import numpy as np
from chromadb.utils.embedding_functions import config_to_embedding_function
from self_improver.tools.memory.embedding import DEFAULT_DIM, ErrorTextEmbedding, embed_text
from self_improver.tools.memory.text import HOST, NUM, UUID, tokens


def similarity(a: str, b: str) -> float:
    return float(np.dot(embed_text(a), embed_text(b)))


def test_values_become_placeholders_and_identifiers_are_split() -> None:
    toks = tokens(
        "ConnectionRefusedError: connecting to db-3.prod.acme.internal:5432 (task 8f3a9c2e-1b2d-4e5f-8a9b-"
        "0c1d2e3f4a5b) after 30 retries"
    )
    assert "connrefused" in toks and HOST in toks and UUID in toks and NUM in toks
    assert "5432" not in toks and not any("8f3a" in t for t in toks)
    assert tokens("get_user_id") == tokens("getUserId") == ["get", "user", "id"]


def test_common_error_vocabulary_is_folded() -> None:
    assert "timeout" in tokens("Read timed out") and "timeout" in tokens("DEADLINE_EXCEEDED")
    assert "connreset" in tokens("Connection reset by peer") and "connreset" in tokens("ECONNRESET")
    assert "notfound" in tokens("No such file or directory") and "notfound" in tokens("key is missing")
    assert "notfound" in tokens("'NoneType' object has no attribute 'email'")


def test_the_same_error_with_other_ids_is_nearly_identical() -> None:
    a = "TimeoutError: IMAP login to mail-3.acme.com:993 timed out after 30s (task 1b2d9f0e-1b2d-4e5f-8a9b-0c1d2e3f4a5b)"
    b = "TimeoutError: IMAP login to mail-17.acme.io:993 timed out after 120s (task 77aa0f1e-9c2d-4e5f-8a9b-aa1d2e3f4a00)"
    assert similarity(a, b) > 0.95


def test_different_problems_with_the_same_ids_stay_apart() -> None:
    ids = "db-3.acme.com:5432 1b2d9f0e-1b2d-4e5f-8a9b-0c1d2e3f4a5b 99812 a7f3k29x 0x7ffe12"
    same_problem = similarity(
        f"connection refused {ids}", "ConnectionRefusedError: [Errno 111] Connection refused"
    )
    other_problem = similarity(
        f"connection refused {ids}", f"disk quota exceeded, no space left on device {ids}"
    )
    assert same_problem > 0.7 and other_problem < 0.25


def test_paraphrases_are_near_and_unrelated_text_is_far() -> None:
    finding = "IMAP login times out in the mail sync agent: imaplib.IMAP4.abort: socket error: timed out"
    assert similarity(finding, "imap login hits a deadline exceeded") > 0.4
    assert similarity(finding, "invoice totals mix Decimal and float") < 0.1


def test_embedding_function_follows_chromas_protocol() -> None:
    function = ErrorTextEmbedding()
    vectors = function(["a timeout", ""])
    assert len(vectors) == 2 and all(len(v) == DEFAULT_DIM for v in vectors)
    assert all(abs(float(np.linalg.norm(v)) - 1.0) < 1e-5 for v in vectors)
    assert np.allclose(function(["same text"])[0], ErrorTextEmbedding()(["same text"])[0])
    rebuilt = config_to_embedding_function({"name": function.name(), "config": function.get_config()})
    assert isinstance(rebuilt, ErrorTextEmbedding) and rebuilt.dim == DEFAULT_DIM
    assert function.default_space() == "cosine"
