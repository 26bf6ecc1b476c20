"""The `local` provider: the branch goes to a git remote we control, the pull request is a row in pulls.db.

It lets the whole loop (fix, review, merge, verify) run without GitHub: in demos, air-gapped installs
and tests. The remote is the repo's configured `remote`, or a bare repo in `data_dir/remotes/<repo>.git`.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Literal

from ...code.repo_config import RepoConfig
from ...support.clock import iso_z
from ...support.git_runner import redact_remote
from ...support.problems import NotFoundError, ToolInputError
from .. import git, scratch_repo
from ..ledger import PullLedger
from ..models import Checks, PullRequest, StateFilter, Status
from ..records import PullRecords
from .base import MergeOutcome, MergeSnapshot, PullDraft, statuses_for

PROVIDER = "local"


class LocalProvider:
    name: Literal["local"] = "local"
    keeps_own_records = True  # a row of pulls.db *is* the pull request

    def __init__(self, records: PullRecords, data_dir: Path, now: Callable[[], datetime]):
        self.records = records
        self.ledger = PullLedger(records.path)  # its comments
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
        return redact_remote(remote)

    def create(self, draft: PullDraft, run_id: str) -> PullRequest:
        url = f"local://{draft.repo.name}/pulls/{{number}}"
        pull = draft.opened(iso_z(self._now()), "pending", url)
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
        self.records.set_fields(PROVIDER, repo.name, number, checks=checks, updated_at=iso_z(self._now()))
        return self.get(repo, number)

    def set_state(self, repo: RepoConfig, number: int, state: Status) -> PullRequest:
        self.get(repo, number)
        at = iso_z(self._now())
        merged_at = at if state == "merged" else None
        self.records.set_fields(PROVIDER, repo.name, number, state=state, merged_at=merged_at, updated_at=at)
        return self.get(repo, number)

    def comment(self, repo: RepoConfig, number: int, body: str) -> None:
        self.get(repo, number)
        self.ledger.add_comment(PROVIDER, repo.name, number, body, iso_z(self._now()))

    def comments(self, repo: RepoConfig, number: int) -> list[str]:
        return self.ledger.comments(PROVIDER, repo.name, number)

    def close(self) -> None:
        return None

    # -- merging: the remote's default branch moves, built in a scratch repository, never the checkout --

    def _scratch(self, repo: RepoConfig) -> Path:
        return scratch_repo.scratch_repo(self.remotes_dir.parent, repo.name)

    def _fetch_base(self, scratch: Path, repo: RepoConfig, remote: str, name: str) -> tuple[str, str | None]:
        """The remote's default branch, or the user's local one when the remote has none yet (read only)."""
        found = scratch_repo.fetch_branch(scratch, remote, repo.default_branch, name)
        if found is not None:
            return found, None
        local = scratch_repo.fetch_branch(scratch, repo.path, repo.default_branch, f"{name}-local")
        if local is None:
            raise NotFoundError(
                f"the default branch {repo.default_branch!r} exists neither on the remote nor in {repo.path}: "
                "set default_branch in the repo's [[repos]] table"
            )
        return (
            local,
            f"the remote had no {repo.default_branch!r} yet: it starts from the local one ({local[:12]})",
        )

    def merge_snapshot(self, repo: RepoConfig, number: int) -> MergeSnapshot:
        pull = self.get(repo, number)
        recorded = self.records.head_sha(PROVIDER, repo.name, number)
        if pull.status != "open":
            return MergeSnapshot(pull, recorded, notes=[f"it is {pull.status}"], diff_read=False)
        remote, scratch = self.remote_for(repo), self._scratch(repo)
        head = scratch_repo.fetch_branch(scratch, remote, pull.head, f"pulls/{number}/head")
        if head is None:
            raise NotFoundError(
                f"branch {pull.head!r} of local pull request #{number} is not on the remote "
                f"{redact_remote(remote)} any more: open the pull request again"
            )
        base, base_note = self._fetch_base(scratch, repo, remote, f"pulls/{number}/base")
        notes = [base_note] if base_note else []
        if recorded and recorded != head:
            pull = pull.model_copy(update={"checks": "pending"})
            notes.append(f"checks were recorded for {recorded[:12]}, the branch is now at {head[:12]}")
        return MergeSnapshot(
            pull,
            head,
            scratch_repo.changed_files(scratch, base, head),
            mergeable=scratch_repo.merge_tree(scratch, base, head) is not None,
            notes=notes,
        )

    def merge(self, repo: RepoConfig, snapshot: MergeSnapshot, title: str, message: str) -> MergeOutcome:
        """A merge commit of the evaluated head onto the remote's default branch, pushed without force."""
        number = snapshot.pull.number
        remote, scratch = self.remote_for(repo), self._scratch(repo)
        head = scratch_repo.fetch_branch(scratch, remote, snapshot.pull.head, f"pulls/{number}/head")
        if head is None or head != snapshot.head_sha:
            raise ToolInputError(
                f"branch {snapshot.pull.head!r} moved while the merge was prepared: nothing was merged; call "
                "merge_pull_request again to evaluate the new head"
            )
        before = scratch_repo.fetch_branch(scratch, remote, repo.default_branch, f"pulls/{number}/base")
        base, note = (
            (before, None) if before else self._fetch_base(scratch, repo, remote, f"pulls/{number}/base")
        )
        commit = scratch_repo.merge_commit(scratch, base, head, message)
        scratch_repo.push_commit(scratch, remote, commit, repo.default_branch)
        self.set_state(repo, number, "merged")
        return MergeOutcome(before_sha=before, after_sha=commit, method="merge", note=note)

    def git_remote(self, repo: RepoConfig) -> tuple[str, dict[str, str]]:
        return self.remote_for(repo), {}
