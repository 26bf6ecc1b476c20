"""Refuse to publish secrets: scan what a pull request adds (diff and text) before anything is pushed.

Uses the redaction patterns of the error engine (`find_secrets`), made stricter for code: an
assignment such as `password = os.environ["PW"]` names a secret but does not contain one, so
key=value matches count only when the value is a literal that looks like a credential. Findings say
where and what kind, never the secret itself.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from ..errors.redact import SecretMatch, find_secrets
from ..support.problems import ToolInputError

_HUNK_RE = re.compile(r"^@@ -\d+(?:,\d+)? \+(\d+)(?:,\d+)? @@")
_ASSIGNMENT_KINDS = ("value of `", "authorization header value")
_PLACEHOLDER_WORDS = ("example", "placeholder", "changeme", "change-me", "your", "dummy", "xxxx", "redacted")
_CODE_CHARS = set("()[]{}.$%`")  # in an unquoted value: an expression, attribute or call, not a literal
_TEMPLATE_MARKS = ("${", "{{", "%(", "%s", "{}")


@dataclass(frozen=True)
class SecretHit:
    where: str  # "path/to/file.py:12" or "pull request body:40"
    kind: str

    def __str__(self) -> str:
        return f"{self.where} ({self.kind})"


def _credential_like(value: str, quoted: bool) -> bool:
    """A literal that could be a real credential, not code, a type name or a placeholder."""
    lowered = value.lower()
    if any(word in lowered for word in _PLACEHOLDER_WORDS) or any(mark in value for mark in _TEMPLATE_MARKS):
        return False
    if quoted:
        return len(value) >= 8
    return (
        not set(value) & _CODE_CHARS
        and len(value) >= 12
        and any(c.isdigit() for c in value)
        and any(c.isalpha() for c in value)
    )


def _real(text: str, match: SecretMatch) -> bool:
    if not match.kind.startswith(_ASSIGNMENT_KINDS):
        return True
    start, end = match.span
    return _credential_like(text[start:end], match.quoted)


def scan_text(text: str, where: str) -> list[SecretHit]:
    return [SecretHit(f"{where}:{m.line}", m.kind) for m in find_secrets(text) if _real(text, m)]


def scan_diff(diff: str) -> list[SecretHit]:
    """Secrets on the lines a unified diff adds, located by file and line in the new version."""
    hits: list[SecretHit] = []
    path: str | None = None
    line_no = 0
    for raw in diff.splitlines():
        if raw.startswith("+++ "):
            target = raw[4:].strip().strip('"')
            path = None if target == "/dev/null" else target.removeprefix("b/")
        elif raw.startswith("@@"):
            found = _HUNK_RE.match(raw)
            line_no = int(found.group(1)) if found else 0
        elif raw.startswith("+") and path is not None:
            added = raw[1:]
            hits += [SecretHit(f"{path}:{line_no}", m.kind) for m in find_secrets(added) if _real(added, m)]
            line_no += 1
        elif raw.startswith(" "):
            line_no += 1
    return hits


def refuse_if_secrets(hits: list[SecretHit]) -> None:
    if not hits:
        return
    shown = "; ".join(str(h) for h in hits[:10])
    more = f" and {len(hits) - 10} more" if len(hits) > 10 else ""
    raise ToolInputError(
        f"refused: the pull request would publish what looks like a secret at {shown}{more}. Nothing was "
        "pushed. Remove it from the branch (read it from configuration or the environment instead) and "
        "from the title/body, commit, then call open_pull_request again"
    )
