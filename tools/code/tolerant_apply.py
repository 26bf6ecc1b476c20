"""Apply hunks by what they say, not where they say it: the fallback when `git apply` refuses a diff.

A hunk's unchanged and removed lines are searched in the original file, ignoring whitespace at line
ends and the header's line numbers and counts. A hunk applies only where that block occurs exactly
once; no match or several matches refuse the whole diff, so a misplaced change is never written.
"""

from __future__ import annotations

from ..support.problems import ToolInputError
from .near_misses import did_you_mean
from .unified_diff import FilePatch, Hunk


def split_lines(text: str) -> list[str]:
    """Lines with their '\\n' endings; only '\\n' ends a line (str.splitlines also splits on \\f, \\x1c...)."""
    parts = text.split("\n")
    lines = [part + "\n" for part in parts[:-1]]
    if parts[-1]:
        lines.append(parts[-1])
    return lines


def _key(line: str) -> str:
    return line.rstrip()


def new_file_text(patch: FilePatch) -> str:
    """The content of a file the patch creates: every hunk may only add lines."""
    out: list[str] = []
    for hunk in patch.hunks:
        if hunk.old_lines:
            raise ToolInputError(
                f"{patch.path!r} is created by the diff (--- /dev/null) but hunk {hunk.number} has unchanged or "
                "removed lines; a new file's hunk holds only '+' lines"
            )
        out += [line.text + ("" if line.no_newline else "\n") for line in hunk.lines]
    return _join(out)


def apply_hunks(original: str, hunks: list[Hunk], path: str) -> str:
    """`original` with every hunk applied where its old block occurs exactly once."""
    lines = split_lines(original)
    keys = [_key(line) for line in lines]
    placed: list[tuple[int, Hunk]] = []
    for hunk in hunks:
        placed.append((_locate(lines, keys, hunk, path), hunk))
    placed.sort(key=lambda item: item[0])
    for (start, hunk), (next_start, next_hunk) in zip(placed, placed[1:], strict=False):
        if start + len(hunk.old_lines) > next_start:
            raise ToolInputError(
                f"hunks {hunk.number} and {next_hunk.number} of {path!r} overlap (lines {start + 1} and "
                f"{next_start + 1}): merge them into one hunk"
            )
    out: list[str] = []
    cursor = 0
    for start, hunk in placed:
        out += lines[cursor:start]
        position = start
        for line in hunk.lines:
            if line.op == " ":
                out.append(lines[position])
                position += 1
            elif line.op == "-":
                position += 1
            else:
                out.append(line.text + ("" if line.no_newline else "\n"))
        cursor = position
    out += lines[cursor:]
    return _join(out)


def _join(lines: list[str]) -> str:
    """Concatenate, giving a line ending to any line that lost it but is no longer the last one."""
    fixed = [line if line.endswith("\n") else line + "\n" for line in lines[:-1]]
    return "".join(fixed + lines[-1:])


def _locate(lines: list[str], keys: list[str], hunk: Hunk, path: str) -> int:
    """Index of the single place the hunk's old block occurs, or a ToolInputError saying why not."""
    wanted = [_key(line.text) for line in hunk.old_lines]
    label = f"hunk {hunk.number} of {path!r} ({hunk.header.strip()[:60]})"
    if not wanted:
        if not lines:
            return 0
        raise ToolInputError(
            f"{label} only adds lines and has no unchanged lines, so where it goes is unknown: include 2-3 "
            "unchanged lines before and after the change"
        )
    starts = find_block(keys, wanted)
    if len(starts) == 1:
        return starts[0]
    if len(starts) > 1:
        shown = ", ".join(str(s + 1) for s in starts[:10])
        raise ToolInputError(
            f"{label}: its unchanged and removed lines occur {len(starts)} times in the file (at lines {shown}), "
            "so its place is ambiguous: include more unchanged lines around the change so they occur once"
        )
    result_lines = [_key(line.text) for line in hunk.new_lines]
    if result_lines and len(find_block(keys, result_lines)) == 1 and result_lines != wanted:
        raise ToolInputError(
            f"{label} seems already applied: the file already holds its result. Drop this hunk, or read_source "
            "the file to see its current state"
        )
    hint = did_you_mean([line.rstrip("\n") for line in lines], [line.text for line in hunk.old_lines], path)
    raise ToolInputError(
        f"{label}: its unchanged and removed lines occur nowhere in the file. {hint}\nFix those lines to "
        "match the file exactly (only whitespace at line ends may differ), or use edits instead."
    )


def find_block(keys: list[str], wanted: list[str]) -> list[int]:
    """Every index where `wanted` occurs in `keys` as consecutive lines (overlapping occurrences count)."""
    first, size = wanted[0], len(wanted)
    return [
        start
        for start in range(len(keys) - size + 1)
        if keys[start] == first and keys[start : start + size] == wanted
    ]
