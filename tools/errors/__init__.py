"""The error-signature engine: parse tracebacks, parameterise messages, fingerprint and group errors.

Pure domain code (no database, no server). Entry points:

* `analyze_error(message, traceback=None, error_type=None, source_root=None) -> ErrorSignature`:
  stateless signature of one error.
* `cluster_messages(messages) -> list[str]`: one signature per message for a batch.
* `SignatureClusterer`: incremental grouping of a stream (`.add(message, traceback=None, error_type=None)`);
  `cluster_errors(errors, source_root=None)`: final `ErrorSignature`s for a batch of
  (message, traceback, error_type).
* `redact_secrets(text, redact_emails=True)` (in `redact`), `run_cluster_cli(argv)` (in `cli`).
"""

import importlib
from typing import Any

# Eager: `parameterize` is both a submodule and the function exported under that name (and it is light).
from .parameterize import mask_tokens, parameterize

# Loaded on first use (PEP 562): importing one submodule, such as `results`, does not load the engine.
_EXPORTS = {
    "analyze_error": "analyze",
    "analyze_message": "analyze",
    "PendingMessage": "clusterer",
    "SignatureClusterer": "clusterer",
    "cluster_errors": "clusterer",
    "cluster_messages": "clusterer",
    "ErrorSignature": "models",
    "ExceptionRecord": "models",
    "Frame": "models",
    "redact_secrets": "redact",
    "TemplateMiner": "template_miner",
    "parse_traceback": "traceback_parser",
}


def __getattr__(name: str) -> Any:
    if name not in _EXPORTS:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f".{_EXPORTS[name]}", __name__), name)


__all__ = [
    "ErrorSignature",
    "ExceptionRecord",
    "Frame",
    "PendingMessage",
    "SignatureClusterer",
    "TemplateMiner",
    "analyze_error",
    "analyze_message",
    "cluster_errors",
    "cluster_messages",
    "mask_tokens",
    "parameterize",
    "parse_traceback",
    "redact_secrets",
]
