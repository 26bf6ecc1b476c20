"""The `local` provider: the branch goes to a git remote we control, the pull request is a row in pulls.db.

It lets the whole loop (fix, review, merge, verify) run without GitHub: in demos, air-gapped installs
and tests. The remote is the repo's configured `remote`, or a bare repo in `data_dir/remotes/<repo>.git`.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Literal

from ...code.repo_config import RepoConfig
from ...errors.redact import redact_secrets
from ...support.problems import NotFoundError
from .. import git
from ..models import Checks, PullRequest, StateFilter, Status
from ..records import PullRecords
from .base import PullDraft, statuses_for

PROVIDER = "local"


def utc_text(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


class LocalProvider:
    name: Literal["local"] = "local"

    def __init__(self, records: PullRecords, data_dir: Path, now: Callable[[], datetime]):
        self.records = records
        self.remotes_dir = data_dir / "remotes"
        self._now = now

    def remote_for(self, repo: RepoConfig) -> str:
        if repo.remote:
            return repo.remote
        path = self.remotes_dir / f"{repo.name}.git"
        git.ensure_bare_remote(path, repo.default_branch)
        return str(path)

    def push(self, repo: RepoConfig, branch: str) -> str:
        remote = self.remote_for(repo)
        git.push_branch(repo.path, remote, branch)
        return redact_secrets(remote, redact_emails=False)

    def create(self, draft: PullDraft, run_id: str) -> PullRequest:
        at = utc_text(self._now())
        pull = PullRequest(
            repo=draft.repo.name,
            number=0,
            title=draft.title,
            status="open",
            draft=draft.draft,
            checks="pending",
            signature=draft.signature,
            finding_id=draft.finding_id,
            url=f"local://{draft.repo.name}/pulls/{{number}}",
            head=draft.branch,
            base=draft.repo.default_branch,
            labels=draft.labels,
            created_at=at,
            updated_at=at,
        )
        return self.records.insert_local(pull, draft.body, draft.head_sha, run_id)

    def find_open_by_signature(self, repo: RepoConfig, signature: str) -> PullRequest | None:
        found = self.records.open_with_signature(PROVIDER, repo.name, signature)
        return found[0] if found else None

    def find_open_by_head(self, repo: RepoConfig, branch: str) -> PullRequest | None:
        return next(
            (p for p in self.records.page(PROVIDER, repo.name, ("open",), None, 1000) if p.head == branch),
            None,
        )

    def count_open(self, repos: list[RepoConfig]) -> int:
        return self.records.count_open(PROVIDER, [r.name for r in repos])

    def get(self, repo: RepoConfig, number: int) -> PullRequest:
        found = self.records.get(PROVIDER, repo.name, number)
        if found is None:
            raise NotFoundError(
                f"no local pull request #{number} in repo {repo.name!r}: list them with list_pull_requests"
            )
        return found

    def page(
        self, repo: RepoConfig, state: StateFilter, before_number: int | None, limit: int
    ) -> list[PullRequest]:
        return self.records.page(PROVIDER, repo.name, statuses_for(state), before_number, limit)

    # -- what a reviewer or CI would do on GitHub ----------------------------------------------------

    def set_checks(self, repo: RepoConfig, number: int, checks: Checks) -> PullRequest:
        self.get(repo, number)
        self.records.set_fields(PROVIDER, repo.name, number, checks=checks, updated_at=utc_text(self._now()))
        return self.get(repo, number)

    def set_state(self, repo: RepoConfig, number: int, state: Status) -> PullRequest:
        self.get(repo, number)
        at = utc_text(self._now())
        merged_at = at if state == "merged" else None
        self.records.set_fields(PROVIDER, repo.name, number, state=state, merged_at=merged_at, updated_at=at)
        return self.get(repo, number)

    def close(self) -> None:
        return None
