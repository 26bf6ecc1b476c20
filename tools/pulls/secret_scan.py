"""Refuse to publish secrets: scan what a pull request adds (diff and text) before anything is pushed.

Uses the same detector as redaction (`find_secrets`: detect-secrets' plugins plus our rules), made
stricter where a finding depends on context rather than on a token format. An assignment such as
`password = os.environ["PW"]` names a secret but does not contain one, so key=value findings count
only when the value is a literal: quoted in code, or any plain value in configuration files
(`.env`, `.npmrc`, `.ini`, YAML, ...) and in the pull request's text. Random-looking strings pass
detect-secrets' false-positive heuristics first. Findings say where and what kind, never the secret.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import PurePosixPath

from detect_secrets.filters import heuristic

from ..errors.redact import SecretMatch, find_secrets
from ..support.problems import ToolInputError

_HUNK_RE = re.compile(r"^@@ -\d+(?:,\d+)? \+(\d+)(?:,\d+)? @@")
_PLACEHOLDER_WORDS = (
    "example",
    "placeholder",
    "changeme",
    "change-me",
    "change_me",
    "your",
    "dummy",
    "xxxx",
    "redacted",
    "sample",
    "notreal",
    "not-a-real",
    "not_a_real",
)
_CODE_CHARS = set("()[]{}$%`")  # in an unquoted value: an expression, call or template, not a literal
_TEMPLATE_MARKS = ("${", "{{", "%(", "%s", "{}")
_KEY_WORD_RE = re.compile(r"token|passw|secret|api[_\-]?key|credential")
_NAME_LIKE_RE = re.compile(r"[a-z]+(?:[_\-][a-z]+)*")
_FORMAT_FIELD_RE = re.compile(r"\{[A-Za-z_]\w*\}")  # `f"...{token}"`, `"{s}".format(...)`: filled in later
# Files where an unquoted right-hand side is an expression (a variable), not a literal value.
_CODE_SUFFIXES = {
    ".py",
    ".pyi",
    ".js",
    ".jsx",
    ".mjs",
    ".cjs",
    ".ts",
    ".tsx",
    ".go",
    ".java",
    ".kt",
    ".kts",
    ".scala",
    ".rb",
    ".php",
    ".cs",
    ".c",
    ".h",
    ".cc",
    ".cpp",
    ".hpp",
    ".m",
    ".swift",
    ".rs",
    ".lua",
    ".dart",
}


@dataclass(frozen=True)
class SecretHit:
    where: str  # "path/to/file.py:12" or "pull request body:40"
    kind: str

    def __str__(self) -> str:
        return f"{self.where} ({self.kind})"


def _is_code(where: str) -> bool:
    return PurePosixPath(where).suffix.lower() in _CODE_SUFFIXES


def _literal(value: str, quoted: bool, in_code: bool, key: str) -> bool:
    """A value given to a secret-named key that could be a real credential, not code or a placeholder."""
    lowered = value.lower()
    if any(word in lowered for word in _PLACEHOLDER_WORDS) or any(mark in value for mark in _TEMPLATE_MARKS):
        return False
    if _FORMAT_FIELD_RE.search(value):
        return False
    if (
        heuristic.is_templated_secret(value)
        or heuristic.is_prefixed_with_dollar_sign(value)
        or heuristic.is_sequential_string(value)
        or heuristic.is_not_alphanumeric_string(value)
        or len(set(value)) < 3
        or any(c.isspace() for c in value)  # prose ("GitHub token"), not a credential
        or lowered in key.lower()  # `"password": "password"`
        or (_NAME_LIKE_RE.fullmatch(value) and _KEY_WORD_RE.search(value))  # "bench-token": a name
    ):
        return False
    if quoted:
        return len(value) >= 6  # a quoted literal is the value, also as a call argument
    if in_code:
        return False  # `password = settings.password`: a name, not a value
    return not set(value) & _CODE_CHARS and len(value) >= 4


def _real(text: str, match: SecretMatch, where: str) -> bool:
    start, end = match.span
    value = text[start:end]
    if match.category == "format":
        return True
    line_start = text.rfind("\n", 0, start) + 1
    line_end = text.find("\n", end)
    line = text[line_start : line_end if line_end >= 0 else len(text)]
    if match.category == "entropy":
        lowered = value.lower()
        return not (
            any(word in lowered for word in _PLACEHOLDER_WORDS)
            or heuristic.is_likely_id_string(value, line)
            or heuristic.is_lock_file(where)
        )
    key = match.kind.partition("`")[2].rstrip("`")
    return _literal(value, match.quoted, _is_code(where), key)


def scan_text(text: str, where: str) -> list[SecretHit]:
    """Secrets in `text` (a file's content or a pull request's title/body), by line."""
    return [SecretHit(f"{where}:{m.line}", m.kind) for m in find_secrets(text) if _real(text, m, where)]


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
            hits += [
                SecretHit(f"{path}:{line_no}", m.kind) for m in find_secrets(added) if _real(added, m, path)
            ]
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
