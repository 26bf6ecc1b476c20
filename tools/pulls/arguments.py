"""The checks on `open_pull_request`'s arguments, made before anything touches git or the network."""

from __future__ import annotations

import asyncio
import re

from ..code.repo_config import RepoConfig
from ..support.problems import NotFoundError, ToolInputError
from . import git
from .marker import BRANCH_PREFIX, LABEL

SIGNATURE_RE = re.compile(r"^[0-9a-f]{6,64}$")
LABEL_RE = re.compile(r"^[^,\s][^,]{0,49}$")
MAX_TITLE, MAX_BODY, MAX_LABELS = 256, 60_000, 10


def check_signature(signature: str) -> str:
    value = (signature or "").strip()
    if not SIGNATURE_RE.match(value):
        raise ToolInputError(
            f"signature {signature!r} is not an error signature: send the 12 hex characters from top_errors, "
            "e.g. '3b8fe4199281'"
        )
    return value


def check_text(title: str, body: str, labels: list[str]) -> tuple[str, str, list[str]]:
    title = (title or "").strip()
    if not title or len(title) > MAX_TITLE or "\n" in title:
        raise ToolInputError(
            f"title must be one line of 1 to {MAX_TITLE} characters, e.g. 'Fix IMAP login timeout'"
        )
    body = (body or "").strip()
    if not body:
        raise ToolInputError("body is empty: say what the fix changes and why (evidence is appended for you)")
    if len(body) > 50_000:
        raise ToolInputError(f"body is too long ({len(body)} characters): keep it under 50,000")
    bad = [label for label in labels if not LABEL_RE.match(label)]
    if bad or len(labels) > MAX_LABELS:
        raise ToolInputError(
            f"labels must be at most {MAX_LABELS} names of 1 to 50 characters without commas; refused: {bad}"
        )
    return title, body, [LABEL, *dict.fromkeys(label for label in labels if label != LABEL)]


def check_branch(cfg: RepoConfig, branch: str) -> None:
    git.check_branch_name(branch)
    if branch == cfg.default_branch:
        raise ToolInputError(
            f"branch {branch!r} is the default branch of {cfg.name!r}: open pull requests from the fix branch"
        )
    if not branch.startswith(BRANCH_PREFIX) or len(branch) <= len(BRANCH_PREFIX):
        raise ToolInputError(
            f"branch {branch!r} is not a self-improver branch: fixes live on 'self-improver/<signature>-<slug>' "
            "branches; apply the fix with the code tools and pass the branch they return"
        )


async def branch_commit(cfg: RepoConfig, branch: str, what: str) -> str:
    sha = await asyncio.to_thread(git.commit_of, cfg.path, branch)
    if sha is None:
        hint = (
            "apply the fix first and pass the branch it was committed on"
            if what == "the fix branch"
            else "set default_branch in the repo's [[repos]] table"
        )
        raise NotFoundError(f"{what} {branch!r} does not exist in repo {cfg.name!r} ({cfg.path}): {hint}")
    return sha
