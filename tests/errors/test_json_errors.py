"""Errors written as JSON objects (API error bodies) are read as type + message, and group by cause."""

from __future__ import annotations

import json
import random
import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path

from mcp import Client
from mcp_calls import call
from self_improver.server.app import build_server
from self_improver.tools.errors import analyze_error, cluster_errors
from self_improver.tools.errors.exception_names import read_json_error

NOW = datetime(2026, 2, 16, 0, 17, tzinfo=UTC)
RATE_LIMIT_TITLE = (
    "RateLimitError: Rate limit reached for gpt-4o in organization <id> on tokens per min (TPM)"
)


def _org(rng: random.Random) -> str:
    letters = "abcdefghijkLMNOPQRSTUVWxyz"
    with_digits = "".join(rng.choice(letters + "0123456789") for _ in range(24))
    return rng.choice(["org-AbC123xyz", "org-acmecorp", "org-ZZtopQQ", f"org-{with_digits}"])


def _rate_limit_message(rng: random.Random) -> str:
    limit = rng.choice([30000, 10000, 450000])
    return (
        f"Rate limit reached for gpt-4o in organization {_org(rng)} on tokens per min (TPM): "
        f"Limit {limit}, Used {rng.randint(1000, limit)}, Requested {rng.randint(1, 5000)}. "
        f"Please try again in {rng.choice(['2.47s', '120ms', '1m3s'])}."
    )


def _rate_limit_error(rng: random.Random) -> str:
    body = {
        "type": "RateLimitError",
        "message": _rate_limit_message(rng),
        "code": "rate_limit_exceeded",
        "request_id": f"req_{rng.getrandbits(64):016x}",
    }
    return json.dumps({"error": body})


def test_nested_flat_and_string_error_objects_are_read_as_type_and_message() -> None:
    nested = analyze_error(
        '{"error": {"type": "RateLimitError", "message": "Too many requests", "code": "x"}}'
    )
    flat = analyze_error('{"type": "ServiceUnavailable", "message": "Backend is down", "code": 503}')
    text = analyze_error('{"error": "Internal error while processing call_AbC123xyz", "code": 500}')
    coded = analyze_error('{"error": {"message": "Quota exceeded", "code": "insufficient_quota"}}')
    assert (nested.error_type, nested.title) == ("RateLimitError", "RateLimitError: Too many requests")
    assert (flat.error_type, flat.title) == ("ServiceUnavailable", "ServiceUnavailable: Backend is down")
    assert (text.error_type, text.title) == (None, "Internal error while processing <id>")
    assert (coded.error_type, coded.title) == ("insufficient_quota", "insufficient_quota: Quota exceeded")


def test_same_cause_with_other_numbers_ids_and_organisations_is_one_signature() -> None:
    rng = random.Random(3)
    errors = [_rate_limit_error(rng) for _ in range(30)]
    stateless = {analyze_error(error).signature for error in errors}
    batch = cluster_errors([(error, None, None) for error in errors])
    assert len(stateless) == 1
    assert {s.signature for s in batch} == stateless
    assert batch[0].title.startswith(RATE_LIMIT_TITLE)
    assert batch[0].error_type == "RateLimitError"
    assert "{" not in batch[0].title and "org-" not in batch[0].template


def test_object_after_a_prefix_is_replaced_by_its_message() -> None:
    rng = random.Random(5)
    prefixed = {analyze_error(f"OpenAI API error: {_rate_limit_error(rng)}").signature for _ in range(10)}
    sdk = [
        "openai.RateLimitError: Error code: 429 - "
        + repr(
            {"error": {"message": _rate_limit_message(rng), "type": "tokens", "code": "rate_limit_exceeded"}}
        )
        for _ in range(10)
    ]
    sdk_signatures = {analyze_error(error) for error in sdk}
    assert len(prefixed) == 1
    assert len({s.signature for s in sdk_signatures}) == 1
    first = next(iter(sdk_signatures))
    assert first.error_type == "openai.RateLimitError"  # the type named outside the object wins
    assert first.title.startswith("RateLimitError: Error code: <num> - Rate limit reached for gpt-4o")


