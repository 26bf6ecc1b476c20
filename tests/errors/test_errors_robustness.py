"""Bad input never crashes and never costs more than linear time."""

from __future__ import annotations

import random
import time

from self_improver.tools.errors import analyze_error, cluster_messages, parse_traceback
from self_improver.tools.errors.redact import redact_secrets


def test_huge_binary_and_empty_messages() -> None:
    huge = "x" * 1_000_000
    nasty = ["", " ", "\x00\xff\ufffd" * 1000, "\ud800 lone surrogate", huge, "é" * 300_000, "\n" * 10_000]
    started = time.perf_counter()
    for message in nasty:
        signature = analyze_error(message, traceback=message, error_type=None)
        assert len(signature.signature) == 12
        redact_secrets(message)
    signatures = cluster_messages(nasty)
    assert len(signatures) == len(nasty)
    assert time.perf_counter() - started < 5


def test_only_the_first_64_kb_of_a_message_count() -> None:
    base = "error " + "word " * 20_000
    assert analyze_error(base + "tail A").signature == analyze_error(base + "tail B").signature


def test_huge_traceback_keeps_the_raised_exception() -> None:
    frame = '  File "/srv/app/loop.py", line {n}, in step\n    step()\n'
    text = "Traceback (most recent call last):\n" + "".join(frame.format(n=n) for n in range(20_000))
    text += "RecursionError: maximum recursion depth exceeded"
    chain = parse_traceback(text)
    assert chain[-1].type == "RecursionError"
    assert analyze_error("", text).fingerprint == "tb|RecursionError@loop:step"


def test_many_distinct_messages_scale_linearly() -> None:
    rng = random.Random(4)
    words = ["".join(rng.choice("abcdefghijklmnop") for _ in range(6)) for _ in range(3000)]

    def batch(count: int) -> list[str]:
        return [
            f"{rng.choice(words)} {rng.choice(words)} failed for {i} after {rng.random():.3f}s"
            for i in range(count)
        ]

    small, large = batch(5_000), batch(50_000)
    started = time.perf_counter()
    cluster_messages(small)
    small_seconds = time.perf_counter() - started
    started = time.perf_counter()
    assert len(cluster_messages(large)) == 50_000
    large_seconds = time.perf_counter() - started
    assert large_seconds < 10 * small_seconds * 2.5  # 10x the input, far from 100x
