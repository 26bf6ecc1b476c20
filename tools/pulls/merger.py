"""Acting on the auto-merge policy: merge a pull request the policy allows, and open a revert pull
request for one we merged whose impact verdict is worse. Every attempt is a row of the merge audit.

`Merger` is synchronous and gets its collaborators handed in (records, audit, provider lookup, clock,
data dir, run id); `PullRequestService` runs each call in one worker thread under its lock, so merges,
reverts and opens never interleave. What needs the event loop afterwards (syncing the new state into
memory) the service does itself.

Merge: read a snapshot through the provider, evaluate `merge_policy.evaluate_merge_policy`, and only
then merge exactly the head it evaluated (GitHub: squash with `sha=<head>`; local: a merge commit built
in the scratch repository, `scratch_repo.py`). Revert: only after a `worse` verdict and only for a merge
the audit shows we made; `self-improver/revert-<n>` is built from the remote's default branch in a
worktree of the scratch repository and pushed without force.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from functools import partial
from pathlib import Path
from typing import Any, Protocol

from pydantic import BaseModel, Field

from ..code.repo_config import RepoConfig
from ..support.clock import iso_z
from ..support.problems import ToolInputError, UnavailableError
from . import git, scratch_repo
from .marker import BRANCH_PREFIX, LABEL, marker
from .merge_audit import Action, MergeAudit, MergeAuditEntry
from .merge_config import AutoMergePolicy
from .merge_policy import PolicyEvaluation, PullFacts, evaluate_merge_policy
from .models import OpenedPullRequest, PullRequest
from .providers.base import PullDraft, PullProvider
from .records import PullRecords

log = logging.getLogger(__name__)

REVERT_LABEL = "revert"


class MergeResult(BaseModel):
    repo: str
    number: int
    provider: str
    merged: bool = Field(description="True only when the default branch now contains the change.")
    evaluation: PolicyEvaluation
    pull_request: PullRequest
    head_sha: str | None = Field(description="Evaluated (and merged) head.")
    default_branch: str
    before_sha: str | None = Field(description="Default branch before; null: not merged.")
    merge_commit: str | None = Field(description="Default branch after; null: not merged.")
    audit: MergeAuditEntry = Field(description="This attempt's audit row.")
    dry_run: bool = False
    history: list[MergeAuditEntry] = Field(description="Earlier audit rows, newest first.")
    note: str | None = None


class VerdictLike(Protocol):
    """What the revert needs of a verdict; insights' ImpactResult has it all."""

    @property
    def verdict(self) -> str: ...

    @property
    def reason(self) -> str: ...

    @property
    def signature(self) -> str: ...

    @property
    def pr_number(self) -> int | None: ...

    @property
    def merged_at(self) -> str: ...

    @property
    def memory_finding_id(self) -> str | None: ...


def revert_branch(number: int) -> str:
    return f"{BRANCH_PREFIX}revert-{number}"


