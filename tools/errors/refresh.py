"""Incremental clustering: assign a signature to every failed task the store has not seen yet.

Each distinct (error, error_type, traceback) text is analysed once, however many tasks share it.
Cost: O(new failed tasks) per run, plus one indexed range read of the overlap window.

Upgrades of the fingerprinting algorithm (`fingerprint.SIGNATURE_ALGORITHM`) keep the stored names: the
first refresh under a new algorithm re-analyses the failed tasks of the `CARRY_OVER_DAYS` before the
previous refresh, which all have a signature (`carry_over`); each name the new algorithm computes for them becomes an alias of
the stored name of most of those tasks (unless it is one of those names itself). From then on a new task
gets the stored name its computed name continues; a computed name never seen at the upgrade falls back to
the one older signature with the same type and template, if exactly one exists. An upgrade may thus
leave two old groups apart that the new algorithm would merge, but it never splits a group or renames it.
"""

from __future__ import annotations

import asyncio
import gc
import re
from collections import Counter
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Any

from ..telemetry.source import TelemetryStore
from ..telemetry.windows import Window, utc_text
from .clusterer import PendingMessage, SignatureClusterer
from .fingerprint import SIGNATURE_ALGORITHM
from .models import ErrorSignature
from .signature_store import FIRST_RUN_LOOKBACK, OVERLAP, SignatureStore
from .signature_writes import Detail, TaskRow

Progress = Callable[[float, float, str], Awaitable[None]]
# Log-style signatures seen within this long seed the template miner on later nights.
SHAPE_MEMORY = timedelta(days=90)
BATCH = 20_000
GC_BOUND = 250_000  # tracked objects allocated (net) while the collector is paused, then a collection
CARRY_OVER_DAYS = 30  # tasks re-analysed when the algorithm changes, to map new names to stored ones
# Digit runs and hex ids with a digit: texts that differ only there mask to the same tokens. A match is a
# run of 6+ hex characters whose first non-letter is a digit, else a run of digits. The leading lookahead
# lets the engine reject most positions at once, and ASCII texts (nearly all) take the ASCII variant (the
# same matches there): together 30% faster than `(?=[0-9a-fA-F]*\d)[0-9a-fA-F]{6,}|\d+`, the same result.
_DIGITS = re.compile(r"(?=[\da-fA-F])(?:(?=[0-9a-fA-F]{6})(?=[a-fA-F]*\d)[0-9a-fA-F]+|\d+)")
_ASCII_DIGITS = re.compile(
    r"(?=[0-9a-fA-F])(?:(?=[0-9a-fA-F]{6})(?=[a-fA-F]*[0-9])[0-9a-fA-F]+|[0-9]+)", re.ASCII
)


def digit_shape(text: str) -> str:
    """`text` with each digit run and each hex id holding a digit replaced by `0`."""
    return (_ASCII_DIGITS if text.isascii() else _DIGITS).sub("0", text)


@dataclass(frozen=True)
class RefreshReport:
    scanned: int
    new_tasks: int
    new_signatures: int


Key = tuple[str, str | None, str | None]
ANALYSIS_CACHE = 50_000  # distinct error texts remembered across batches of one refresh


async def refresh_signatures(
    telemetry: TelemetryStore,
    store: SignatureStore,
    source_root: str | None = None,
    progress: Progress | None = None,
    since: datetime | None = None,
) -> RefreshReport:
    """Cluster failed tasks not yet clustered: those since the last run, and any before `since` that
    no run has covered yet (so a window of any age has its groups)."""
    now = telemetry.now()
    token = await telemetry.source.change_token()
    if token is not None and store.last_refresh is not None:
        last_token, last_covered = store.last_refresh
        if token == last_token and (since is None or since >= last_covered):
            return RefreshReport(scanned=0, new_tasks=0, new_signatures=0)  # nothing changed since
    await asyncio.to_thread(store.forget_coverage_unless, telemetry.identity())
    algorithm = SIGNATURE_ALGORITHM
    if await asyncio.to_thread(store.needs_carry_over, algorithm):
        await carry_over(telemetry, store, algorithm, source_root)
    watermark = await asyncio.to_thread(store.watermark)
    covered = await asyncio.to_thread(store.covered_from)
    end = now + timedelta(seconds=1)
    spans: list[tuple[datetime, datetime, bool]] = []  # (start, end, moves the watermark)
    if watermark is None or covered is None:
        start = now - FIRST_RUN_LOOKBACK if since is None else min(since, now - FIRST_RUN_LOOKBACK)
        spans.append((start, end, True))
    else:
        spans.append((min(watermark - OVERLAP, end), end, True))
        if since is not None and since < covered:
            spans.append((since, covered + OVERLAP, False))
    totals = [0, 0, 0]
    for start, stop, moves in spans:
        scanned, added, new = await _cluster_span(
            telemetry, store, Window(start, stop, start.date(), stop.date()), source_root, progress, algorithm
        )
        totals = [totals[0] + scanned, totals[1] + added, totals[2] + new]
        await asyncio.to_thread(store.mark_covered, start, now if moves else None)
    covered_now = await asyncio.to_thread(store.covered_from)
    if token is not None and covered_now is not None:
        store.last_refresh = (token, covered_now)
    return RefreshReport(scanned=totals[0], new_tasks=totals[1], new_signatures=totals[2])


