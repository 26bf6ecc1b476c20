"""Short SQLite reads on the event loop's own thread.

A page of tasks is ~70 us of SQL; handing it to a worker thread and back costs ~40 us more, more than
half again. A read that is usually short runs inline instead, under SQLite's progress handler: once it
has run for `SHORT_SECONDS` the handler interrupts it, and the caller runs it again in the worker thread.
So an inline read holds the loop for a millisecond at most, and a read that turned out long (a filter
no index serves) pays that millisecond once: its shape goes to the worker thread from then on. SQLite's
busy handler sleeps without calling the progress handler, so the busy timeout must be off while a read runs
inline (the reader keeps it off between reads): a read that meets a writer's lock goes to the worker
thread, which waits for it.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")
SHORT_SECONDS = 0.001
CHECK_EVERY = 1000  # SQLite VM instructions between two looks at the clock (~0.2 us a look)


class Overran(Exception):
    """The read was stopped (it ran past its inline budget, or met a lock when `busy`); run it in the
    worker thread."""

    def __init__(self, busy: bool = False):
        super().__init__("locked by a writer" if busy else "ran past its inline budget")
        self.busy = busy


def within_budget(conn: sqlite3.Connection, read: Callable[[], T], seconds: float = SHORT_SECONDS) -> T:
    """`read()` on `conn` (whose busy timeout is 0), stopped by `Overran` once it has run `seconds` or
    when the database is locked."""
    deadline = time.perf_counter() + seconds
    over = False

    def past_deadline() -> bool:
        nonlocal over
        over = time.perf_counter() > deadline
        return over

    conn.set_progress_handler(past_deadline, CHECK_EVERY)
    try:
        return read()
    except sqlite3.OperationalError as exc:
        if over:
            raise Overran() from exc
        if "locked" in str(exc) or "busy" in str(exc):
            raise Overran(busy=True) from exc
        raise
    finally:
        conn.set_progress_handler(None, 0)
