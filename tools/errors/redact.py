"""Mask secrets in text before it leaves the server: the entry points every module imports.

The detector itself (detect-secrets' plugins plus our rules) lives in `secret_detector` and loads with the
first text to mask, so that starting the server does not pay for it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .secret_detector import SecretMatch

MASK = "***"


def redact_secrets(text: str, redact_emails: bool = True) -> str:
    """`text` with API keys, tokens, passwords, private keys (and emails unless told not to) masked."""
    if not text:
        return text
    from .secret_detector import redact_secrets as detect_and_mask

    return detect_and_mask(text, redact_emails)


def redact_lines(text: str, redact_emails: bool = False) -> str:
    """`redact_secrets` that keeps every line where it was (line numbers of source files stay right)."""
    from .secret_detector import redact_lines as mask_lines

    return mask_lines(text, redact_emails)


def find_secrets(text: str) -> list[SecretMatch]:
    """The secrets `redact_secrets` masks (emails excepted), with 1-based line and column, in text order."""
    from .secret_detector import find_secrets as find

    return find(text)


def has_private_key(text: str) -> bool:
    """Whether `text` holds a private key (the content check for files that must never be shown)."""
    from .secret_detector import has_private_key as holds_key

    return holds_key(text)


def __getattr__(name: str) -> object:
    if name == "SecretMatch":
        from .secret_detector import SecretMatch

        return SecretMatch
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