def test_other_causes_stay_apart() -> None:
    rng = random.Random(7)
    errors = [
        _rate_limit_error(rng),
        json.dumps({"error": {"type": "RateLimitError", "message": "You exceeded your current quota"}}),
        json.dumps({"error": {"type": "APITimeoutError", "message": _rate_limit_message(rng)}}),
        json.dumps({"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}}),
    ]
    assert len({s.signature for s in cluster_errors([(e, None, None) for e in errors])}) == 4


def test_an_explicit_error_type_wins_over_the_objects_type() -> None:
    error = json.dumps({"error": {"type": "tokens", "message": "Rate limit reached"}})
    signature = analyze_error(error, error_type="openai.RateLimitError")
    assert signature.error_type == "openai.RateLimitError"
    assert signature.title == "RateLimitError: Rate limit reached"


def test_cut_off_object_still_gives_type_and_message() -> None:
    whole = json.dumps({"error": {"type": "RateLimitError", "message": "Rate limit reached for gpt-4o now"}})
    signature = analyze_error(whole[:70])
    assert signature.error_type == "RateLimitError"
    assert signature.title.startswith("RateLimitError: Rate limit reached") and "{" not in signature.title


def test_traceback_ending_in_a_json_error_gets_a_readable_title() -> None:
    traceback = (
        "Traceback (most recent call last):\n"
        '  File "/usr/lib/python3.11/site-packages/openai/_base_client.py", line 1037, in request\n'
        "    raise self._make_status_error_from_response(err.response) from None\n"
        "openai.RateLimitError: Error code: 429 - "
        + repr(
            {
                "error": {
                    "message": "Rate limit reached for gpt-4o in organization org-AbC on x",
                    "type": "tokens",
                }
            }
        )
        + "\n"
    )
    signature = analyze_error("", traceback)
    assert signature.kind == "traceback"
    assert signature.title == (
        "RateLimitError: Error code: <num> - Rate limit reached for gpt-4o in organization <id> on x"
    )


def test_text_that_is_not_an_error_object_is_left_alone() -> None:
    for text in ('{"user": "bob", "count": 3}', "KeyError: {'a': 1}", '{"type": "click"}', "{broken"):
        assert read_json_error(text) is None
    assert analyze_error('{"user": "bob"}').title == '{"user": "bob"}'


def _telemetry_db(path: Path) -> dict[str, int]:
    """A user's minimal table with planted causes; returns cause -> number of failed tasks."""
    rng = random.Random(11)
    rows: list[tuple[str, str | None, str]] = []
    start = NOW - timedelta(days=3)

    def add(status: str, error: str | None) -> None:
        created = start + timedelta(minutes=37 * len(rows))
        rows.append((status, error, created.strftime("%Y-%m-%d %H:%M:%S")))

    for _ in range(20):
        add("failed", _rate_limit_error(rng))
    for n in range(4):
        add(
            "failed",
            json.dumps({"error": "Upstream returned 502 for request req_9fA" + str(n) * 8, "code": 502}),
        )
    for n in range(3):
        add("failed", f"TimeoutError: IMAP timeout after {30 + n}s on host mail{n}")
    for _ in range(10):
        add("done", None)
    conn = sqlite3.connect(path)
    conn.execute("CREATE TABLE tasks (id INTEGER PRIMARY KEY, status TEXT, error TEXT, created_at TEXT)")
    conn.executemany("INSERT INTO tasks(status, error, created_at) VALUES (?, ?, ?)", rows)
    conn.commit()
    conn.close()
    return {"rate limit": 20, "upstream": 4, "imap": 3}


async def test_top_errors_on_a_users_database_gives_one_group_per_cause(
    make_settings, tmp_path: Path
) -> None:
    db = tmp_path / "theirs.db"
    planted = _telemetry_db(db)
    async with Client(build_server(make_settings(telemetry_db=db, now=NOW))) as client:
        top = await call(client, "top_errors", days=7, limit=10)
        again = await call(client, "top_errors", days=7, limit=10)
    groups = top["groups"]
    assert [g["count"] for g in groups] == sorted(planted.values(), reverse=True)
    rate_limit, upstream, imap = groups
    assert rate_limit["title"].startswith(RATE_LIMIT_TITLE)
    assert rate_limit["error_type"] == "RateLimitError"
    assert upstream["title"].startswith("Upstream returned <num> for request <id>")
    assert imap["title"].startswith("TimeoutError: IMAP timeout")
    assert all("{" not in g["title"] for g in groups)
    assert [g["signature"] for g in again["groups"]] == [g["signature"] for g in groups]
