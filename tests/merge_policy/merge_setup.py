"""Helpers of the auto-merge tests: the fix branches of the user's checkout and the policy they run under."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pull_requests.git_setup import git

IMAP = "TIMEOUT = 30\n\n\ndef login():\n    return TIMEOUT\n"
TEST_IMAP = "from worker.imap import login\n\n\ndef test_login():\n    assert login()\n"
ALLOWED = ["worker/", "tests/"]

# name -> (signature, {path: new text})
FIXES: dict[str, tuple[str, dict[str, str]]] = {
    "good": (
        "a1a1a1a1a1a1",
        {
            "worker/imap.py": IMAP.replace("30", "60"),
            "tests/test_imap.py": TEST_IMAP + "\n\ndef test_timeout():\n    assert login() == 60\n",
        },
    ),
    "pyproject": (
        "b2b2b2b2b2b2",
        {
            "worker/imap.py": IMAP.replace("30", "90"),
            "tests/test_imap.py": TEST_IMAP + "\n\ndef test_timeout():\n    assert login() == 90\n",
            "pyproject.toml": '[project]\nname = "worker"\ndependencies = ["imapclient>=3"]\n',
        },
    ),
    "no_test": ("c3c3c3c3c3c3", {"worker/imap.py": IMAP.replace("30", "45")}),
}


@dataclass
class Fix:
    branch: str
    signature: str
    head: str


@dataclass
class Checkout:
    path: Path
    fixes: dict[str, Fix]


def make_branch(repo: Path, name: str, signature: str, files: dict[str, str]) -> Fix:
    branch = f"self-improver/{signature}-{name.replace('_', '-')}"
    git(repo, "checkout", "-q", "-b", branch, "main")
    for path, text in files.items():
        (repo / path).parent.mkdir(parents=True, exist_ok=True)
        (repo / path).write_text(text)
        git(repo, "add", path)
    git(repo, "commit", "-q", "-m", f"fix: {name}")
    head = git(repo, "rev-parse", "HEAD")
    git(repo, "checkout", "-q", "main")
    return Fix(branch, signature, head)


def policy(**overrides: Any) -> dict[str, Any]:
    return {"enabled": True, "allowed_paths": ALLOWED} | overrides


@dataclass
class Verdict:
    """What insights' measure_impact returns, as far as the revert reads it."""

    verdict: str = "worse"
    reason: str = "Worse: 9 in 100 tasks before, 30 in 100 after (RR 3.33, 95% CI 1.56–7.93)."
    signature: str = "a1a1a1a1a1a1"
    pr_number: int | None = 1
    merged_at: str = "2026-02-16T03:00:00Z"
    memory_finding_id: str | None = "fnd_0123456789abcdef01234567"
