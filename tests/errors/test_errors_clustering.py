"""Batch and incremental grouping of log-style messages."""

from __future__ import annotations

import random
import re
from collections import Counter, defaultdict

from self_improver.tools.errors import (
    SignatureClusterer,
    TemplateMiner,
    analyze_error,
    cluster_messages,
    mask_tokens,
)


def _grouping_accuracy(predicted: list[str], truth: list[str]) -> float:
    true_sizes = Counter(truth)
    groups: dict[str, list[int]] = defaultdict(list)
    for index, group in enumerate(predicted):
        groups[group].append(index)
    correct = sum(
        len(m)
        for m in groups.values()
        if len({truth[i] for i in m}) == 1 and true_sizes[truth[m[0]]] == len(m)
    )
    return correct / len(truth)


def _synthetic_logs(count: int, seed: int = 11) -> tuple[list[str], list[str]]:
    rng = random.Random(seed)
    users = ["alice", "bob", "carol", "dave", "erin", "frank", "grace", "heidi"]
    services = ["ftp", "telnet", "rsync", "printer", "echo", "daytime", "klogin"]
    families = {
        "claim": lambda: f"[instance: {rng.getrandbits(128):032x}] Claim successful",
        "took": lambda: f"Took {rng.uniform(0, 30):.2f} seconds to build instance.",
        "view": lambda: f"Changing view acls to: {rng.choice(users)}",
        "modify": lambda: f"Changing modify acls to: {rng.choice(users)}",
        "bytes": lambda: (
            f"Block rdd_{rng.randint(0, 99)}_{rng.randint(0, 9)} stored as bytes in memory "
            f"(estimated size {rng.uniform(1, 999):.1f} {rng.choice(['B', 'KB', 'MB'])}, free {rng.uniform(1, 9):.1f} GB)"
        ),
        "values": lambda: (
            f"Block broadcast_{rng.randint(0, 99)} stored as values in memory "
            f"(estimated size {rng.uniform(1, 999):.1f} KB, free {rng.uniform(1, 9):.1f} GB)"
        ),
        "removing": lambda: f"removing {rng.choice(services)}",
        "http": lambda: (
            f'10.11.10.{rng.randint(1, 254)} "GET /v2/{rng.getrandbits(64):x}/servers/detail HTTP/1.1" '
            f"status: 200 len: {rng.randint(100, 2000)} time: {rng.random():.7f}"
        ),
        "post": lambda: (
            f'10.11.10.{rng.randint(1, 254)} "POST /v2/{rng.getrandbits(64):x}/os-events HTTP/1.1" '
            f"status: 200 len: {rng.randint(100, 2000)} time: {rng.random():.7f}"
        ),
        "login": lambda: (
            f"User {rng.choice(users)} logged in from {rng.randint(1, 254)}.0.0.1 at 2026-02-15T10:0{rng.randint(0, 9)}:00Z"
        ),
    }
    names = list(families)
    labels = [rng.choice(names) for _ in range(count)]
    return [families[label]() for label in labels], labels


def test_grouping_accuracy_on_synthetic_log_families() -> None:
    messages, labels = _synthetic_logs(3000)
    assert _grouping_accuracy(cluster_messages(messages), labels) == 1.0


def test_result_has_one_signature_per_message_in_order() -> None:
    messages = ["disk full on /dev/sda1", "", "disk full on /dev/sdb2", "KeyError: 'user_id'"]
    signatures = cluster_messages(messages)
    assert len(signatures) == 4 and all(re.fullmatch(r"[0-9a-f]{12}", s) for s in signatures)
    assert signatures[0] == signatures[2] != signatures[1]
    assert cluster_messages([]) == []


def test_word_values_generalise_only_with_enough_distinct_words() -> None:
    few = cluster_messages(
        [f"VM {state} (Lifecycle Event)" for state in ["Paused", "Resumed", "Started", "Stopped"]]
    )
    assert len(set(few)) == 4  # four constant states stay four templates
    many = [f"removing {s}" for s in ["ftp", "telnet", "rsync", "printer", "echo", "daytime"]]
    assert len(set(cluster_messages(many))) == 1


def test_two_word_values_in_one_message_generalise_from_repetition() -> None:
    rng = random.Random(0)
    users = ["".join(rng.choice("abcdefghij") for _ in range(6)) for _ in range(40)]
    projects = ["apollo", "zeus", "hera", "athena", "ares", "hermes", "demeter"]
    weights = [1 / (rank + 1) for rank in range(len(projects))]
    messages = [
        f"User {rng.choice(users)} cannot access project {rng.choices(projects, weights)[0]}"
        for _ in range(1500)
    ]
    assert len(set(cluster_messages(messages))) == 1


def test_cluster_signature_equals_analyze_error_when_nothing_was_generalised() -> None:
    messages = ["TimeoutError: IMAP timeout after 30s", "TimeoutError: IMAP timeout after 5s", "boom 7"]
    assert cluster_messages(messages) == [analyze_error(m).signature for m in messages]


def test_exception_types_are_never_merged_by_the_miner() -> None:
    types = ["ValueError", "KeyError", "TypeError", "OSError", "RuntimeError", "IndexError"]
    assert len(set(cluster_messages([f"{t}: something broke" for t in types]))) == len(types)


def test_incremental_clusterer_reports_current_and_final_signatures() -> None:
    clusterer = SignatureClusterer()
    words = ["ftp", "telnet", "rsync", "printer", "echo"]
    early = [clusterer.add(f"removing {w}") for w in words]
    assert len({s.signature for s in early[:4]}) == 4
    assert early[-1].template == "removing <*>" and early[-1].title == "removing <*>"
    assert clusterer.add("removing klogin").signature == early[-1].signature
    traceback_error = clusterer.add(
        "", 'Traceback (most recent call last):\n  File "/a.py", line 1, in f\nKeyError: 1'
    )
    assert traceback_error.kind == "traceback"


def test_template_miner_api() -> None:
    miner = TemplateMiner()
    for word in ["a1", "b", "c", "d", "e", "f"]:
        miner.add(mask_tokens(f"start job {word} now"))
    clusters = miner.clusters()
    assert len(clusters) == 1 and clusters[0].text == "start job <*> now" and clusters[0].size == 6
