"""Search/replace edits: the simplest way for a model to change a few lines without writing a diff.

Each search text must occur exactly once, so an edit can never land in the wrong place; when it
does not, the error shows the nearest real lines or every place it occurs.
"""

from __future__ import annotations

from ..support.problems import ToolInputError
from .near_misses import did_you_mean
from .tolerant_apply import split_lines


def apply_edit(content: str, search: str, replace: str, path: str, number: int) -> str:
    """`content` with the single occurrence of `search` replaced; `number` names the edit in errors."""
    label = f"edit {number} ({path!r})"
    if search == replace:
        raise ToolInputError(f"{label}: search and replace are identical, so it changes nothing")
    starts = occurrences(content, search)
    if not starts and "\r\n" in content and "\r" not in search and "\n" in search:
        crlf_search = search.replace("\n", "\r\n")
        if occurrences(content, crlf_search):
            search, replace = crlf_search, replace.replace("\r\n", "\n").replace("\n", "\r\n")
            starts = occurrences(content, search)
    if len(starts) == 1:
        return content[: starts[0]] + replace + content[starts[0] + len(search) :]
    if starts:
        numbers = [content.count("\n", 0, start) + 1 for start in starts]
        shown = ", ".join(str(n) for n in numbers[:10])
        raise ToolInputError(
            f"{label}: the search text occurs {len(starts)} times, starting at lines {shown}; include more "
            "surrounding lines in search (and replace) so it occurs exactly once"
        )
    file_lines = [line.rstrip("\r\n") for line in split_lines(content)]
    hint = did_you_mean(file_lines, search.strip("\n").split("\n"), path)
    raise ToolInputError(f"{label}: the search text occurs nowhere in the file. {hint}")


def occurrences(content: str, search: str) -> list[int]:
    """Start offsets of every occurrence, overlapping ones included ('aa' occurs twice in 'aaa')."""
    found: list[int] = []
    start = content.find(search)
    while start != -1:
        found.append(start)
        start = content.find(search, start + 1)
    return found
