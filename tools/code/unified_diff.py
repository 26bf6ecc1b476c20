"""Parse unified diffs (git's and hand-written ones) into files and hunks, without trusting the numbers.

Models often get hunk line numbers and counts wrong. A hunk is read by its counts when they fit what
follows, and otherwise up to the next hunk or file header, so the tolerant applier can place it by
its content. File paths lose their `a/` and `b/` prefixes here.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from ..support.problems import ToolInputError

DEV_NULL = "/dev/null"
_HUNK_HEADER_RE = re.compile(r"^@@+ -(\d+)(?:,(\d+))? \+(\d+)(?:,(\d+))? @@+")
_C_ESCAPES = {
    "a": "\a",
    "b": "\b",
    "t": "\t",
    "n": "\n",
    "v": "\v",
    "f": "\f",
    "r": "\r",
    '"': '"',
    "\\": "\\",
}


@dataclass
class HunkLine:
    op: str  # " " context, "-" removed, "+" added
    text: str  # without its line ending
    no_newline: bool = False  # followed by "\ No newline at end of file"


@dataclass
class Hunk:
    number: int  # 1-based position within its file
    header: str
    old_start: int | None
    old_count: int | None
    new_start: int | None
    new_count: int | None
    lines: list[HunkLine] = field(default_factory=list)
    counts_fit: bool = False  # the header's counts describe exactly the lines that follow

    @property
    def old_lines(self) -> list[HunkLine]:
        return [line for line in self.lines if line.op != "+"]

    @property
    def new_lines(self) -> list[HunkLine]:
        return [line for line in self.lines if line.op != "-"]


@dataclass
class FilePatch:
    old_path: str | None = None  # None: the file is created
    new_path: str | None = None  # None: the file is deleted
    hunks: list[Hunk] = field(default_factory=list)
    binary: bool = False
    new_mode: str | None = None
    prefixed: bool | None = None  # paths carried git's a/ b/ prefixes (decides `git apply -p1` or `-p0`)
    _git_paths: tuple[str | None, str | None] | None = None
    _header_paths: tuple[str | None, str | None] | None = None
    _rename: list[str | None] = field(default_factory=lambda: [None, None])
    _created: bool = False
    _deleted: bool = False

    @property
    def path(self) -> str:
        return self.new_path or self.old_path or "?"

    @property
    def is_new(self) -> bool:
        return self.old_path is None

    @property
    def is_deleted(self) -> bool:
        return self.new_path is None

    @property
    def is_rename(self) -> bool:
        return self.old_path is not None and self.new_path is not None and self.old_path != self.new_path

    @property
    def paths(self) -> list[str]:
        return [p for p in dict.fromkeys((self.old_path, self.new_path)) if p is not None]


def parse_unified_diff(text: str) -> list[FilePatch]:
    """The file patches of `text`; ToolInputError when it holds none or a hunk comes before any file."""
    lines = text.split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    files: list[FilePatch] = []
    current: FilePatch | None = None
    i = 0
    while i < len(lines):
        line = lines[i]
        if line.startswith("diff --git "):
            current = FilePatch(_git_paths=_git_header_paths(line[len("diff --git ") :]))
            files.append(current)
            i += 1
        elif _is_file_header(lines, i):
            if current is None or current._header_paths is not None or current.hunks:
                current = FilePatch()
                files.append(current)
            current._header_paths = (_header_path(lines[i][4:]), _header_path(lines[i + 1][4:]))
            i += 2
        elif line.startswith("@@"):
            if current is None or (current._header_paths is None and current._git_paths is None):
                raise ToolInputError(
                    f"diff line {i + 1}: a hunk ('@@') comes before any file header; start each file with "
                    "'--- a/path' and '+++ b/path' lines"
                )
            hunk, i = _read_hunk(lines, i, len(current.hunks) + 1)
            current.hunks.append(hunk)
        else:
            if current is not None and current.hunks and line[:1] in (" ", "-", "+") and line != "-- ":
                raise ToolInputError(
                    f"diff line {i + 1} ({line[:80]!r}) is a diff line outside any hunk: fix the hunk above it "
                    "(each hunk line starts with ' ', '-' or '+') or start a new hunk with an '@@' line"
                )
            if current is not None:
                _read_extended_header(current, line)
            i += 1
    for patch in files:
        _settle_paths(patch)
    files = [patch for patch in files if patch.old_path is not None or patch.new_path is not None]
    if not files:
        raise ToolInputError(
            "the diff holds no file changes: send a unified diff with '--- a/path', '+++ b/path' and '@@' hunk "
            "lines (new files: '--- /dev/null'), or use edits instead"
        )
    return files


def _is_file_header(lines: list[str], i: int) -> bool:
    """'--- x' + '+++ y' followed by a hunk, a new file section or the end ('-- x'/'++ y' content is rare)."""
    if not (lines[i].startswith("--- ") and i + 1 < len(lines) and lines[i + 1].startswith("+++ ")):
        return False
    follower = lines[i + 2] if i + 2 < len(lines) else None
    return follower is None or follower.startswith(("@@", "diff --git ", "--- ", "Binary files "))


def _read_hunk(lines: list[str], start: int, number: int) -> tuple[Hunk, int]:
    header = lines[start]
    found = _HUNK_HEADER_RE.match(header)
    old_start = old_count = new_start = new_count = None
    if found is not None:  # '@@ -a[,b] +c[,d] @@'; an omitted count means 1
        a, b, c, d = found.groups()
        old_start, old_count, new_start, new_count = int(a), int(b or 1), int(c), int(d or 1)
    hunk = Hunk(number, header, old_start, old_count, new_start, new_count)
    if old_count is not None and new_count is not None:
        counted = _read_counted_body(lines, start + 1, old_count, new_count)
        if counted is not None:
            hunk.lines, end = counted
            hunk.counts_fit = True
            return hunk, end
    hunk.lines, end = _read_open_body(lines, start + 1)
    return hunk, end


def _read_counted_body(
    lines: list[str], i: int, old_left: int, new_left: int
) -> tuple[list[HunkLine], int] | None:
    """The body as the header's counts describe it, or None when the lines that follow disagree."""
    body: list[HunkLine] = []
    while old_left > 0 or new_left > 0:
        if i >= len(lines):
            return None
        line = lines[i]
        op = line[:1] or " "
        if op == "\\" and body:
            body[-1].no_newline = True
            i += 1
            continue
        if op not in " -+" or line.startswith(("--- ", "+++ ")) and _is_file_header(lines, i):
            return None
        if op in " -":
            old_left -= 1
        if op in " +":
            new_left -= 1
        if old_left < 0 or new_left < 0:
            return None
        body.append(HunkLine(op, line[1:]))
        i += 1
    while i < len(lines) and lines[i].startswith("\\") and body:
        body[-1].no_newline = True
        i += 1
    if _hunk_lines_follow(lines, i):
        return None  # more hunk lines follow: the counts are too small
    return body, i


