"""Values become typed placeholders; the words that name the problem stay."""

from __future__ import annotations

import pytest
from self_improver.tools.errors import analyze_error, mask_tokens, parameterize


@pytest.mark.parametrize(
    ("message", "template"),
    [
        ("mail to alice@example.com failed", "mail to <email> failed"),
        ("GET https://api.example.com/v1/users?id=7 failed", "GET <url> failed"),
        ("connect to db.internal:5432 refused", "connect to <host> refused"),
        ("resolving api.github.com", "resolving <host>"),
        ("peer 10.0.0.12:443 reset", "peer <ip> reset"),
        ("peer 2001:db8::1 reset", "peer <ip> reset"),
        ("job 3f2a9c1e-1b2c-4d5e-8f90-123456789abc failed", "job <uuid> failed"),
        ("digest d41d8cd98f00b204e9800998ecf8427e", "digest <hash>"),
        ("commit 356a192b7913b04c54574d18c28d46e6395428ab", "commit <hash>"),
        ("digest 9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08", "digest <hash>"),
        (
            "<Foo object at 0x7f3a2b1c9d80> is not JSON serializable",
            "<Foo object at <hex>> is not JSON serializable",
        ),
        ("timed out after 30s", "timed out after <duration>"),
        ("took 1.5ms", "took <duration>"),
        ("deadline 2026-02-15T10:00:00Z passed", "deadline <time> passed"),
        ("at 2026-02-15 10:00:01,123", "at <time> <time>"),
        ("moved 1,000,000 rows", "moved <*> rows"),
        ("retry 3 of 5, backoff -0.25", "retry <num> of <num>, backoff <num>"),
        ("wrote 512MB", "wrote <num>"),
        ("No such file or directory: '/var/lib/app/123.json'", "No such file or directory: '<path>'"),
        ("open C:\\Users\\bob\\report.txt", "open <path>"),
        (
            "invalid literal for int() with base 10: 'hello world'",
            "invalid literal for int() with base <num>: '<str>'",
        ),
        ('user_id=42 name="John Smith" active=true', "user_id=<num> name=<str> active=<bool>"),
        ("ok = True, owner = None", "ok = <bool>, owner = <null>"),
    ],
)
def test_values_become_typed_placeholders(message: str, template: str) -> None:
    assert parameterize(message) == template


def test_words_that_name_the_problem_stay() -> None:
    message = "'Foo' object has no attribute '_email_context_until'"
    assert parameterize(message) == message
    assert parameterize("I/O error on read / write") == "I/O error on read / write"
    assert parameterize("it's not 'closed") == "it's not 'closed"


@pytest.mark.parametrize(
    ("key", "kept"),
    [
        ("'user_id'", True),
        ("'utf-8'", True),
        ("'settings.DATABASE_URL'", True),
        ("'user_12345'", False),
        ("12345", False),
        ("'3f2a9c1e-1b2c-4d5e-8f90-123456789abc'", False),
        ("'alice@example.com'", False),
        ("'a8Fk2LmQ9zXw4TbR7yUe'", False),
    ],
)
def test_key_error_keeps_fixed_names_and_masks_values(key: str, kept: bool) -> None:
    signature = analyze_error(f"KeyError: {key}")
    assert (key in signature.template) is kept
    assert (key in signature.title) is kept


def test_a_word_after_host_is_a_host_name() -> None:
    first = analyze_error("IMAP timeout after 30s on host a")
    assert first.template == "IMAP timeout after <duration> on host <host>"
    assert first.signature == analyze_error("IMAP timeout after 31s on host mail-b").signature


def test_mask_tokens_collapses_runs_of_values() -> None:
    assert mask_tokens("ask 10.0.0.1:50010 to delete blk_1 blk_2 blk_3") == (
        "ask",
        "<*>",
        "to",
        "delete",
        "<*>",
    )
    assert mask_tokens("size 2.3 KB, free 1.2 GB") == ("size", "<*>", "free", "<*>")
    assert mask_tokens("at Thu Aug 11 10:00:00 PDT 2005 done") == ("at", "<*>", "done")
    assert mask_tokens("ready=true,policy=3") == ("ready=<*>", "policy=<*>")
    assert mask_tokens("Total: 15 GB") == ("Total:", "<*>")


def test_the_same_message_with_other_values_has_one_template() -> None:
    first = analyze_error(
        "Timeout talking to 10.0.0.7:8080 after 30s (request 8f3a2c1d9e7b6a5f4c3d2e1f0a9b8c7d)"
    )
    second = analyze_error(
        "Timeout talking to 10.0.0.9:9090 after 2.5s (request 0123456789abcdef0123456789abcdef)"
    )
    assert first.signature == second.signature
    assert first.template == "Timeout talking to <ip> after <duration> (request <hash>)"
