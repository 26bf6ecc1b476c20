"""What the template miner treats as a value, and what stays a constant, on log styles of any system."""

from __future__ import annotations

import random

from self_improver.tools.errors import SignatureClusterer, cluster_messages, mask_tokens


def one_group(messages: list[str]) -> bool:
    return len(set(cluster_messages(messages))) == 1


def test_free_text_a_model_put_in_a_quoted_argument_is_a_value() -> None:
    messages = [
        "ToolInputError: tool 'search_flights' rejected arguments: field 'date' expected YYYY-MM-DD, "
        f"got '{value}'"
        for value in ["tomorrow", "next friday", "12/05"]
    ]
    assert one_group(messages)
    # In any order, and however the batch starts.
    assert one_group(list(reversed(messages)))
    assert one_group([messages[0], messages[0], messages[2]])


def test_quoted_words_are_values_only_where_other_messages_had_values() -> None:
    fields = [
        f"ToolInputError: tool 'book' rejected arguments: field '{f}' is required" for f in ("date", "city")
    ]
    assert len(set(cluster_messages(fields))) == 2  # two different missing fields, two errors


def test_quoted_multi_word_values_group_together() -> None:
    messages = [
        f"ValueError: cannot parse '{text}' as a date"
        for text in ["next friday", "the day after tomorrow", "in two weeks", "soon-ish please", "asap"]
    ]
    assert one_group(messages)


def test_numbers_with_units_are_values() -> None:
    messages = [
        f"upload of report finished in {d}, wrote {s}"
        for d, s in [
            ("10ms", "5MB"),
            ("3.2s", "5 MB"),
            ("15 ms", "12KB"),
            ("2 sec", "1.5 GB"),
            ("1.5 seconds", "7B"),
        ]
    ]
    assert one_group(messages)


def test_key_value_pairs_group_even_with_empty_values() -> None:
    messages = [
        "authentication failure; logname= uid=0 euid=0 tty=ssh ruser= rhost=10.0.0.1",
        "authentication failure; logname=bob uid=500 euid=500 tty=pts/1 ruser=alice rhost=db.example.com",
        "authentication failure; logname= uid=0 euid=0 tty=NODEVssh ruser= rhost=host-7.example.de",
    ]
    assert one_group(messages)


def test_paths_and_host_names_are_values() -> None:
    paths = [
        f"cannot open {p}: permission denied"
        for p in ["/etc/app/a.conf", "/var/lib/x/y/z", "C:\\Temp\\a.txt"]
    ]
    assert one_group(paths)
    hosts = [
        f"chrome.exe - {host} open through proxy proxy.example.edu.hk:5070 HTTPS"
        for host in ["www.google.com:443", "mail.qq.cn:80", "api.example.co.uk", "cdn-1.example.de:443"]
    ]
    assert one_group(hosts)
    empty = [
        "connection from 10.1.2.3 () at Sun Jul 24 02:38:22 2005",
        "connection from 10.1.2.4 (p5089c5e3.dip.t-dialin.net) at Mon Jul 25 12:00:01 2005",
    ]
    assert one_group(empty)


def test_messages_differing_only_in_a_constant_word_stay_apart() -> None:
    rng = random.Random(3)
    users = ["alice", "bob", "carol", "dave", "erin", "frank", "grace"]
    view = [f"Changing view acls to: {rng.choice(users)}" for _ in range(50)]
    modify = [f"Changing modify acls to: {rng.choice(users)}" for _ in range(50)]
    signatures = cluster_messages(view + modify)
    assert len(set(signatures[:50])) == 1 and len(set(signatures[50:])) == 1
    assert signatures[0] != signatures[50]
    proxy = [
        f"app.exe - h{i}.example.com:443 open through proxy p.example.hk:5070 {kind}"
        for i in range(20)
        for kind in ("HTTPS", "SOCKS5")
    ]
    assert len(set(cluster_messages(proxy))) == 2
    # A code symbol with digits in its name is a word, not a value.
    symbols = [
        f"ARPT: {n}.{n}: AirPort_Brcm43xx::{m}: WWEN[enable]"
        for n in range(10)
        for m in ("syncPowerState", "platformWoWEnable")
    ]
    assert len(set(cluster_messages(symbols))) == 2


def test_values_spanning_several_words_group_across_token_counts() -> None:
    rng = random.Random(5)

    def word() -> str:
        return "".join(rng.choice("abcdefghijklmnop") for _ in range(rng.randint(3, 8)))

    messages = [
        f"Unable to find the display because {' '.join(word() for _ in range(rng.randint(1, 3)))}"
        for _ in range(60)
    ]
    assert one_group(messages)


def test_mask_tokens_units_and_empty_values() -> None:
    assert mask_tokens("took 15 ms to send 2 sec later") == ("took", "<*>", "to", "send", "<*>", "later")
    assert mask_tokens("logname= uid=0") == ("logname=<*>", "uid=<*>")
    assert mask_tokens("from 1.2.3.4 () at") == ("from", "<*>", "at")
    assert mask_tokens("to mail.example.hk:25 now") == ("to", "<*>", "now")


def test_a_template_learnt_one_night_keeps_its_signature_the_next() -> None:
    rng = random.Random(9)
    names = ["".join(rng.choice("abcdefgh") for _ in range(6)) for _ in range(30)]
    first = SignatureClusterer()
    # Two values in each message, never one held fixed: learnt from the whole batch at once.
    placed = [
        first.place(f"Failed to get the profile for {rng.choice(names)} {rng.choice(names)} in Mail")
        for _ in range(40)
    ]
    first.consolidate()
    signatures = {s.signature for s in first.resolve_all(placed)}
    assert len(signatures) == 1
    second = SignatureClusterer()
    seed = second.seed(placed[0].cluster.root().text)
    later = second.place("Failed to get the profile for Ada Lovelace in Mail")
    second.consolidate()
    assert later.cluster.root() is seed.cluster.root()
    assert {second.resolve_all([later])[0].signature} == signatures
