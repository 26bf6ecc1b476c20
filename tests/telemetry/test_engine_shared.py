"""What both engines share (engine.py, table_checks.py): reading stored times, the learned-table messages."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from self_improver.tools.support.clock import utc_text
from self_improver.tools.support.problems import UnavailableError
from self_improver.tools.telemetry.engine import (
    decode_time,
    duration_expression,
    failed_tasks_from,
    shown_times,
)
from self_improver.tools.telemetry.mapping import TelemetryMapping
from self_improver.tools.telemetry.table_checks import check_required, no_table, scan_times
from self_improver.tools.telemetry.timestamps import TimeEncoding, decode_any

STORED = [
    "2026-02-15 12:00:00",
    "2026-02-15T12:00:00Z",
    "2026-02-15T12:00:00+05:30",
    "2026-02-15 12:00:00.123456",
    " 2026-02-15 12:00:00 ",
    "2026-02-15",
    "2026-02-15 12:00:00+0530",
    "2026-02-15 12:00:00 UTC",
    "2026-02-15 12:00:00,5",
    "2026-13-45 99:99:99",
    "garbage-text",
    "-5",
    "1700000000",
    "1700000000000",
    "",
    1700000000,
    1700000000000,
    1.7e9,
    Decimal("1700000000.5"),
    None,
    True,
    datetime(2026, 1, 1),
    datetime(2026, 1, 1, tzinfo=timezone(timedelta(hours=2))),
    date(2026, 1, 1),
]
KINDS = ("iso", "iso_mixed", "mixed", "epoch_s", "epoch_ms", "native", "native_naive", "unknown")


@pytest.mark.parametrize("kind", KINDS)
def test_decode_time_reads_every_value_as_the_decoders_do(kind: str) -> None:
    encoding = TimeEncoding(kind)  # type: ignore[arg-type]
    for value in STORED:
        assert decode_time(encoding, value) == (encoding.decode(value) or decode_any(value)), value


def test_failed_rows_whose_time_does_not_read_are_left_out() -> None:
    rows = [
        (1, "2026-02-15 12:00:00", "boom", None, None, 7, "v1.4.2"),
        (2, "not a time", "x", None, None, None, None),
        (3, "2026-02-15 13:00:00", "bang", None, None, None, "  "),
    ]
    found = failed_tasks_from(rows, TimeEncoding("iso"), ident=str)
    assert [(t.id, t.created_at, t.error, t.agent, t.release) for t in found] == [
        ("1", datetime(2026, 2, 15, 12, tzinfo=UTC), "boom", "7", "v1.4.2"),
        ("3", datetime(2026, 2, 15, 13, tzinfo=UTC), "bang", None, None),  # a blank release is none
    ]


def test_durations_come_from_the_column_else_the_times() -> None:
    both = duration_expression("m", "d", lambda m, d: f"COALESCE({m}, {d})")
    assert both == ("COALESCE(m, d)", "duration_ms, else started_at/finished_at")
    assert duration_expression("m", None, max) == ("m", "duration_ms")
    assert duration_expression(None, "d", max) == ("d", "started_at/finished_at")
    assert duration_expression(None, None, max) is None


def test_both_engines_refuse_a_table_in_the_same_words() -> None:
    mapping = TelemetryMapping.model_validate({"columns": {"error": "message"}})
    assert "tasks.db has no table 'tasks' (tables: a, b)" in str(no_table("tasks.db", "tasks", ["a", "b"]))
    with pytest.raises(UnavailableError, match=r"lacks required column\(s\) error \(mapped to 'message'\)"):
        check_required(mapping, "tasks.db", {"id", "status", "created_at"})
    check_required(mapping, "tasks.db", {"id", "status", "created_at", "message"})


def test_a_full_time_scan_counts_what_does_not_read() -> None:
    values = ["2026-02-15 12:00:00", "nope", "2026-02-14 00:00:00", "2026-02-16 00:00:00"]
    unreadable, example, first, last = scan_times(values, decode_any)
    assert (unreadable, example) == (1, "nope")
    assert (first, last) == (datetime(2026, 2, 14, tzinfo=UTC), datetime(2026, 2, 16, tzinfo=UTC))


CANONICAL_LOOKALIKES = [
    "2026-02-15 12:00:00",
    "2026-02-15 23:59:59",
    "2026-02-15T12:00:00",
    "2026-02-15 24:00:00",
    "2026-02-15 12:00:60",
    "2026-02-30 12:00:00",
    "2026-W07-7 12:00:00",
    "2026-02-15 12:00:0 ",
    " 2026-02-15 12:00:0",
    "2026-02-15 12:00:٠٠",
    "2026-02-15 12:00:00Z",
    "2026-02-15 12:00",
]


@pytest.mark.parametrize("kind", KINDS)
def test_failed_tasks_read_every_value_as_decode_time_does(kind: str) -> None:
    """The fast path of `failed_tasks_from` (canonical text, named tuples) gives the tasks the per-value
    decoders give, and `created_text` only where it is `utc_text` of the instant."""
    from self_improver.tools.telemetry.windows import utc_text

    encoding = TimeEncoding(kind)  # type: ignore[arg-type]
    values = STORED + CANONICAL_LOOKALIKES
    rows = [(i, v, "boom", 7, None, b"agent", None) for i, v in enumerate(values)]
    found = {t.id: t for t in failed_tasks_from(rows, encoding)}
    for i, value in enumerate(values):
        expected = decode_time(encoding, value)
        if expected is None:
            assert i not in found, value
            continue
        task = found[i]
        assert task.created_at == expected and task.created_at.tzinfo == expected.tzinfo, value
        assert (task.error, task.error_type, task.traceback, task.agent) == ("boom", "7", None, "b'agent'")
        if task.created_text is not None:
            assert task.created_text == value == utc_text(expected) and task.created_at.tzinfo is UTC
    assert found[0].created_text == "2026-02-15 12:00:00"


def test_canonical_time_is_only_our_canonical_text() -> None:
    from self_improver.tools.telemetry.engine import canonical_time

    assert canonical_time("2026-02-15 12:00:00") == datetime(2026, 2, 15, 12, tzinfo=UTC)
    assert canonical_time("2026-02-15 12:00:00").tzinfo is UTC  # type: ignore[union-attr]
    for value in CANONICAL_LOOKALIKES[2:] + [None, 1700000000, datetime(2026, 1, 1)]:
        assert canonical_time(value) is None, value


@given(
    st.sampled_from(["epoch_s", "epoch_ms", "iso"]),
    st.lists(
        st.one_of(
            st.integers(min_value=-5, max_value=10**15),
            st.floats(allow_nan=True),
            st.sampled_from(STORED),
            st.none(),
        ),
        max_size=30,
    ),
)
@settings(max_examples=300, deadline=None)
def test_a_page_shows_each_time_as_decoding_it_would(kind: str, values: list[object]) -> None:
    """Pages show epoch times from day, minute and second tables, without a datetime each: the same text
    as decoding, at the edges of the range too."""
    encoding = TimeEncoding(kind)  # type: ignore[arg-type]
    values = [*values, 0, 86_399, 86_400, 253_402_300_799, 253_402_300_800, 10**14 - 1, 10**14, -1]
    expected = []
    for value in values:
        moment = decode_time(encoding, value)
        expected.append(str(value) if moment is None else utc_text(moment))
    assert shown_times(encoding, values) == expected
