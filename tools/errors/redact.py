"""Mask secrets in text before it leaves the server: the entry points every module imports.

The detector itself (detect-secrets' plugins plus our rules) lives in `secret_detector` and loads with the
first text to mask, so that starting the server does not pay for it; after that each call goes straight
to the loaded module (a page of tasks masks fifty texts, and an import statement per call would cost more
than masking a cached text).
"""

from __future__ import annotations

from types import ModuleType
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .secret_detector import SecretMatch

MASK = "***"
_loaded: ModuleType | None = None


def _detector() -> ModuleType:
    global _loaded
    if _loaded is None:
        from . import secret_detector

        _loaded = secret_detector
    return _loaded


def redact_secrets(text: str, redact_emails: bool = True) -> str:
    """`text` with API keys, tokens, passwords, private keys (and emails unless told not to) masked."""
    if not text:
        return text
    return (_loaded or _detector()).redact_secrets(text, redact_emails)  # type: ignore[no-any-return]


def redact_each(texts: list[str | None], cut: int) -> list[str | None]:
    """`redact_secrets(text)` for each text of a list (None stays None), cut to `cut` characters with `…`
    as the last when longer: the batch form for pages."""
    return (_loaded or _detector()).redact_each(texts, cut)  # type: ignore[no-any-return]


def redact_lines(text: str, redact_emails: bool = False) -> str:
    """`redact_secrets` that keeps every line where it was (line numbers of source files stay right)."""
    return _detector().redact_lines(text, redact_emails)  # type: ignore[no-any-return]


def find_secrets(text: str) -> list[SecretMatch]:
    """The secrets `redact_secrets` masks (emails excepted), with 1-based line and column, in text order."""
    return _detector().find_secrets(text)  # type: ignore[no-any-return]


def has_private_key(text: str) -> bool:
    """Whether `text` holds a private key (the content check for files that must never be shown)."""
    return _detector().has_private_key(text)  # type: ignore[no-any-return]


def __getattr__(name: str) -> object:
    if name == "SecretMatch":
        return _detector().SecretMatch
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
