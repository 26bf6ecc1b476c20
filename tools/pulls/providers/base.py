"""The interface every pull-request provider implements, so the service's rules (dedup, caps, scans,
the merge policy) exist once. To add a provider: a class with these members in its own module, and a
factory for it in `registry.py`.

Methods are synchronous (git and HTTP clients block); the service calls them in worker threads. The
service never branches on `name`: what differs between providers is asked through members here.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal, Protocol

from ...code.repo_config import RepoConfig
from ..models import Checks, PullRequest, StateFilter


@dataclass(frozen=True)
class FileChange:
    """One changed path of a pull request (a rename is two: the old path removed, the new one added)."""

    path: str
    additions: int = 0
    deletions: int = 0
    binary: bool = False

    @property
    def changed_lines(self) -> int:
        return self.additions + self.deletions


@dataclass(frozen=True)
class MergeSnapshot:
    """What a provider read about a pull request just before deciding: the exact head that would merge."""

    pull: PullRequest
    head_sha: str | None
    files: list[FileChange] = field(default_factory=list)
    files_truncated: bool = False
    mergeable: bool | None = None  # None: not known (GitHub still computing, or not computed)
    notes: list[str] = field(default_factory=list)
    diff_read: bool = True  # False: not open, so its files were not read


@dataclass(frozen=True)
class MergeOutcome:
    before_sha: str | None  # the default branch before the merge (None: it did not exist on the remote)
    after_sha: str  # the default branch after: the merge (or squash) commit
    method: Literal["merge", "squash"]
    note: str | None = None


@dataclass(frozen=True)
class PullDraft:
    """A pull request about to be created: checked, scanned, with its final body."""

    repo: RepoConfig
    branch: str
    head_sha: str
    title: str
    body: str
    signature: str
    finding_id: str | None
    draft: bool
    labels: list[str]

    def opened(self, at: str, checks: Checks, url: str) -> PullRequest:
        """The pull request this draft opens at `at`, before it has a number."""
        return PullRequest(
            repo=self.repo.name,
            number=0,
            title=self.title,
            status="open",
            draft=self.draft,
            checks=checks,
            signature=self.signature,
            finding_id=self.finding_id,
            url=url,
            head=self.branch,
            base=self.repo.default_branch,
            labels=self.labels,
            created_at=at,
            updated_at=at,
        )


class PullProvider(Protocol):
    @property
    def name(self) -> str:
        """Its registry name: recorded with each pull request in pulls.db, returned as `provider`."""

    @property
    def keeps_own_records(self) -> bool:
        """True when its pull requests *are* rows of pulls.db (local): the service then neither records
        what it created or merged nor refreshes those rows from it. A forge provider says False."""

    def find_open_by_signature(self, repo: RepoConfig, signature: str) -> PullRequest | None:
        """An open self-improver pull request whose marker names `signature`."""

    def find_open_by_head(self, repo: RepoConfig, branch: str) -> PullRequest | None:
        """An open pull request from `branch` (there can be only one)."""

    def count_open(self, repos: list[RepoConfig]) -> int:
        """Open self-improver pull requests across `repos`."""

    def push(self, repo: RepoConfig, branch: str) -> str:
        """Publish the branch; returns where it went (credentials masked)."""

    def create(self, draft: PullDraft, run_id: str) -> PullRequest:
        """Open the pull request with the draft's labels; never creates a second one on retry."""

    def get(self, repo: RepoConfig, number: int) -> PullRequest:
        """The pull request's current state and checks; NotFoundError when there is none."""

    def page(
        self, repo: RepoConfig, state: StateFilter, before_number: int | None, limit: int
    ) -> list[PullRequest]:
        """Self-improver pull requests, newest first, numbered below `before_number`."""

    def comment(self, repo: RepoConfig, number: int, body: str) -> None:
        """Add a comment to the pull request's conversation (a verdict); never posts it twice on retry."""

    def close(self) -> None:
        """Release connections."""

    # -- merging (merger.py): only ever after the auto-merge policy allowed it -----------------

    def merge_snapshot(self, repo: RepoConfig, number: int) -> MergeSnapshot:
        """The pull request, its head commit, changed files and mergeability, read together."""

    def merge(self, repo: RepoConfig, snapshot: MergeSnapshot, title: str, message: str) -> MergeOutcome:
        """Merge exactly `snapshot.head_sha` into the default branch; refuses when the head moved."""

    def git_remote(self, repo: RepoConfig) -> tuple[str, dict[str, str]]:
        """The remote git URL or path of `repo`, and the environment git needs to reach it."""


def statuses_for(state: StateFilter) -> tuple[str, ...]:
    return ("open", "merged", "closed") if state == "all" else (state,)
