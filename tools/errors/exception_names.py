"""Recognise exception type names in text (`KeyError`, `json.decoder.JSONDecodeError`, `socket.timeout`)."""

from __future__ import annotations

import builtins
import re

BUILTIN_EXCEPTIONS = frozenset(
    name
    for name, value in vars(builtins).items()
    if isinstance(value, type) and issubclass(value, BaseException)
)
_CLASS_SUFFIX_RE = re.compile(
    r"[A-Z]\w*(?:Error|Exception|Warning|Exit|Interrupt|Timeout|Failure|Fault|Violation|Cancelled|Iteration)"
)
_LOWERCASE_NAMES = frozenset({"timeout", "error", "gaierror", "herror"})
# Builtin class names that, alone, are far more often a log label (`Warning: disk almost full`).
_LOG_LABELS = frozenset({"Warning"})
# `Type: message` or a bare `Type` at the start of a message.
_TYPE_PREFIX_RE = re.compile(r"\s*((?:[A-Za-z_]\w*\.)*[A-Za-z_]\w*)(?::(?:\s+|$)|$)")
# Anywhere in a log line, after a separator: `... ERROR worker: TimeoutError: IMAP timeout`.
_TYPE_INSIDE_RE = re.compile(r"(?:^|(?<=[\s:\[(]))((?:[A-Za-z_]\w*\.)*[A-Z]\w*)(?::\s+|:?$)")


def is_exception_name(name: str) -> bool:
    """True when a (possibly dotted) name looks like an exception class, not a log level or a word."""
    last = name.rsplit(".", 1)[-1]
    if name in _LOG_LABELS:
        return False
    if last in BUILTIN_EXCEPTIONS or _CLASS_SUFFIX_RE.fullmatch(last):
        return True
    return "." in name and last in _LOWERCASE_NAMES


def short_name(name: str | None) -> str | None:
    return None if name is None else name.rsplit(".", 1)[-1]


def split_type_prefix(message: str) -> tuple[str | None, str]:
    """(`KeyError`, `'x'`) for `KeyError: 'x'`; (None, message) when the message does not start with a type."""
    match = _TYPE_PREFIX_RE.match(message)
    if match is None or not is_exception_name(match.group(1)):
        return None, message
    return match.group(1), message[match.end() :]


def find_type(message: str) -> tuple[str | None, str]:
    """The first exception name anywhere in a log line and the text after it, for titles."""
    for match in _TYPE_INSIDE_RE.finditer(message, 0, 2000):
        if is_exception_name(match.group(1)):
            return match.group(1), message[match.end() :]
    return None, message
