"""Signatures: stable across values, line shifts and deploy paths; different for different causes."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from types import ModuleType

import pytest
from self_improver.tools.errors import analyze_error, cluster_messages

APP = """\
import json


class ConfigError(Exception):
    pass


def lookup_user(users, key):
    return users[key]


def lookup_order(orders, key):
    return orders[key]


def render(obj):
    return obj._email_context_until


def parse(text):
    return json.loads(text)


def load_config(settings, key):
    try:
        return settings[key]
    except KeyError as exc:
        raise ConfigError(f"missing setting {key}") from exc
"""

Load = Callable[..., ModuleType]
Capture = Callable[..., str]


def _variants(tmp_path: Path, load_module: Load, count: int = 4) -> list[tuple[Path, ModuleType]]:
    """The same application deployed to other directories with every line number shifted."""
    out = []
    for index in range(count):
        root = tmp_path / f"release-{index}"
        out.append((root, load_module("app/handlers.py", APP, shift=index * 3, root=root)))
    return out


CAUSES: dict[str, Callable[[ModuleType, int], object]] = {
    "keyerror_user": lambda app, i: app.lookup_user({}, ["user_id", f"u-{i}9999", i * 1000][i % 3]),
    "keyerror_order": lambda app, i: app.lookup_order({}, f"order-{i}"),
    "attribute": lambda app, i: app.render(object()),
    "json": lambda app, i: app.parse(["{bad", "", "[1,", '{"a": }'][i % 4]),
    "chained": lambda app, i: app.load_config({}, f"key_{i}"),
}


def test_same_cause_same_signature_different_causes_differ(
    tmp_path: Path, load_module: Load, capture: Capture
) -> None:
    by_cause: dict[str, set[str]] = {}
    by_cause_without_root: dict[str, set[str]] = {}
    for index, (root, app) in enumerate(_variants(tmp_path, load_module)):
        for cause, call in CAUSES.items():
            text = capture(call, app, index)
            by_cause.setdefault(cause, set()).add(analyze_error("", text, source_root=str(root)).signature)
            by_cause_without_root.setdefault(cause, set()).add(analyze_error("", text).signature)
    for signatures in (by_cause, by_cause_without_root):
        assert all(len(s) == 1 for s in signatures.values()), signatures
        assert len(set.union(*signatures.values())) == len(CAUSES)


def test_signature_is_twelve_hex_chars_and_has_the_frames(
    tmp_path: Path, load_module: Load, capture: Capture
) -> None:
    root, app = _variants(tmp_path, load_module, 1)[0]
    signature = analyze_error("", capture(app.render, object()), source_root=str(root))
    assert re.fullmatch(r"[0-9a-f]{12}", signature.signature)
    assert signature.title == "AttributeError: '_email_context_until'"
    assert signature.error_type == "AttributeError"
    assert [(f.module, f.function) for f in signature.in_app_frames] == [("app.handlers", "render")]
    assert signature.frames[-1].line == 17 and "line" not in signature.fingerprint


def test_chain_is_part_of_the_identity(tmp_path: Path, load_module: Load, capture: Capture) -> None:
    root, app = _variants(tmp_path, load_module, 1)[0]
    signature = analyze_error("", capture(app.load_config, {}, "db_url"), source_root=str(root))
    assert signature.chain[0] == "KeyError" and signature.chain[-1].endswith("ConfigError")
    assert signature.title == "ConfigError: missing setting db_url"
    plain_key_error = analyze_error("", capture(app.lookup_user, {}, "db_url"), source_root=str(root))
    assert plain_key_error.signature != signature.signature


def test_signature_does_not_depend_on_other_messages(
    tmp_path: Path, load_module: Load, capture: Capture
) -> None:
    _, app = _variants(tmp_path, load_module, 1)[0]
    text = capture(app.render, object())
    alone = cluster_messages([text])[0]
    crowd = [f"worker {i} stopped" for i in range(50)] + [capture(app.parse, "{")] + [text]
    assert cluster_messages(crowd)[-1] == alone == cluster_messages(list(reversed(crowd)))[0]
    assert alone == analyze_error("", text).signature


def test_separate_and_embedded_traceback_give_the_same_signature(
    tmp_path: Path, load_module: Load, capture: Capture
) -> None:
    _, app = _variants(tmp_path, load_module, 1)[0]
    text = capture(app.lookup_order, {}, "order-7")
    separate = analyze_error("KeyError: 'order-7'", text)
    embedded = analyze_error(f"2026-02-15 10:00:01 ERROR api: {text}")
    assert separate.signature == embedded.signature
    assert separate.kind == "traceback"


@pytest.mark.parametrize(
    ("message", "error_type", "title"),
    [
        ("TimeoutError: IMAP timeout", None, "TimeoutError: IMAP timeout"),
        ("IMAP timeout", "TimeoutError", "TimeoutError: IMAP timeout"),
        ("2026-02-15 10:00:01 ERROR worker: TimeoutError: IMAP timeout", None, "TimeoutError: IMAP timeout"),
        (
            "AttributeError: 'Foo' object has no attribute '_email_context_until'",
            None,
            "AttributeError: '_email_context_until'",
        ),
        ("AttributeError: module 'json' has no attribute 'loadz'", None, "AttributeError: 'loadz'"),
        ("KeyError: 'user_id'", None, "KeyError: 'user_id'"),
        ("", "TimeoutError", "TimeoutError"),
        ("", None, "(empty message)"),
    ],
)
def test_titles(message: str, error_type: str | None, title: str) -> None:
    assert analyze_error(message, error_type=error_type).title == title


def test_message_only_errors_group_by_type_and_template() -> None:
    a = analyze_error("TimeoutError: IMAP timeout after 30s")
    b = analyze_error("IMAP timeout after 45s", error_type="TimeoutError")
    c = analyze_error("IMAP timeout after 45s", error_type="ConnectionError")
    d = analyze_error("TimeoutError: SMTP timeout after 30s")
    assert a.signature == b.signature
    assert len({a.signature, c.signature, d.signature}) == 3
    assert a.kind == "message" and a.chain == ("TimeoutError",)


def test_line_numbers_in_an_embedded_traceback_do_not_matter() -> None:
    template = (
        'Traceback (most recent call last):\n  File "/srv/app/a.py", line {n}, in f\nValueError: bad {n}'
    )
    assert analyze_error(template.format(n=3)).signature == analyze_error(template.format(n=300)).signature