@dataclass
class Merger:
    records: PullRecords
    audit: MergeAudit
    provider_for: Callable[[RepoConfig], PullProvider]
    now: Callable[[], datetime]
    data_dir: Path  # the scratch repositories live under it
    run_id: str

    # -- merge ---------------------------------------------------------------------------------------

    def merge(
        self, cfg: RepoConfig, number: int, policy: AutoMergePolicy, actor: str, dry_run: bool = False
    ) -> MergeResult:
        """Evaluate the policy on the pull request as it is now; merge only when every rule passes.

        A refusal is a result (merged=false, the evaluation), not an error, and is audited like a merge.
        Errors reading or merging are audited as 'failed' and raised. `dry_run`: evaluate and audit
        (outcome 'dry_run'), merge nothing.
        """
        provider = self.provider_for(cfg)
        actor = (actor or "").strip()[:200] or "self-improver"
        record = self._recorder("merge", actor, provider, cfg, number, cfg.default_branch)
        history = self.audit.entries(repo=cfg.name, number=number, provider=provider.name, limit=10)
        try:
            snapshot = provider.merge_snapshot(cfg, number)
        except (ToolInputError, UnavailableError) as exc:
            record(outcome="failed", detail=f"not evaluated: {exc}")
            raise
        evaluation = evaluate_merge_policy(policy, PullFacts.from_snapshot(snapshot, cfg.default_branch))
        pull = snapshot.pull

        def result(entry: MergeAuditEntry, **values: Any) -> MergeResult:
            return MergeResult(
                repo=cfg.name,
                number=number,
                provider=provider.name,
                evaluation=evaluation,
                head_sha=snapshot.head_sha,
                default_branch=cfg.default_branch,
                audit=entry,
                history=history,
                dry_run=dry_run,
                **values,
            )

        def not_merged(entry: MergeAuditEntry, note: str) -> MergeResult:
            return result(
                entry, merged=False, pull_request=pull, before_sha=None, merge_commit=None, note=note
            )

        if not evaluation.allowed:
            failed = [f"{r.rule}: {r.detail}" for r in evaluation.rules if not r.passed]
            entry = record(
                outcome="refused",
                head_sha=snapshot.head_sha,
                failed_rules=failed,
                detail=f"not merged: {len(failed)} rule(s) failed",
            )
            log.info("refused to merge #%d in %s: %s", number, cfg.name, ", ".join(evaluation.failed))
            return not_merged(entry, f"not merged: {', '.join(evaluation.failed)} failed; nothing changed")

        if dry_run:
            entry = record(
                outcome="dry_run", head_sha=snapshot.head_sha, detail="dry run: every rule passed, not merged"
            )
            return not_merged(
                entry, f"dry run: every rule passed, so {snapshot.head_sha} would be merged; nothing changed"
            )
        title = f"{pull.title} (#{number})"
        message = (
            f"{title}\n\nMerged by self-improver's auto-merge policy at the request of {actor}: "
            f"{len(snapshot.files)} file(s), {sum(f.changed_lines for f in snapshot.files)} line(s), "
            f"checks passing, a test changed.\nPull request: {pull.url}\n"
        )
        try:
            outcome = provider.merge(cfg, snapshot, title, message)
        except (ToolInputError, UnavailableError) as exc:
            record(outcome="failed", head_sha=snapshot.head_sha, detail=f"merge failed: {exc}")
            raise
        entry = record(
            outcome="merged",
            head_sha=snapshot.head_sha,
            before_sha=outcome.before_sha,
            after_sha=outcome.after_sha,
            detail=f"{outcome.method} of {snapshot.head_sha} into {cfg.default_branch}"
            + (f"; {outcome.note}" if outcome.note else ""),
        )
        log.info("merged #%d in %s as %s", number, cfg.name, outcome.after_sha)
        now = provider.get(cfg, number)
        if not provider.keeps_own_records:
            self.records.record(provider.name, now)  # the sync then writes pr_status='merged' to memory
        return result(
            entry,
            merged=True,
            pull_request=now,
            before_sha=outcome.before_sha,
            merge_commit=outcome.after_sha,
            note=outcome.note,
        )

    def _recorder(
        self, action: Action, actor: str, provider: PullProvider, cfg: RepoConfig, number: int, branch: str
    ) -> Callable[..., MergeAuditEntry]:
        """`record(outcome=..., detail=..., ...)`: writes a merge-audit row of this attempt on #number,
        timed when the recorder was made."""
        return partial(
            self.audit.record,
            at=iso_z(self.now()),
            actor=actor,
            action=action,
            provider=provider.name,
            repo=cfg.name,
            number=number,
            branch=branch,
        )

    # -- revert --------------------------------------------------------------------------------------

    def merged_by_us(self, cfg: RepoConfig, number: int) -> MergeAuditEntry | None:
        return self.audit.merged_by_us(self.provider_for(cfg).name, cfg.name, number)

    def revert_if_worse(
        self, cfg: RepoConfig, number: int, verdict: VerdictLike, actor: str, dry_run: bool = False
    ) -> OpenedPullRequest | None:
        """The revert when the verdict is worse and we merged #number, else None (nothing is refused)."""
        if verdict.verdict != "worse" or self.merged_by_us(cfg, number) is None:
            return None
        return self.open_revert(cfg, number, verdict, actor, dry_run)

    def open_revert(
        self, cfg: RepoConfig, number: int, verdict: VerdictLike, actor: str, dry_run: bool = False
    ) -> OpenedPullRequest:
        """Open a pull request that reverts #number, which self-improver merged and the verdict calls worse.

        Refused (ToolInputError) unless the verdict is `worse` and the merge audit shows we merged it:
        what a person merged, a person decides. An open revert pull request is returned
        (deduplicated=true). The caps on opens do not apply to reverts.
        """
        provider = self.provider_for(cfg)
        if verdict.verdict != "worse":
            raise ToolInputError(
                f"the verdict for #{number} is {verdict.verdict!r}: only a 'worse' verdict opens a revert"
            )
        if verdict.pr_number is not None and verdict.pr_number != number:
            raise ToolInputError(f"the verdict is about pull request #{verdict.pr_number}, not #{number}")
        merged = self.audit.merged_by_us(provider.name, cfg.name, number)
        if merged is None or not merged.after_sha:
            raise ToolInputError(
                f"pull request #{number} of {cfg.name!r} was not merged by self-improver (no merge in the merge "
                "audit): a person merged it, so a person decides about reverting it; flag it in the report"
            )
        branch = revert_branch(number)
        existing = provider.find_open_by_head(cfg, branch)
        if existing is not None:
            note = f"the revert pull request #{existing.number} is already open: returned it unchanged"
            return _revert_answer(existing, provider.name, note, deduplicated=True)
        pull = provider.get(cfg, number)
        remote, env = provider.git_remote(cfg)
        title = f"Revert #{number}: {pull.title}"[:256]
        if dry_run:
            update = {
                "number": 0,
                "title": title,
                "head": branch,
                "status": "open",
                "merged_at": None,
                "url": "",
            }
            note = f"dry run: a pull request reverting #{number} would be opened from {branch!r}; nothing was pushed"
            return _revert_answer(pull.model_copy(update=update), provider.name, note, dry_run=True)
        scratch = scratch_repo.scratch_repo(self.data_dir, cfg.name)
        base = scratch_repo.fetch_branch(scratch, remote, cfg.default_branch, f"revert-{number}/base", env)
        if base is None or not scratch_repo.is_ancestor(scratch, merged.after_sha, base):
            raise ToolInputError(
                f"the merge of #{number} ({merged.after_sha[:12]}) is not on {cfg.default_branch!r} of the "
                "remote any more (history was rewritten?): a person has to look at it"
            )
        signature = pull.signature or verdict.signature
        message = f"{title}\n\nThe impact verdict after the merge is worse: {verdict.reason}\n\nReverts {pull.url}\n"
        revert_sha = scratch_repo.revert_commit(scratch, base, merged.after_sha, message)
        scratch_repo.set_branch(scratch, branch, revert_sha)
        try:
            git.push_branch(scratch, remote, branch, env)
        except git.PushRejected as exc:
            raise ToolInputError(
                f"the remote already has a branch {branch!r} with other commits (an earlier revert?), and "
                "nothing was force-pushed: look at it, delete it if it is stale, then try again"
            ) from exc
        body = _revert_body(number, pull, merged, verdict, signature)
        draft = PullDraft(
            cfg, branch, revert_sha, title, body, signature or "", None, False, [LABEL, REVERT_LABEL]
        )
        created = provider.create(draft, self.run_id)
        if not provider.keeps_own_records:
            self.records.record(provider.name, created, self.run_id, revert_sha)
        record = self._recorder("revert", actor, provider, cfg, number, branch)
        record(
            outcome="opened",
            head_sha=revert_sha,
            after_sha=revert_sha,
            detail=f"revert pull request #{created.number} ({created.url}) after verdict worse: {verdict.reason}",
        )
        log.info("opened revert pull request #%d for #%d in %s", created.number, number, cfg.name)
        note = f"reverts #{number}; a person reviews and merges it"
        return _revert_answer(created, provider.name, note, pushed_to=scratch_repo.redact_remote(remote))


