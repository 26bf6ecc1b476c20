"""Refuse a change that leaves a Python file unparseable, showing the error where it is.

A syntax error would fail every check and every import; catching it before the commit lets the
model fix its patch at once instead of reading a test run's traceback.
"""

from __future__ import annotations

import ast
import warnings
from pathlib import Path

from ..support.problems import ToolInputError

PYTHON_SUFFIXES = (".py", ".pyi")
CONTEXT_LINES = 3


def check_python_syntax(root: Path, paths: list[str]) -> None:
    """Parse every Python file among `paths` (relative to `root`); ToolInputError on the first that fails."""
    for path in paths:
        if not path.endswith(PYTHON_SUFFIXES):
            continue
        source = (root / path).read_bytes()
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # SyntaxWarning for odd escapes is not our business here
                ast.parse(source, filename=path)
        except SyntaxError as exc:
            raise ToolInputError(describe_syntax_error(path, source, exc)) from exc
        except ValueError as exc:  # e.g. null bytes
            raise ToolInputError(f"{path!r} would not be valid Python: {exc}. Nothing was kept") from exc


def describe_syntax_error(path: str, source: bytes, exc: SyntaxError) -> str:
    lines = source.decode("utf-8", "replace").split("\n")
    number = exc.lineno or 1
    shown: list[str] = []
    for n in range(max(1, number - CONTEXT_LINES), min(len(lines), number + CONTEXT_LINES) + 1):
        marker = ">" if n == number else " "
        shown.append(f"{marker}{n:>5}\t{lines[n - 1]}")
        if n == number and exc.offset:
            shown.append(" " * 6 + "\t" + " " * (exc.offset - 1) + "^")
    return (
        f"the change leaves {path!r} with a Python syntax error at line {number}"
        f"{f', column {exc.offset}' if exc.offset else ''}: {exc.msg}\n"
        + "\n".join(shown)
        + "\nNothing was kept: fix the patch and send it again."
    )