async def _cluster_span(
    telemetry: TelemetryStore,
    store: SignatureStore,
    window: Window,
    source_root: str | None,
    progress: Progress | None,
    algorithm: int,
) -> tuple[int, int, int]:
    """Cluster one span batch by batch: memory stays bounded by a batch, whatever the span holds.

    A batch's rows are written in a worker thread while the next batch is read (SQLite steps through the
    bulk insert with the GIL released, see `signature_writes`); the analysis of that next batch waits for
    the write, since it is seeded with the stored signatures."""
    analysed: dict[Key, ErrorSignature] = {}  # traceback analyses are stateless: kept across batches
    scanned = added = new = 0
    writing: asyncio.Future[int] | None = None
    with _collector_paused():
        try:
            # A span the store holds nothing of (a first run, an older window) has nothing to skip: the
            # engines then read each page in one statement instead of ids first and texts by id.
            skip = store.known if await asyncio.to_thread(store.holds_any, window) else None
            async for batch in telemetry.source.failed_tasks(window, BATCH, skip=skip):
                if writing is not None:
                    added += await writing
                    writing = None
                if gc.get_count()[0] > GC_BOUND:  # cycles someone made meanwhile: bounded, collected here
                    gc.collect(1)
                scanned += len(batch)
                releases = {t.id: t.release for t in batch if t.release is not None}
                if len(analysed) > ANALYSIS_CACHE:
                    analysed.clear()
                shapes = await asyncio.to_thread(store.log_shapes, telemetry.now() - SHAPE_MEMORY)
                index: dict[Key, int] = {}  # each distinct (error, error_type, traceback) -> its slot
                slots = [
                    index.setdefault((t.error or "", t.error_type, t.traceback), len(index)) for t in batch
                ]
                distinct = list(index)
                found = signatures_for(distinct, shapes, source_root, analysed)
                results = list(found.values()) if list(found) == distinct else [found[k] for k in distinct]
                computed = {
                    sig.signature: (sig.signature, sig.error_type, sig.template) for sig, _ in results
                }
                continued = await asyncio.to_thread(store.continued_names, list(computed.values()), algorithm)
                rows, details = _task_rows(batch, slots, results, continued, releases)
                names = {row[1] for row in rows}
                known = set((await asyncio.to_thread(store.signatures, names)).keys())
                new += len(names - known)
                writing = asyncio.ensure_future(
                    asyncio.to_thread(store.record_rows, rows, details, algorithm)
                )
                if progress:
                    await progress(
                        scanned, scanned + BATCH, f"clustering failures: {scanned} read, {added} new"
                    )
            if writing is not None:
                added += await writing
                writing = None
        finally:
            if writing is not None:  # the read failed or was cancelled: let the write finish, then fail
                await asyncio.wait([writing])
                if not writing.cancelled():
                    writing.exception()
    return scanned, added, new


@contextmanager
def _collector_paused() -> Iterator[None]:
    """The cyclic garbage collector paused while a span is clustered. Each batch allocates hundreds of
    thousands of objects (the source's tasks, keys, rows) that make no reference cycles, and that live
    until the batch is written, so the automatic collections kept scanning them (1.2 s of 9 at 10M rows,
    18 full collections). Objects without cycles are freed as usual; what others make meanwhile is
    collected once the gen-0 count passes GC_BOUND, and everything at the next automatic run after."""
    paused = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if paused:
            gc.enable()


def _task_rows(
    batch: list[Any],
    slots: list[int],
    results: list[tuple[ErrorSignature, str | None]],
    continued: dict[str, str],
    releases: dict[Any, str],
) -> tuple[list[TaskRow], list[Detail]]:
    """The store's rows of a batch's tasks, task i analysed as `results[slots[i]]`: (task_id, name,
    created_at, agent, release, detail index), one detail (title, error_type, template, shape) per
    distinct analysis."""
    details: list[Detail] = []
    named: list[tuple[str, int]] = []
    seen: dict[tuple[int, str | None], tuple[str, int]] = {}
    for sig, shape in results:
        entry = seen.get((id(sig), shape))
        if entry is None:
            entry = seen[(id(sig), shape)] = (continued.get(sig.signature, sig.signature), len(details))
            details.append((sig.title, sig.error_type, sig.template, shape))
        named.append(entry)
    rows: list[TaskRow] = []
    append = rows.append
    release = releases.get
    for task, slot in zip(batch, slots, strict=True):
        name, detail = named[slot]
        c = task.created_at  # utc_text's answer: the stored text when it is already canonical, else
        stamp = task.created_text or (  # %-format, 3x faster than isoformat and 2x an f-string
            "%04d-%02d-%02d %02d:%02d:%02d" % (c.year, c.month, c.day, c.hour, c.minute, c.second)  # noqa: UP031
            if c.tzinfo is UTC
            else utc_text(c)
        )
        append((task.id, name, stamp, task.agent, release(task.id) if releases else None, detail))
    return rows, details


