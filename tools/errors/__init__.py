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

from .analyze import analyze_error, analyze_message
from .clusterer import PendingMessage, SignatureClusterer, cluster_errors, cluster_messages
from .models import ErrorSignature, ExceptionRecord, Frame
from .parameterize import mask_tokens, parameterize
from .redact import redact_secrets
from .template_miner import TemplateMiner
from .traceback_parser import parse_traceback

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
