"""Fingerprints (what makes two errors the same) and their short signature ids and titles.

A traceback-bearing error is identified by the exception types of its chain and the in-app frames of each
exception (module and function, never line numbers), so new values in the message and edits that shift
lines keep the signature. When no frame of the whole chain is in-app, the parameterised message and the
innermost library frames stand in. An error without traceback is identified by its type and its
parameterised message template.
"""

from __future__ import annotations

import hashlib
import re

from .exception_names import short_name, without_json
from .models import ExceptionRecord, Frame
from .parameterize import mask_tokens, parameterize

SIGNATURE_LENGTH = 12
# The version of what makes two errors the same (fingerprints, parameterisation, template mining). Raise it
# with any change that can rename a group: the signature store then maps the new names to the stored ones
# they continue (signature_store / refresh.carry_over), so a shipped change never splits existing groups.
# 3: words with few spellings that are values where they stand (`value_lists`) join their template.
SIGNATURE_ALGORITHM = 3
MAX_TITLE_CHARS = 100
LIBRARY_FRAMES_WHEN_NO_APP_FRAME = 3

_ATTRIBUTE_RE = re.compile(r"has no attribute '([^']+)'")
_SUB_EXCEPTIONS_RE = re.compile(r"\s*\((?:\d+|<num>) sub-exceptions?\)\s*$")


def signature_of(fingerprint: str) -> str:
    digest = hashlib.sha1(fingerprint.encode("utf-8", "surrogatepass"), usedforsecurity=False)
    return digest.hexdigest()[:SIGNATURE_LENGTH]


def message_fingerprint(error_type: str | None, template_tokens: str) -> str:
    """Fingerprint of an error without traceback: short type + masked template (wildcards as `<*>`)."""
    return f"msg|{short_name(error_type) or ''}|{template_tokens}"


def traceback_fingerprint(chain: tuple[ExceptionRecord, ...]) -> str:
    use_app_frames = _has_app_frame(chain)
    return "tb|" + " || ".join(_record_part(record, use_app_frames) for record in chain)


def _has_app_frame(chain: tuple[ExceptionRecord, ...]) -> bool:
    return any(frame.in_app for record in chain for frame in record.frames) or any(
        _has_app_frame(member) for record in chain for member in record.members
    )


def _record_part(record: ExceptionRecord, use_app_frames: bool) -> str:
    frames = [f for f in record.frames if f.in_app] if use_app_frames else []
    if not use_app_frames:
        frames = list(record.frames[-LIBRARY_FRAMES_WHEN_NO_APP_FRAME:])
    part = f"{record.short_type or '?'}@{_frame_keys(frames)}"
    if not use_app_frames or not record.frames:
        # Nothing of the application to anchor on: the message template tells causes apart.
        part += "#" + " ".join(mask_tokens(without_json(record.message).split("\n", 1)[0]))
    if record.members:
        # Members of a group (TaskGroup tasks) finish in any order and in any number: a sorted set.
        members = sorted({traceback_fingerprint(member) for member in record.members})
        part += "[" + " ; ".join(members) + "]"
    return part


def _frame_keys(frames: list[Frame]) -> str:
    """Unique `module:function` keys in call order; repeats (recursion, retries) count once."""
    keys: dict[str, None] = {}
    for frame in frames:
        keys.setdefault(f"{frame.module}:{frame.function}", None)
    return ">".join(keys)


def leaf_types(record: ExceptionRecord) -> list[str]:
    """Types of the innermost, non-group members of an ExceptionGroup, in first-seen order."""
    found: dict[str, None] = {}
    for member in record.members:
        if not member:
            continue
        last = member[-1]
        if last.members:
            for name in leaf_types(last):
                found.setdefault(name, None)
        elif last.short_type:
            found.setdefault(last.short_type, None)
    return list(found)


def make_title(error_type: str | None, message: str, members: list[str] | None = None) -> str:
    """`AttributeError: '_email_context_until'`, `TimeoutError: IMAP timeout`, `ExceptionGroup: ... (ValueError)`."""
    name = short_name(error_type)
    first_line = message.strip().split("\n", 1)[0]
    subject = _subject(name, first_line)
    if members:
        subject = _SUB_EXCEPTIONS_RE.sub("", subject)
        subject = f"{subject} ({', '.join(members[:3])}{', ...' if len(members) > 3 else ''})".strip()
    if len(subject) > MAX_TITLE_CHARS:
        subject = subject[: MAX_TITLE_CHARS - 1].rsplit(" ", 1)[0] + "…"
    if name and subject:
        return f"{name}: {subject}"
    return name or subject or "(empty message)"


def _subject(name: str | None, first_line: str) -> str:
    if name == "AttributeError":
        match = _ATTRIBUTE_RE.search(first_line)
        if match is not None:
            return f"'{match.group(1)}'"
    return parameterize(first_line)
