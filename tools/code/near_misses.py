""" "Did you mean": the real lines closest to text a model expected, so it can correct itself in one step.

When search text or a hunk's context is not in the file, showing the nearest block with its line
numbers (like aider does) turns a dead end into a precise correction.
"""

from __future__ import annotations

from difflib import SequenceMatcher

MAX_COMPARED_LINES = 60
SHORTLIST = 25
MIN_SIMILARITY = 0.5


def closest_block(file_lines: list[str], wanted: list[str]) -> tuple[int, int, float] | None:
    """(start index, length, similarity 0..1) of the file's window most like `wanted`, ignoring indentation."""
    wanted = wanted[:MAX_COMPARED_LINES]
    if not wanted or not file_lines:
        return None
    size = min(len(wanted), len(file_lines))
    target = "\n".join(line.strip() for line in wanted)
    stripped = [line.strip() for line in file_lines]
    matcher = SequenceMatcher(None, autojunk=False)
    matcher.set_seq2(target)
    scored: list[tuple[float, int]] = []
    for start in range(len(file_lines) - size + 1):
        matcher.set_seq1("\n".join(stripped[start : start + size]))
        scored.append((matcher.quick_ratio(), start))
    scored.sort(key=lambda pair: (-pair[0], pair[1]))
    best: tuple[float, int] = (-1.0, 0)
    for quick, start in scored[:SHORTLIST]:
        if quick <= best[0]:
            break
        matcher.set_seq1("\n".join(stripped[start : start + size]))
        ratio = matcher.ratio()
        if ratio > best[0]:
            best = (ratio, start)
    return best[1], size, best[0]


def did_you_mean(file_lines: list[str], wanted: list[str], path: str) -> str:
    """A sentence showing the closest real lines of `path` with numbers, or advice to read the file."""
    found = closest_block(file_lines, wanted)
    if found is None or found[2] < MIN_SIMILARITY:
        return f"Nothing in {path!r} looks similar: read_source the file and copy the lines exactly."
    start, size, similarity = found
    shown = file_lines[start : start + size]
    block = "\n".join(f"{start + offset + 1:>6}\t{line}" for offset, line in enumerate(shown))
    same_but_spacing = [line.strip() for line in shown] == [line.strip() for line in wanted[:size]]
    note = (
        " They differ only in whitespace (indentation or trailing spaces): copy them exactly."
        if same_but_spacing
        else ""
    )
    where = f"line {start + 1}" if size == 1 else f"lines {start + 1}-{start + size}"
    return f"Closest real lines in {path!r} ({similarity:.0%} similar), {where}:\n{block}\n{note}".rstrip()
