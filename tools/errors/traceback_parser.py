"""Parse Python traceback text into exception records.

Handles the shapes Python prints: plain tracebacks, chains (`The above exception was the direct cause...`,
`During handling of the above exception...`), 3.11 ExceptionGroups (the `+-+---- 1 ----` / `|` margin
format, nested), SyntaxError locations, `[Previous line repeated N more times]`, 3.11 caret lines, a
traceback embedded in a log line (`2026-02-15 10:00:01 ERROR worker: Traceback (most recent call last):`)
and truncated text (frames without the final exception line). Never raises on malformed input.

Linear in the text length; the text is capped to its last `MAX_TRACEBACK_CHARS` characters because the
end of a traceback (the raised exception, the innermost frames) is the part that identifies it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from .exception_names import is_exception_name
from .frames import is_in_app, module_name, normalise_root
from .models import ExceptionRecord, Frame

MAX_TRACEBACK_CHARS = 256 * 1024
MAX_MESSAGE_LINES = 20

_HEADER = "Traceback (most recent call last):"
_GROUP_HEADER = "Exception Group Traceback (most recent call last):"
_CHAIN_MARKERS = (
    "During handling of the above exception, another exception occurred:",
    "The above exception was the direct cause of the following exception:",
)
_FRAME_RE = re.compile(r'[ \t]*File "(?P<file>[^"]*)", line (?P<line>\d+)(?:, in (?P<func>.+?))?\s*$')
# For searching a whole text: no leading whitespace loop, so the search stays linear.
_FRAME_SEARCH_RE = re.compile(r'File "[^"\n]*", line \d+')
_CARET_RE = re.compile(r"\s*[\^~+\-]+\s*$")
_EXCEPTION_LINE_RE = re.compile(r"(?P<type>[A-Za-z_][\w.]*)(?::(?: (?P<msg>.*))?)?\s*$")
_GROUP_LINE_RE = re.compile(r"(?P<indent> *)(?P<bar>[+|])(?P<rest>.*)$")
_GROUP_OPEN_RE = re.compile(r"-\+-+ (?:\d+|\.\.\.) -+$")
_GROUP_NEXT_RE = re.compile(r"-+ (?:\d+|\.\.\.) -+$")
_GROUP_CLOSE_RE = re.compile(r"-+$")


@dataclass
class _Members:
    """Placeholder in a block's lines where an ExceptionGroup's member blocks were printed."""

    blocks: list[list[str | _Members]] = field(default_factory=list)


_Block = list[str | _Members]
# Open blocks by margin column: (column, lines of the block, the member list it belongs to).
_Stack = list[tuple[int, _Block, _Members | None]]


def has_traceback(text: str) -> bool:
    if "Traceback (most recent call last)" in text:
        return True
    return 'File "' in text and _FRAME_SEARCH_RE.search(text) is not None


def find_traceback_start(text: str) -> int:
    """Index of the line start where an embedded traceback begins, or -1."""
    index = text.find("Traceback (most recent call last)")
    if index < 0:
        match = _FRAME_SEARCH_RE.search(text)
        if match is None:
            return -1
        index = match.start()
    line_start = text.rfind("\n", 0, index) + 1
    return line_start


def parse_traceback(text: str, source_root: str | None = None) -> tuple[ExceptionRecord, ...]:
    """The exception chain printed in `text`, cause first; empty when there is no traceback in it."""
    if len(text) > MAX_TRACEBACK_CHARS:
        text = text[-MAX_TRACEBACK_CHARS:]
        text = text[text.find("\n") + 1 :]
    start = find_traceback_start(text)
    if start < 0:
        return ()
    lines = _strip_log_prefix(text[start:].splitlines())
    if any(_GROUP_HEADER in line for line in lines):
        block: _Block = _ungroup(lines)
    else:
        block = list(lines)
    return _Parser(normalise_root(source_root)).parse(block)


def _strip_log_prefix(lines: list[str]) -> list[str]:
    """Remove a log prefix (`2026-02-15 ... ERROR worker: `) before the header, and from every line
    that repeats it exactly (some log shippers prefix each line of a multi-line record)."""
    if not lines:
        return lines
    first = lines[0]
    for marker in ("+ " + _GROUP_HEADER, _GROUP_HEADER, _HEADER):
        index = first.find(marker)
        if index >= 0:
            break
    else:
        return lines
    prefix = first[:index]
    if not prefix.strip():
        return lines
    if marker.startswith("+"):
        indent_len = len(prefix) - len(prefix.rstrip(" "))
        prefix = prefix[: len(prefix) - indent_len]
    out = [first[len(prefix) :]]
    repeated = sum(1 for line in lines[1:] if line.startswith(prefix)) > len(lines[1:]) // 2
    for line in lines[1:]:
        out.append(line[len(prefix) :] if repeated and line.startswith(prefix) else line)
    return out


def _ungroup(lines: list[str]) -> _Block:
    """Turn the margin format of ExceptionGroups into nested blocks of plain traceback lines."""
    root: _Block = []
    stack: _Stack = []
    for line in lines:
        match = _GROUP_LINE_RE.match(line)
        if match is None or (not stack and _GROUP_HEADER not in line):
            root.append(line)
            continue
        column, bar, rest = len(match.group("indent")), match.group("bar"), match.group("rest")
        if bar == "|":
            target = _block_at(stack, column)
            content = rest[1:] if rest.startswith(" ") else rest
            (target if target is not None else root).append(content)
        elif rest.startswith(" ") and _GROUP_HEADER in rest:
            if _block_at(stack, column) is None:
                stack.append((column, root, None))
            _block_at_or_root(stack, column, root).append(rest.strip())
        elif _GROUP_OPEN_RE.match(rest):
            while stack and stack[-1][0] > column:
                stack.pop()
            members = _Members()
            _block_at_or_root(stack, column, root).append(members)
            block: _Block = []
            members.blocks.append(block)
            stack.append((column + 2, block, members))
        elif _GROUP_NEXT_RE.match(rest):
            while stack and stack[-1][0] > column:
                stack.pop()
            if stack and stack[-1][0] == column and stack[-1][2] is not None:
                owner = stack[-1][2]
                block = []
                owner.blocks.append(block)
                stack[-1] = (column, block, owner)
        elif _GROUP_CLOSE_RE.match(rest):
            while stack and stack[-1][0] >= column and stack[-1][2] is not None:
                stack.pop()
        else:
            root.append(line)
    return root


def _block_at(stack: _Stack, column: int) -> _Block | None:
    for col, block, _ in reversed(stack):
        if col == column:
            return block
    return None


def _block_at_or_root(stack: _Stack, column: int, root: _Block) -> _Block:
    block = _block_at(stack, column)
    return block if block is not None else root


class _Parser:
    def __init__(self, root: str | None) -> None:
        self.root = root

    def parse(self, block: _Block) -> tuple[ExceptionRecord, ...]:
        records: list[ExceptionRecord] = []
        frames: list[Frame] = []
        expect_exception = True
        index = 0
        while index < len(block):
            item = block[index]
            index += 1
            if isinstance(item, _Members):
                if records:
                    last = records[-1]
                    members = tuple(chain for chain in (self.parse(b) for b in item.blocks) if chain)
                    records[-1] = ExceptionRecord(
                        last.type, last.message, last.frames, last.members + members
                    )
                continue
            stripped = item.strip()
            if not stripped:
                continue
            if stripped in _CHAIN_MARKERS:
                expect_exception = True
                continue
            if stripped.startswith(_HEADER) or stripped.startswith(_GROUP_HEADER):
                frames = []
                expect_exception = True
                continue
            frame_match = _FRAME_RE.match(item)
            if frame_match is not None:
                code, index = self._code_line(block, index, item)
                frames.append(self._frame(frame_match, code))
                expect_exception = True
                continue
            if stripped.startswith("[Previous line repeated") or _CARET_RE.fullmatch(item):
                continue
            exception_match = _EXCEPTION_LINE_RE.match(stripped)
            if expect_exception and exception_match is not None and self._is_exception_line(exception_match):
                message, index = self._message(exception_match.group("msg") or "", block, index)
                records.append(ExceptionRecord(exception_match.group("type"), message, tuple(frames)))
                frames = []
                expect_exception = False
        if frames:
            records.append(ExceptionRecord(None, "", tuple(frames)))
        return tuple(records)

    @staticmethod
    def _is_exception_line(match: re.Match[str]) -> bool:
        name = match.group("type")
        return is_exception_name(name) or "." in name or name[:1].isupper()

    @staticmethod
    def _code_line(block: _Block, index: int, frame_line: str) -> tuple[str | None, int]:
        if index >= len(block) or not isinstance(block[index], str):
            return None, index
        candidate = block[index]
        assert isinstance(candidate, str)
        frame_indent = len(frame_line) - len(frame_line.lstrip())
        indent = len(candidate) - len(candidate.lstrip())
        if (
            indent > frame_indent
            and candidate.strip()
            and not _FRAME_RE.match(candidate)
            and not _CARET_RE.fullmatch(candidate)
            and not candidate.strip().startswith("[Previous line repeated")
        ):
            return candidate.strip(), index + 1
        return None, index

    @staticmethod
    def _message(first: str, block: _Block, index: int) -> tuple[str, int]:
        """The exception message: its first line plus continuation lines up to a blank line or marker."""
        lines = [first]
        while index < len(block) and len(lines) < MAX_MESSAGE_LINES:
            item = block[index]
            if not isinstance(item, str):
                break
            stripped = item.strip()
            if (
                not stripped
                or stripped in _CHAIN_MARKERS
                or stripped.startswith(_HEADER)
                or _GROUP_HEADER in stripped
                or _FRAME_RE.match(item)
            ):
                break
            lines.append(item.rstrip())
            index += 1
        return "\n".join(lines).strip(), index

    def _frame(self, match: re.Match[str], code: str | None) -> Frame:
        path = match.group("file")
        return Frame(
            file=path,
            line=int(match.group("line")),
            function=(match.group("func") or "").strip(),
            code=code,
            module=module_name(path, self.root),
            in_app=is_in_app(path, self.root),
        )
