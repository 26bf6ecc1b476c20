"""`analyze_error`: the signature of one error, from its message and optional traceback, statelessly.

The result depends only on the inputs (never on other errors), so it can be computed anywhere (a query, a
hook, a test) and compared across days.
"""

from __future__ import annotations

from .exception_names import find_type, read_json_error, short_name, split_type_prefix, without_json
from .fingerprint import (
    leaf_types,
    make_title,
    message_fingerprint,
    signature_of,
    traceback_fingerprint,
)
from .models import ErrorSignature, ExceptionRecord
from .parameterize import MAX_MESSAGE_CHARS, mask_tokens, parameterize
from .traceback_parser import find_traceback_start, has_traceback, parse_traceback


def analyze_error(
    message: str,
    traceback: str | None = None,
    error_type: str | None = None,
    source_root: str | None = None,
) -> ErrorSignature:
    """Signature, title and template of an error.

    `message` may be the bare message, `Type: message`, a log line, or a log record with the traceback
    embedded; `traceback` is the `traceback.format_exc()` text when stored separately; `error_type` is the
    type when stored separately (a traceback's own exception line takes precedence); `source_root`
    decides which frames are the application's.
    """
    message = (message or "")[:MAX_MESSAGE_CHARS]
    chain: tuple[ExceptionRecord, ...] = ()
    if traceback and has_traceback(traceback):
        chain = parse_traceback(traceback, source_root)
    if not chain and has_traceback(message):
        start = find_traceback_start(message)
        chain = parse_traceback(message[start:], source_root)
        if chain:
            message = message[:start].strip()
    if chain and any(record.frames or record.type for record in chain):
        return _from_traceback(chain, message, error_type)
    return analyze_message(message, error_type)


def split_error_type(message: str, error_type: str | None) -> tuple[str | None, str]:
    """(type, body) of `Type: body`; an explicit `error_type` wins, and a message naming another type
    keeps its prefix so the two types stay apart.

    An error written as a JSON object (`{"error": {"type": ..., "message": ...}}`, also after a prefix)
    is read as its type and message first; a type named outside the object wins over the object's.
    """
    json_type = None
    if "{" in message:
        decoded = read_json_error(message)
        if decoded is not None:
            json_type, message = decoded
    prefixed_type, body = split_type_prefix(message)
    if error_type is None:
        return prefixed_type or json_type, body
    if prefixed_type is not None and short_name(prefixed_type) != short_name(error_type):
        return error_type, message
    return error_type, body


def describe_message(error_type: str | None, body: str) -> tuple[str | None, str]:
    """(type, title) of a log-style error; without a known type, a type named inside the line is used
    (`... ERROR worker: TimeoutError: IMAP timeout` -> `TimeoutError`, `TimeoutError: IMAP timeout`)."""
    if error_type:
        return error_type, make_title(error_type, body)
    found_type, rest = find_type(body)
    return found_type, make_title(found_type, rest)


def analyze_message(message: str, error_type: str | None = None) -> ErrorSignature:
    """Signature of an error known only by its text: type + parameterised template."""
    error_type, body = split_error_type((message or "")[:MAX_MESSAGE_CHARS], error_type)
    fingerprint = message_fingerprint(error_type, " ".join(mask_tokens(body)))
    shown_type, title = describe_message(error_type, body)
    return ErrorSignature(
        signature=signature_of(fingerprint),
        title=title,
        error_type=shown_type,
        template=parameterize(body),
        chain=(shown_type,) if shown_type else (),
        kind="message",
        fingerprint=fingerprint,
    )


def _from_traceback(
    chain: tuple[ExceptionRecord, ...], message: str, error_type: str | None
) -> ErrorSignature:
    final = chain[-1]
    if final.type is None:
        # Truncated traceback: the type and message can only come from the other fields.
        found_type, body = split_error_type(message, None)
        final = ExceptionRecord(error_type or found_type, body, final.frames)
        chain = chain[:-1] + (final,)
    fingerprint = traceback_fingerprint(chain)
    members = leaf_types(final) if final.members else None
    resolved_type = final.type or error_type
    shown_message = without_json(final.message)
    return ErrorSignature(
        signature=signature_of(fingerprint),
        title=make_title(resolved_type, shown_message, members),
        error_type=resolved_type,
        template=parameterize(shown_message),
        in_app_frames=tuple(frame for frame in final.frames if frame.in_app),
        frames=final.frames,
        chain=tuple(record.type or "?" for record in chain),
        group_members=tuple(members or ()),
        kind="traceback",
        fingerprint=fingerprint,
    )
