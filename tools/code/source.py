"""Read and search a repository's committed code on its default branch.

Both tools read git objects of the local default branch, never the working tree: what the model
sees is what a fix branch starts from, and the user's uncommitted or untracked files stay private.

Committed secrets (`.npmrc`, `config/prod.env`, a password in `settings.py`) are masked in everything
both tools return, by the detector that redacts error text: only the value goes (`PASSWORD = "***"`),
line numbers and the code around it stay. search_code drops a match that only the secret made (a
pattern such as `AKIA[A-Z0-9]{4}` would otherwise tell, character by character, what the key is).
"""

from __future__ import annotations

import difflib
import re
import threading
from collections.abc import Callable
from typing import Any

from ..errors.redact import has_private_key, redact_lines, redact_secrets
from ..support.git_runner import git_text, popen_git
from ..support.problems import NotFoundError, ToolInputError
from .models import CodeMatch, CodeSearch, SourceFile
from .paths import clean_relative_path, denied_by, ensure_allowed
from .repos import Repo

MAX_LINES = 400
MAX_CHARS = 40_000
MAX_LINE_CHARS = 2000
MAX_BLOB_BYTES = 10_000_000
MATCH_TEXT_CHARS = 300
SEARCH_TIMEOUT_SECONDS = 30.0


def read_source(repo: Repo, path: str, start_line: int = 1, end_line: int | None = None) -> SourceFile:
    """Lines start_line..end_line of `path` at the default branch, at most MAX_LINES / MAX_CHARS."""
    relative = clean_relative_path(path)
    ensure_allowed(relative, repo.denied_paths, action="read")
    commit = repo.default_commit()
    data = _blob(repo, commit, relative)
    text = data.decode("utf-8", "replace")
    lines = text.split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    total = len(lines)
    base = {**_read_at(repo, commit), "path": relative}
    if total == 0:
        return SourceFile(
            **base, start_line=1, end_line=0, total_lines=0, content="", truncated=False, next_start_line=None
        )
    if start_line > total:
        raise ToolInputError(
            f"start_line {start_line} is past the end of {relative!r}, which has {total} lines"
        )
    if end_line is not None and end_line < start_line:
        raise ToolInputError(
            f"end_line {end_line} is before start_line {start_line}: give end_line >= start_line"
        )
    wanted_end = min(end_line or total, total)
    window_end = min(wanted_end, start_line + MAX_LINES - 1)
    window = _redacted_window(text, lines, start_line, window_end)
    shown: list[str] = []
    size = 0
    cut = False
    last = start_line - 1
    for number in range(start_line, window_end + 1):
        line = window[number - start_line]
        if len(line) > MAX_LINE_CHARS:
            line = line[:MAX_LINE_CHARS] + " …[line cut]"
            cut = True
        piece = f"{number:>6}\t{line}\n"
        if shown and size + len(piece) > MAX_CHARS:
            break
        shown.append(piece)
        size += len(piece)
        last = number
    truncated = last < wanted_end
    return SourceFile(
        **base,
        start_line=start_line,
        end_line=last,
        total_lines=total,
        content="".join(shown),
        truncated=truncated,
        next_start_line=last + 1 if truncated else None,
        long_lines_cut=cut,
    )


def _redacted_window(text: str, lines: list[str], first: int, last: int) -> list[str]:
    """Lines first..last with secrets masked; a file holding a private key is masked as a whole, so a
    window that starts inside the key's block is masked too."""
    if has_private_key(text):
        return redact_lines(text).split("\n")[first - 1 : last]
    return redact_lines("\n".join(lines[first - 1 : last])).split("\n")


def _blob(repo: Repo, commit: str, relative: str) -> bytes:
    """The bytes of a regular text file at `commit`, or an error that says what the path is instead."""
    literal = {"GIT_LITERAL_PATHSPECS": "1"}
    listing = repo.git("ls-tree", "-z", "--full-tree", "--long", commit, "--", relative, env=literal).stdout
    entry = listing.split(b"\0")[0].decode("utf-8", "surrogateescape")
    if not entry:
        raise NotFoundError(_not_found_message(repo, commit, relative))
    meta, _, _name = entry.partition("\t")
    mode, kind, sha, size = meta.split()
    if kind == "tree":
        names = git_text(
            repo.path, "ls-tree", "--name-only", "--full-tree", commit, "--", relative + "/", env=literal
        )
        entries = [name.rsplit("/", 1)[-1] for name in names.splitlines()]
        raise ToolInputError(
            f"{relative!r} is a directory on {repo.default_branch}; it contains: {', '.join(entries[:60])}"
            + (" …" if len(entries) > 60 else "")
            + ". Pass one of its files as path"
        )
    if kind != "blob":
        raise ToolInputError(f"{relative!r} is a submodule, not a file: its code lives in another repository")
    if mode == "120000":
        target = git_text(repo.path, "cat-file", "blob", sha)
        raise ToolInputError(
            f"{relative!r} is a symbolic link to {target!r}: read the file it points to instead"
        )
    if int(size) > MAX_BLOB_BYTES:
        raise ToolInputError(
            f"{relative!r} is {int(size):,} bytes, too large to read; use search_code in it instead"
        )
    data = repo.git("cat-file", "blob", sha).stdout
    if b"\0" in data[:8000]:
        raise ToolInputError(f"{relative!r} is a binary file; only text files can be read")
    return data