async def carry_over(
    telemetry: TelemetryStore, store: SignatureStore, algorithm: int, source_root: str | None = None
) -> dict[str, str]:
    """Map the names `algorithm` computes to the stored names of older algorithms they continue, from the
    failed tasks of the CARRY_OVER_DAYS before the last refresh that already have one; records the aliases
    and marks the store as up to date with `algorithm`. Returns computed name -> stored name (identities
    left out)."""
    now = telemetry.now()
    last = await asyncio.to_thread(store.watermark) or now
    start = last - timedelta(days=CARRY_OVER_DAYS)
    window = Window(start, last + timedelta(seconds=1), start.date(), last.date())
    votes: dict[str, Counter[str]] = {}
    analysed: dict[Key, ErrorSignature] = {}
    shapes = await asyncio.to_thread(store.log_shapes, now - SHAPE_MEMORY)
    async for batch in telemetry.source.failed_tasks(window, BATCH):
        stored = await asyncio.to_thread(store.assigned, [t.id for t in batch])
        older = [t for t in batch if t.id in stored and stored[t.id][1] < algorithm]
        if not older:
            continue
        if len(analysed) > ANALYSIS_CACHE:
            analysed.clear()
        keys = [(t.error or "", t.error_type, t.traceback) for t in older]
        found = signatures_for(list(dict.fromkeys(keys)), shapes, source_root, analysed)
        for task, key in zip(older, keys, strict=True):
            votes.setdefault(found[key][0].signature, Counter())[stored[task.id][0]] += 1
    aliases = {
        computed: max(sorted(counts), key=lambda name: counts[name])
        for computed, counts in votes.items()
        if computed not in counts  # a computed name that is one of the stored names it covers stays itself
    }
    await asyncio.to_thread(store.finish_carry_over, aliases, algorithm)
    return aliases


def signatures_for(
    keys: list[Key],
    known: list[Any],
    source_root: str | None,
    analysed: dict[Key, ErrorSignature] | None = None,
) -> dict[Key, tuple[ErrorSignature, str | None]]:
    """Signatures of distinct (error, error_type, traceback) keys: tracebacks by `analyze_error`, log-style
    messages by the template miner seeded with the stored log-style templates, so a word that varies
    (`user alice not found`, `user bob not found`, ...) becomes one signature and later nights keep it.

    A message whose mined template also holds a stored signature gets that (oldest) signature; the others
    get the mined template's signature, which equals `analyze_error`'s when nothing generalised. Texts
    that differ only in their digits share one placement (their tokens mask alike), so a batch of
    near-identical failures costs one analysis each shape. Returns key -> (signature, miner shape to
    store for the next night's seeding; None for tracebacks).
    """
    analysed = {} if analysed is None else analysed
    clusterer = SignatureClusterer(source_root=source_root)
    seeds = [clusterer.seed(row["shape"], row["error_type"]) for row in known]
    placed: list[ErrorSignature | PendingMessage] = []
    by_shape: dict[Key, ErrorSignature | PendingMessage] = {}
    ascii_shape, any_shape = _ASCII_DIGITS.sub, _DIGITS.sub  # digit_shape, inlined: called per key
    for key in keys:
        placement: ErrorSignature | PendingMessage | None = analysed.get(key)
        if placement is None:
            message, error_type, traceback = key
            shape_key = (
                (ascii_shape if message.isascii() else any_shape)("0", message),
                error_type,
                (ascii_shape if traceback.isascii() else any_shape)("0", traceback) if traceback else None,
            )
            placement = by_shape.get(shape_key)
            if placement is None:
                placement = clusterer.place(message, traceback, error_type)
                by_shape[shape_key] = placement
                if isinstance(placement, ErrorSignature):
                    analysed[key] = placement
        placed.append(placement)
    clusterer.consolidate()
    owner: dict[int, str] = {}
    for row, seed in zip(known, seeds, strict=True):
        owner.setdefault(id(seed.cluster.root()), row["signature"])
    per_placement: dict[int, tuple[ErrorSignature, str | None]] = {}  # many keys share one placement
    per_cluster: dict[tuple[int, str | None], tuple[ErrorSignature, str | None]] = {}
    for placement in dict(zip(map(id, placed), placed, strict=True)).values():
        if isinstance(placement, ErrorSignature):
            per_placement[id(placement)] = (placement, None)
            continue
        cluster = placement.cluster.root()
        found = per_cluster.get((id(cluster), placement.error_type))
        if found is None:
            sig = clusterer.resolve_all([placement])[0]
            stored = owner.get(id(cluster))
            if stored is not None:
                sig = replace(sig, signature=stored)
            found = per_cluster[(id(cluster), placement.error_type)] = (sig, cluster.text)
        per_placement[id(placement)] = found
    return dict(zip(keys, map(per_placement.__getitem__, map(id, placed)), strict=True))
