"""Recognise exception type names in text (`KeyError`, `json.decoder.JSONDecodeError`, `socket.timeout`),
and the type and message of an error written as a JSON object."""

from __future__ import annotations

import ast
import builtins
import json
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


# --- Errors written as a JSON object -------------------------------------------------------------------
# API clients log errors as the body the server sent: `{"error": {"type": ..., "message": ..., "code": ...}}`,
# `{"type": ..., "message": ...}`, `{"error": "text", "code": 500}`, or after a prefix
# (`OpenAI API error: {...}`, the OpenAI SDK's `Error code: 429 - {'error': {...}}`). Such an error is read
# as its type and message; the other fields (request ids, params) never reach the signature.

MAX_JSON_PREFIX = 200  # characters before the `{` of an embedded object
_MAX_REPR_CHARS = 16 * 1024  # Python dict reprs longer than this are not parsed
_OBJECT_START_RE = re.compile(r"\{\s*[\"']")
_TYPE_KEYS = ("type", "error_type", "errorType", "name", "exception")
# Any word under these keys is the error's type (`tokens`, `invalid_request_error`); under the others
# (`name`, `exception`) only an exception class name is (`{"name": "TypeError"}`, not `{"name": "bob"}`).
_TYPE_KEYS_NAMING_CLASSES = frozenset({"type", "error_type", "errorType"})
_TYPE_VALUE_RE = re.compile(r"[A-Za-z_][\w.:\-]{0,99}")
_MESSAGE_KEYS = ("message", "msg", "detail", "error_description", "error_message", "description", "reason")
_GENERIC_TYPES = frozenset({"", "error", "Error", "ERROR", "exception", "Exception"})
# Cut-off JSON (a column of limited width): the string values that survive, the last one maybe unterminated.
_CUT_FIELD_RE = re.compile(r'"(type|error_type|message|msg|detail|error)"\s*:\s*"((?:[^"\\]|\\.)*)("?)')
# Ids that differ per organisation, request or call: `org-AbC123`, `req_9f2c...`, `call_xYz789`, `toolu_01A...`.
_PREFIXED_ID_RE = re.compile(
    r"(?<![\w-])(?:org|proj)-[A-Za-z0-9]{3,}(?![\w-])"
    r"|(?<![\w-])[a-z]{2,10}[-_](?=[A-Za-z0-9]*[0-9A-Z])[A-Za-z0-9]{6,}(?![\w-])"
)
# The name after `organization`, unless it is a plain lowercase word (`No organization found`).
_ORGANISATION_RE = re.compile(r"(?<=\borgani[sz]ation )(?![a-z]+\b)(?!<)[\w.-]*\w")
ID_PLACEHOLDER = "<id>"
_DECODER = json.JSONDecoder()


def read_json_error(text: str) -> tuple[str | None, str] | None:
    """(type, readable text) of an error written as a JSON object, or None for any other text.

    The object is replaced by its message, in place: `OpenAI API error: {"error": {"message": "m"}}`
    reads `OpenAI API error: m`. Ids in the message (`org-...`, `req_...`) become `<id>`, so the same
    cause in another organisation or request is the same error. The type is the object's `type` (or a
    string `code` when there is none).
    """
    brace = text.find("{", 0, MAX_JSON_PREFIX + 1)
    start = _OBJECT_START_RE.match(text, brace) if brace >= 0 else None
    if start is None:
        return None
    python_repr = start.group().endswith("'")
    parsed = _parse_object(text, brace, python_repr)
    if parsed is not None:
        value, end = parsed
        fields = _error_fields(value)
    elif not python_repr and _is_cut_off(text, brace):
        fields, end = _cut_fields(text, brace), len(text)
    else:
        return None
    if fields is None:
        return None
    error_type, message = fields
    message = _ORGANISATION_RE.sub(ID_PLACEHOLDER, _PREFIXED_ID_RE.sub(ID_PLACEHOLDER, message))
    return error_type, text[:brace] + message + text[end:]