def _not_found_message(repo: Repo, commit: str, relative: str) -> str:
    names = git_text(repo.path, "ls-tree", "-r", "--name-only", "--full-tree", commit).splitlines()
    names = [name for name in names if denied_by(name, repo.denied_paths) is None]
    base = relative.rsplit("/", 1)[-1]
    similar = [name for name in names if name.rsplit("/", 1)[-1] == base][:5]
    similar += [n for n in difflib.get_close_matches(relative, names, n=5, cutoff=0.6) if n not in similar]
    hint = f" Did you mean: {', '.join(similar[:5])}?" if similar else ""
    return (
        f"no file {relative!r} on branch {repo.default_branch} of repo {repo.name!r}.{hint} Paths are relative "
        "to the repository root; search_code(repo, pattern) finds files by their content"
    )


def search_code(
    repo: Repo, pattern: str, glob: str | None = None, limit: int = 50, ignore_case: bool = False
) -> CodeSearch:
    """Lines of the default branch matching a POSIX extended regex (`git grep -E`), at most `limit`."""
    if not pattern:
        raise ToolInputError("pattern is empty: give a regular expression, e.g. 'def send_email'")
    pathspec = _glob_pathspec(glob)
    commit = repo.default_commit()
    args = ["grep", "-n", "-I", "-E", "-z", "--full-name", "--no-color"]
    if ignore_case:
        args.append("-i")
    args += ["-e", pattern, commit, "--", *pathspec]
    process = popen_git(repo.path, *args)
    timed_out = threading.Event()

    def stop() -> None:
        timed_out.set()
        process.kill()

    timer = threading.Timer(SEARCH_TIMEOUT_SECONDS, stop)
    timer.start()
    matches: list[CodeMatch] = []
    has_more = False
    prefix = f"{commit}:".encode()
    still_matches = _python_matcher(pattern, ignore_case)
    key_files: dict[str, bool] = {}
    try:
        assert process.stdout is not None
        for record in process.stdout:
            match = _parse_grep_record(record, prefix)
            if match is None or denied_by(match.path, repo.denied_paths) is not None:
                continue
            match = _shown_match(repo, commit, match, still_matches, key_files)
            if match is None:
                continue
            if len(matches) == limit:
                has_more = True
                break
            matches.append(match)
    except BaseException:
        process.kill()
        raise
    finally:
        timer.cancel()
        if process.poll() is None and has_more:
            process.kill()  # enough matches: the rest is not needed
        stderr = process.stderr.read().decode("utf-8", "replace") if process.stderr else ""
        process.wait()
    if timed_out.is_set() and not has_more:
        raise ToolInputError(
            f"search_code stopped after {SEARCH_TIMEOUT_SECONDS:.0f} s: use a more specific pattern or a glob"
        )
    if not has_more and process.returncode not in (0, 1):
        reason = stderr.strip().removeprefix("fatal: ")
        raise ToolInputError(
            f"git grep refused the pattern: {reason}. pattern is a POSIX extended regular expression: escape "
            r"( ) [ ] { } . * + ? | ^ $ \ with a backslash to match them literally, use [0-9] instead of \d"
        )
    return CodeSearch(**_read_at(repo, commit), pattern=pattern, matches=matches, has_more=has_more)


def _read_at(repo: Repo, commit: str) -> dict[str, Any]:
    """What an answer was read from: the repo, its default branch and the commit that branch was at."""
    return {"repo": repo.name, "branch": repo.default_branch, "commit": commit}


def _glob_pathspec(glob: str | None) -> list[str]:
    """A git pathspec for `glob` ('*.py', 'src/**/*.py'); '*' also matches '/' as in git's own pathspecs."""
    if glob is None or not glob.strip():
        return []
    if glob.startswith((":", "/")) or ".." in glob.split("/") or "\\" in glob:
        raise ToolInputError(
            f"glob {glob!r} is not a relative file pattern: use e.g. '*.py' or 'src/*.py' (no leading ':' or '/')"
        )
    return [glob]


def _parse_grep_record(record: bytes, prefix: bytes) -> CodeMatch | None:
    """The match a `git grep -z` record reports, its text whole (cut after redaction)."""
    if not record.startswith(prefix):
        return None
    parts = record[len(prefix) :].rstrip(b"\n").split(b"\0", 2)
    if len(parts) != 3 or not parts[1].isdigit():
        return None
    text = parts[2].decode("utf-8", "replace")
    return CodeMatch(path=parts[0].decode("utf-8", "replace"), line=int(parts[1]), text=text)


# A line of a PEM or PuTTY key body: nothing but base64. Alone it says nothing; in a key file it is the key.
_KEY_BODY_LINE_RE = re.compile(r"\s*[A-Za-z0-9+/]{40,}={0,2}\s*")


def _python_matcher(pattern: str, ignore_case: bool) -> Callable[[str], bool] | None:
    """The search pattern as a Python regex, when it reads the same there (no POSIX classes)."""
    if "[[:" in pattern:
        return None
    try:
        compiled = re.compile(pattern, re.IGNORECASE if ignore_case else 0)
    except re.error:
        return None
    return lambda text: compiled.search(text) is not None


def _shown_match(
    repo: Repo,
    commit: str,
    match: CodeMatch,
    still_matches: Callable[[str], bool] | None,
    key_files: dict[str, bool],
) -> CodeMatch | None:
    """The match with its secrets masked and cut to MATCH_TEXT_CHARS; None when the line only matched
    because of a secret (or is part of a private key)."""
    text = redact_secrets(match.text, redact_emails=False)
    if text != match.text and (still_matches is None or not still_matches(text)):
        return None
    if _KEY_BODY_LINE_RE.fullmatch(match.text):
        if match.path not in key_files:
            try:
                blob = _blob(repo, commit, match.path).decode("utf-8", "replace")
            except (NotFoundError, ToolInputError):
                blob = ""
            key_files[match.path] = has_private_key(blob)
        if key_files[match.path]:
            return None
    if len(text) > MATCH_TEXT_CHARS:
        text = text[:MATCH_TEXT_CHARS] + " …"
    return CodeMatch(path=match.path, line=match.line, text=text)
