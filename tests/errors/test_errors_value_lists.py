"""Words with few spellings that are values because of where they stand (`value_lists`), and the
constant alternatives that look like them and must stay apart."""

from __future__ import annotations

import itertools
import random

from self_improver.tools.errors import cluster_messages, mask_tokens
from self_improver.tools.errors.value_lists import labelled_values


def groups(messages: list[str]) -> int:
    return len(set(cluster_messages(messages)))


def together(messages: list[str], first: str, second: str) -> bool:
    """Whether the messages containing `first` and those containing `second` share a group."""
    signatures = cluster_messages(messages)
    a = {s for m, s in zip(messages, signatures, strict=True) if first in m}
    b = {s for m, s in zip(messages, signatures, strict=True) if second in m}
    return bool(a & b)


def notification(rng: random.Random, state: str, mine: str = "LOOKING") -> str:
    return (
        f"Notification: {rng.randint(1, 5)} (n.leader), 0x{rng.getrandbits(24):x} (n.zxid), "
        f"0x{rng.getrandbits(8):x} (n.round), {state} (n.state), {rng.randint(1, 5)} (n.sid), "
        f"0x{rng.getrandbits(8):x} (n.peerEpoch), {mine} (my state)"
    )


def test_a_word_in_a_list_of_labelled_values_is_a_value() -> None:
    rng = random.Random(1)
    # Three states at one position: too few spellings for a family, and no second position to cross.
    messages = [notification(rng, state) for state in ["LOOKING", "FOLLOWING", "LEADING"] * 3]
    assert groups(messages) == 1
    assert groups(messages[:2]) == 1  # no repetition needed: the labels' other values are masked
    shape = mask_tokens(messages[0])
    assert labelled_values(shape).count("<*>") == shape.count("<*>") + 2


def test_a_lone_labelled_word_keeps_its_meaning() -> None:
    messages = [
        f"[instance: {rng}] VM {event} (Lifecycle Event)"
        for rng in ("a1b2c3d4-0000-4000-8000-000000000001", "a1b2c3d4-0000-4000-8000-000000000002")
        for event in ("Started", "Paused", "Resumed", "Stopped")
    ]
    assert groups(messages) == 4
    shape = mask_tokens("Wake reason: RTC (Alarm)")
    assert labelled_values(shape) is shape


def test_positions_drawing_on_one_vocabulary_in_every_combination_are_values() -> None:
    psu = [f"PSU status ( {a} {b} )" for a, b in itertools.product(["on", "off"], repeat=2)]
    assert groups(psu * 2) == 1
    links = [f"link state ( {' '.join(c)} )" for c in itertools.product(["up", "down"], repeat=3)]
    assert groups(links) == 1
    # Three of the four combinations are not enough evidence.
    assert groups(psu[:3]) == 3


def test_constant_alternatives_that_cross_stay_apart() -> None:
    daemons = ["klogd", "syslogd", "crond", "cupsd"]
    messages = [f"{d} {verb} succeeded" for d in daemons for verb in ("startup", "shutdown")]
    assert not together(messages, "startup", "shutdown")
    # State transitions never repeat a state, so their combinations are never complete.
    states = ["NEW", "SCHEDULED", "RUNNING", "SUCCEEDED"]
    transitions = [
        f"attempt_{i}_{a}_{b} TaskAttempt Transitioned from {a} to {b}"
        for i, (a, b) in enumerate(itertools.permutations(states, 2))
    ]
    assert groups(transitions * 2) == len(transitions)


def test_capitalised_words_starting_a_name_before_a_value_are_part_of_it() -> None:
    rng = random.Random(3)
    names = ["Google Chrome He", "Slack Helper", "Microsoft Word", "Safari", "Mail"]
    messages = [
        f"process {name}[{rng.randint(100, 99999)}] caught causing excessive wakeups, rate {rng.randint(150, 900)}"
        for name in names
        for _ in range(2)
    ]
    assert groups(messages) == 1


def test_a_constant_optional_phrase_before_a_value_stays_a_template_of_its_own() -> None:
    rng = random.Random(4)
    users = ["root", "admin", "test", "guest", "oracle", "nagios", "git"]
    messages = [
        f"Failed password for {prefix}{user} from 10.0.{rng.randint(0, 255)}.{rng.randint(1, 254)} "
        f"port {rng.randint(1024, 65535)} ssh2"
        for prefix in ("", "invalid user ", "Invalid User ")
        for user in users
    ]
    assert groups(messages) == 3
    # Lower-case words before a value are not a name: `to server X` and `to proxy X` are other events.
    hosts = [f"db{i}.example.com" for i in range(6)]
    lowered = [f"Connection to {kind}{h} closed" for kind in ("", "server ", "proxy ") for h in hosts]
    assert groups(lowered) == 3