def without_json(text: str) -> str:
    """`text` with an embedded JSON error object replaced by its message (unchanged when there is none)."""
    decoded = read_json_error(text) if "{" in text else None
    return text if decoded is None else decoded[1]


def _parse_object(text: str, start: int, python_repr: bool) -> tuple[object, int] | None:
    if not python_repr:
        try:
            return _DECODER.raw_decode(text, start)
        except (ValueError, RecursionError):
            return None
    end = _repr_end(text, start)
    if end < 0:
        return None
    try:
        return ast.literal_eval(text[start:end]), end  # Python's repr of a dict
    except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
        return None


def _is_cut_off(text: str, start: int) -> bool:
    """True when the JSON object at `start` is only broken by ending too early (a truncated column)."""
    try:
        _DECODER.raw_decode(text, start)
    except json.JSONDecodeError as exc:
        return exc.msg.startswith("Unterminated string") or exc.pos >= len(text.rstrip()) - 1
    except RecursionError:
        return False
    return False


def _repr_end(text: str, start: int) -> int:
    """Index after the `}` closing the dict repr at `start` (quotes and nesting respected), or -1."""
    depth, quote, escaped = 0, "", False
    for index in range(start, min(len(text), start + _MAX_REPR_CHARS)):
        char = text[index]
        if quote:
            if escaped:
                escaped = False
            elif char == "\\":
                escaped = True
            elif char == quote:
                quote = ""
        elif char in "'\"":
            quote = char
        elif char in "{[(":
            depth += 1
        elif char in "}])":
            depth -= 1
            if depth == 0:
                return index + 1
    return -1


def _error_fields(value: object) -> tuple[str | None, str] | None:
    if not isinstance(value, dict):
        return None
    inner = value.get("error")
    if isinstance(inner, dict):
        error_type, message = _type_of(inner), _message_of(inner)
        if error_type is None and message is None:
            return None
        return error_type, message or ""
    if isinstance(inner, str) and inner.strip():
        return _type_of(value), inner
    error_type, message = _type_of(value), _message_of(value)
    if message is None:
        # A bare `{"type": "RateLimitError"}` is an error too; other objects without a message are not.
        return (error_type, "") if error_type and is_exception_name(error_type) else None
    return error_type, message


def _type_of(fields: dict[object, object]) -> str | None:
    for key in _TYPE_KEYS:
        value = fields.get(key)
        if not isinstance(value, str) or not _TYPE_VALUE_RE.fullmatch(value.strip()):
            continue
        if value.strip() in _GENERIC_TYPES:
            continue
        if key in _TYPE_KEYS_NAMING_CLASSES or is_exception_name(value.strip()):
            return value.strip()
    code = fields.get("code")
    if isinstance(code, str) and code.strip() and not code.strip().isdigit():
        return code.strip()
    return None


def _message_of(fields: dict[object, object]) -> str | None:
    for key in _MESSAGE_KEYS:
        value = fields.get(key)
        if isinstance(value, str):
            return value
    return None


def _cut_fields(text: str, brace: int) -> tuple[str | None, str] | None:
    """Type and message of a JSON object cut off before its end (double-quoted JSON only)."""
    found: dict[str, str] = {}
    for match in _CUT_FIELD_RE.finditer(text, brace):
        key = "type" if match.group(1) in ("type", "error_type") else "message"
        value = match.group(2)
        if not match.group(3) and " " in value:
            value = value.rsplit(" ", 1)[0]  # the last word may be cut in half
        try:
            value = json.loads(f'"{value}"')
        except ValueError:
            value = value.replace('\\"', '"')
        if key == "type" and value.strip() in _GENERIC_TYPES:
            continue
        found.setdefault(key, value)
    if "message" not in found:
        return None
    return found.get("type"), found["message"]