def _revert_answer(
    pull: PullRequest, provider: str, note: str, deduplicated: bool = False, **values: Any
) -> OpenedPullRequest:
    """What open_revert answers: a revert carries no error evidence and changes no finding in memory."""
    return OpenedPullRequest(
        pull_request=pull,
        provider=provider,
        deduplicated=deduplicated,
        evidence_included=False,
        memory_updated=False,
        note=note,
        **values,
    )


def _revert_body(
    number: int, pull: PullRequest, merged: MergeAuditEntry, verdict: VerdictLike, signature: str | None
) -> str:
    return (
        f"Reverts #{number} ({pull.url}), which self-improver merged automatically at {merged.at} "
        f"(commit {(merged.after_sha or '')[:12]}, requested by {merged.actor}).\n\n"
        f"### Verdict: worse\n\n{verdict.reason}\n\n"
        f"- signature: `{verdict.signature}`, merged at {verdict.merged_at}\n"
        + (
            f"- verdict finding: `{verdict.memory_finding_id}` (see finding_history for the signature)\n"
            if verdict.memory_finding_id
            else ""
        )
        + f"- merge audit entry: {merged.id}\n\nMerge this to undo the change; nothing is merged "
        f"automatically.\n\n{marker(signature) if signature else ''}\n"
    )
