"""Opaque cursors for keyset pagination.

A cursor carries the sort key of the last row returned, so the next page starts right after it
even when new rows arrive in between (offset paging would skip or repeat rows).
"""

import base64
import json
from datetime import datetime
from decimal import Decimal
from typing import Any

from .problems import ToolInputError


def encode_cursor(kind: str, key: list[Any]) -> str:
    """`key` as an opaque cursor; an engine's datetimes travel as ISO text, its decimals as numbers."""
    raw = _ENCODER.encode({"k": kind, "v": key}).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _json_value(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, Decimal):
        return float(value)
    raise TypeError(f"{type(value).__name__} cannot travel in a cursor")


_ENCODER = json.JSONEncoder(separators=(",", ":"), default=_json_value)  # one: json.dumps builds one a call


def decode_cursor(kind: str, cursor: str) -> list[Any]:
    """Return the key stored in `cursor`, or raise a ToolInputError that says where cursors come from."""
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        data = json.loads(base64.urlsafe_b64decode(padded.encode()))
        if data.get("k") != kind or not isinstance(data.get("v"), list):
            raise ValueError
        return list(data["v"])
    except Exception as exc:  # noqa: BLE001 - any decoding failure means the same thing to the caller
        raise ToolInputError(
            "cursor is not valid for this tool: pass the exact next_cursor value returned by the previous "
            "call with the same filters, or omit cursor to start from the first page"
        ) from exc