def _read_open_body(lines: list[str], i: int) -> tuple[list[HunkLine], int]:
    """The body up to the next hunk, file header or non-diff line; blank lines count as blank context."""
    body: list[HunkLine] = []
    raw_blank: list[bool] = []
    while i < len(lines):
        line = lines[i]
        if line.startswith(("@@", "diff --git ")) or _is_file_header(lines, i):
            break
        op = line[:1]
        if op == "\\":
            if body:
                body[-1].no_newline = True
        elif op in (" ", "-", "+") or line == "":
            body.append(HunkLine(op or " ", line[1:]))
            raw_blank.append(line == "")
        elif _hunk_lines_follow(lines, i + 1):
            raise ToolInputError(
                f"diff line {i + 1} ({line[:80]!r}) sits inside a hunk but is not a diff line: every hunk line "
                "starts with ' ' (unchanged), '-' (removed) or '+' (added); an unchanged line keeps its leading space"
            )
        else:
            break
        i += 1
    while body and raw_blank[len(body) - 1]:
        body.pop()  # blank lines at a hunk's end separate it from what follows; they are not context
    return body, i


def _hunk_lines_follow(lines: list[str], i: int) -> bool:
    """Whether a ' ', '-' or '+' line comes before the next header or the end (text in between skipped)."""
    while i < len(lines):
        line = lines[i]
        if line == "-- " or line.startswith(("@@", "diff --git ")) or _is_file_header(lines, i):
            return False  # ('-- ' is the signature line ending a `git format-patch` mail)
        if line[:1] in (" ", "-", "+"):
            return True
        i += 1
    return False


