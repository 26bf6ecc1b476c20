"""Validate a finding's fields and map them to chroma metadata and back.

chroma stores only non-null scalars, so the known keys are omitted when null and restored as null;
the finding's own fields (source, confidence, timestamp) live under reserved `_` keys next to the
caller's metadata, which therefore may not start with `_`.

Content and string metadata pass through the error engine's secret redaction before they are stored
(and so before they are echoed back): a token the host put in a finding is kept as `***`.
"""

from __future__ import annotations

import math
import re
from datetime import UTC, date, datetime
from typing import Any

from ..errors.redact import redact_secrets
from ..support.problems import ToolInputError
from .models import Finding, Scalar

KNOWN_KEYS: dict[str, tuple[type, ...]] = {
    "error_type": (str,),
    "signature": (str,),
    "occurrences": (int,),
    "pr_number": (int,),
    "pr_status": (str,),
    "repo": (str,),
}
KEY_PATTERN = re.compile(r"^[A-Za-z][A-Za-z0-9_.-]{0,63}$")
MAX_KEYS, MAX_VALUE_CHARS, MAX_CONTENT_CHARS, MAX_SOURCE_CHARS = 50, 2_000, 20_000, 200
SOURCE, CONFIDENCE, TIMESTAMP, EPOCH, NIGHT = "_source", "_confidence", "_timestamp", "_ts", "_night"
RESERVED = (SOURCE, CONFIDENCE, TIMESTAMP, EPOCH, NIGHT)
# Finding fields a `where` filter may name; they map onto the reserved keys.
FIELD_KEYS = {"source": SOURCE, "confidence": CONFIDENCE}


def parse_time(value: str, argument: str) -> datetime:
    """An ISO date or date-time as an aware UTC datetime; naive values are taken as UTC."""
    text = value.strip()
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError:
        try:
            moment = datetime.combine(date.fromisoformat(text), datetime.min.time())
        except ValueError as exc:
            raise ToolInputError(
                f"{argument} {value!r} is not an ISO date or time: send e.g. '2026-02-15' or '2026-02-15T03:00:00Z'"
            ) from exc
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def check_content(content: str) -> str:
    text = (content or "").strip()
    if not text:
        raise ToolInputError("content is empty: describe what was found, what was tried and the evidence")
    if len(text) > MAX_CONTENT_CHARS:
        raise ToolInputError(
            f"content has {len(text)} characters, more than {MAX_CONTENT_CHARS}: summarise it and keep the "
            "key evidence (error text, numbers, PR)"
        )
    return redact_secrets(text, redact_emails=False)


def check_confidence(confidence: Any) -> float:
    if (
        isinstance(confidence, bool)
        or not isinstance(confidence, int | float)
        or not math.isfinite(confidence)
    ):
        raise ToolInputError(f"confidence must be a number from 0 to 1, got {confidence!r}")
    if not 0.0 <= float(confidence) <= 1.0:
        raise ToolInputError(
            f"confidence {confidence} is out of range: send a number from 0 (a guess) to 1 (certain)"
        )
    return float(confidence)


def check_source(source: str) -> str:
    text = (source or "").strip()
    if not text or len(text) > MAX_SOURCE_CHARS:
        raise ToolInputError(f"source must be a non-empty name of at most {MAX_SOURCE_CHARS} characters")
    return text


def check_value(key: str, value: Any) -> Scalar:
    if isinstance(value, dict | list | tuple | set):
        kind = "an object" if isinstance(value, dict) else "a list"
        raise ToolInputError(
            f"metadata[{key!r}] is {kind}, but metadata values must be scalars (string, number, boolean or null): "
            f"flatten it into separate keys, e.g. {key}_count, or put it in content"
        )
    if value is not None and not isinstance(value, str | int | float | bool):
        raise ToolInputError(
            f"metadata[{key!r}] has type {type(value).__name__}: send a string, number, boolean or null"
        )
    if isinstance(value, float) and not math.isfinite(value):
        raise ToolInputError(f"metadata[{key!r}] is {value}: send a finite number")
    if isinstance(value, str) and len(value) > MAX_VALUE_CHARS:
        raise ToolInputError(
            f"metadata[{key!r}] is longer than {MAX_VALUE_CHARS} characters: put long text in content"
        )
    expected = KNOWN_KEYS.get(key)
    if expected and value is not None and (isinstance(value, bool) or not isinstance(value, expected)):
        wanted = "an integer" if expected == (int,) else "a string"
        shown = redact_secrets(repr(value), redact_emails=False)
        raise ToolInputError(f"metadata[{key!r}] must be {wanted} or null, got {shown}")
    if isinstance(value, str):
        return redact_secrets(value, redact_emails=False)
    return value  # type: ignore[no-any-return]


def check_metadata(metadata: Any) -> dict[str, Scalar]:
    """The caller's metadata, validated key by key; every error names the key and the fix."""
    if metadata is None:
        return {}
    if not isinstance(metadata, dict):
        raise ToolInputError(
            'metadata must be an object of scalar values, e.g. {"signature": "...", "repo": "..."}'
        )
    if len(metadata) > MAX_KEYS:
        raise ToolInputError(
            f"metadata has {len(metadata)} keys, more than {MAX_KEYS}: keep the ones worth filtering on"
        )
    checked: dict[str, Scalar] = {}
    for key, value in metadata.items():
        if not isinstance(key, str) or not KEY_PATTERN.match(key):
            raise ToolInputError(
                f"metadata key {key!r} is not allowed: keys start with a letter and use letters, digits, '_', '.', "
                "'-' (at most 64 characters); keys starting with '_' are reserved"
            )
        checked[key] = check_value(key, value)
    return checked


def full_metadata(metadata: dict[str, Scalar]) -> dict[str, Scalar]:
    """The known keys first (null when absent), then the extra keys in the caller's order."""
    merged: dict[str, Scalar] = {key: metadata.get(key) for key in KNOWN_KEYS}
    merged.update({k: v for k, v in metadata.items() if k not in KNOWN_KEYS})
    return merged


def to_chroma(finding: Finding) -> dict[str, str | int | float | bool]:
    moment = parse_time(finding.timestamp, "timestamp")
    stored: dict[str, str | int | float | bool] = {k: v for k, v in finding.metadata.items() if v is not None}
    stored.update(
        {
            SOURCE: finding.source,
            CONFIDENCE: finding.confidence,
            TIMESTAMP: finding.timestamp,
            EPOCH: moment.timestamp(),
            NIGHT: moment.date().isoformat(),
        }
    )
    return stored


def from_chroma(finding_id: str, document: str | None, stored: dict[str, Any] | None) -> Finding:
    stored = dict(stored or {})
    metadata = full_metadata({k: v for k, v in stored.items() if not k.startswith("_")})
    return Finding(
        id=finding_id,
        content=document or "",
        source=str(stored.get(SOURCE, "unknown")),
        confidence=float(stored.get(CONFIDENCE, 0.0)),
        timestamp=str(stored.get(TIMESTAMP, "")),
        metadata=metadata,
    )


def embedding_text(finding: Finding) -> str:
    """What gets embedded: the error type helps, the signature (a hash) would only add noise."""
    error_type = finding.metadata.get("error_type")
    return f"{error_type}: {finding.content}" if error_type else finding.content