def _read_extended_header(patch: FilePatch, line: str) -> None:
    if patch.hunks:
        return
    if line.startswith("new file mode "):
        patch._created = True
        patch.new_mode = line.split()[-1]
    elif line.startswith("deleted file mode "):
        patch._deleted = True
    elif line.startswith("new mode "):
        patch.new_mode = line.split()[-1]
    elif line.startswith("rename from "):
        patch._rename[0] = _unquote(line[len("rename from ") :])
    elif line.startswith("rename to "):
        patch._rename[1] = _unquote(line[len("rename to ") :])
    elif line.startswith(("Binary files ", "GIT binary patch")):
        patch.binary = True


def _settle_paths(patch: FilePatch) -> None:
    """Choose the patch's paths from its ---/+++ lines, else its 'diff --git' line, and drop a/ b/."""
    old, new = patch._header_paths or patch._git_paths or (None, None)
    if patch._header_paths is None and patch._git_paths is not None:
        if patch._created:
            old = None
        if patch._deleted:
            new = None
    prefixed = (old is None or old.startswith("a/")) and (new is None or new.startswith("b/"))
    if old is None and new is None:
        prefixed = False
    patch.prefixed = prefixed
    patch.old_path = old[2:] if prefixed and old is not None else old
    patch.new_path = new[2:] if prefixed and new is not None else new
    if patch._rename[0] and patch._rename[1]:
        patch.old_path, patch.new_path = patch._rename[0], patch._rename[1]


def _header_path(raw: str) -> str | None:
    """The path of a '--- ' / '+++ ' line: quoted or not, without a trailing tab and timestamp."""
    if raw.startswith('"'):
        path = _unquote(raw)
    else:
        path = raw.split("\t", 1)[0].rstrip()
    return None if path == DEV_NULL else path


def _git_header_paths(rest: str) -> tuple[str | None, str | None] | None:
    """Both paths of 'diff --git a/x b/y'; an unquoted line with spaces splits where both halves agree."""
    if rest.startswith('"'):
        first, remainder = _split_quoted(rest)
        second = _unquote(remainder.strip()) if remainder.strip() else None
        return first, second
    candidates = [m.start() for m in re.finditer(" ", rest)]
    for position in candidates:
        left, right = rest[:position], rest[position + 1 :]
        if right.startswith('"'):
            return left, _unquote(right)
        if left[2:] == right[2:]:
            return left, right
    if candidates:
        return rest[: candidates[0]], rest[candidates[0] + 1 :]
    return None


def _split_quoted(text: str) -> tuple[str, str]:
    i = 1
    while i < len(text):
        if text[i] == "\\":
            i += 2
            continue
        if text[i] == '"':
            return _unquote(text[: i + 1]), text[i + 1 :]
        i += 1
    return _unquote(text), ""


def _unquote(raw: str) -> str:
    """Undo git's C-style quoting of unusual paths ("a/t\\303\\244st.py")."""
    raw = raw.rstrip()
    if not (raw.startswith('"') and raw.endswith('"') and len(raw) >= 2):
        return raw
    body = raw[1:-1]
    out = bytearray()
    i = 0
    while i < len(body):
        char = body[i]
        if char == "\\" and i + 1 < len(body):
            nxt = body[i + 1]
            octal = body[i + 1 : i + 4]
            if len(octal) == 3 and all(c in "01234567" for c in octal):
                out.append(int(octal, 8))
                i += 4
                continue
            out += _C_ESCAPES.get(nxt, nxt).encode()
            i += 2
            continue
        out += char.encode()
        i += 1
    return out.decode("utf-8", "surrogateescape")
