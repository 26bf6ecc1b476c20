"""`open_pull_request`'s rules, in order: check the arguments; return the open pull request of the same
signature (or one linked to it) if there is one; check the branch exists and no open pull request uses
it; return the open pull request whose diff is the same change (linking the new signature to it);
compose the body (caller's text + evidence + marker) and scan diff and text for secrets; reserve a
place under the caps (one atomic step in pulls.db, across processes: ledger.py); push; create
(retried without duplicates); record it with its diff fingerprint; release the reservation; link the
memory finding. Dedup comes before the caps, so repeats are always safe.

A dry run (`dry_run` setting) makes every check, the caps included, and returns the pull request it
would open (branch, diffstat, title, body with evidence) without pushing or creating anything. A branch
apply_patch made in a dry run lives in its dry-run checkout under the data dir, and is read from there.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, Protocol

from ..code.repo_config import RepoConfig
from ..code.worktrees import dry_run_checkout
from ..errors.reports import ErrorContext
from ..support.clock import iso_z
from ..support.git_runner import redact_remote
from ..support.problems import NotFoundError, ToolInputError
from . import git
from .arguments import MAX_BODY, branch_commit, check_branch, check_signature, check_text
from .diff_fingerprint import diff_fingerprint, diffstat
from .evidence import evidence_for
from .ledger import Caps, PullLedger
from .marker import marker
from .memory_link import MemoryLink
from .models import OpenedPullRequest, PullRequest
from .provider_choice import ProviderChoice
from .providers.base import PullDraft, PullProvider
from .records import PullRecords
from .secret_scan import refuse_if_secrets, scan_diff, scan_text

log = logging.getLogger(__name__)


class OpenSettings(Protocol):
    data_dir: Path
    max_prs_per_run: int
    max_open_prs: int
    dry_run: bool


@dataclass
class Opener:
    settings: OpenSettings
    records: PullRecords
    ledger: PullLedger
    providers: ProviderChoice
    memory_link: MemoryLink
    errors: Callable[[], ErrorContext] | None
    run_id: str
    now: Callable[[], datetime]

    async def open(
        self,
        cfg: RepoConfig,
        branch: str,
        title: str,
        body: str,
        signature: str,
        finding_id: str | None,
        draft: bool,
        labels: list[str],
    ) -> OpenedPullRequest:
        signature = check_signature(signature)
        title, body, all_labels = check_text(title, body, labels)
        check_branch(cfg, branch)
        provider = self.providers.for_repo(cfg)
        existing = await asyncio.to_thread(self._find_open, provider, cfg, signature)
        if existing is not None:
            note = f"an open pull request for signature {signature} already exists: returned it unchanged"
            return await self._deduplicated(provider, existing, finding_id, note, "signature")
        source = await asyncio.to_thread(self._source, cfg, branch)
        head_sha = await branch_commit(source, branch, "the fix branch")
        await branch_commit(source, cfg.default_branch, "the default branch")
        existing = await asyncio.to_thread(provider.find_open_by_head, cfg, branch)
        if existing is not None:
            note = f"an open pull request from branch {branch!r} already exists: returned it unchanged"
            return await self._deduplicated(provider, existing, finding_id, note, "branch")
        diff = await asyncio.to_thread(git.diff_against, source.path, cfg.default_branch, branch)
        if not diff.strip():
            raise ToolInputError(
                f"branch {branch!r} has no changes against {cfg.default_branch!r}: commit the fix on the branch first"
            )
        fingerprint = diff_fingerprint(diff)
        same = await asyncio.to_thread(self._open_with_fingerprint, provider, cfg, fingerprint)
        if same is not None:
            return await self._same_diff(provider, cfg, same, signature, finding_id)
        memory_note = await self.memory_link.check_finding(finding_id)
        evidence = await evidence_for(self.errors() if self.errors else None, signature)
        full_body = f"{body}\n\n{evidence.markdown}\n\n{marker(signature, finding_id)}\n"
        if len(full_body) > MAX_BODY:
            raise ToolInputError(
                f"the body with its evidence section has {len(full_body)} characters, more than "
                f"{MAX_BODY}: shorten the body"
            )
        refuse_if_secrets(
            scan_diff(diff) + scan_text(title, "title") + scan_text(full_body, "pull request body")
        )
        caps = Caps(self.run_id, self.settings.max_prs_per_run, self.settings.max_open_prs)
        dry = self.settings.dry_run
        reservation = await asyncio.to_thread(
            self.ledger.reserve,
            provider.name,
            cfg.name,
            branch,
            signature,
            caps,
            lambda: provider.count_open(self.providers.served(provider)),
            dry,
        )
        draft_pr = PullDraft(
            cfg, branch, head_sha, title, full_body, signature, finding_id, draft, all_labels
        )
        if dry:
            return self._preview(provider, draft_pr, diff, evidence.known)
        try:
            pushed_to = await asyncio.to_thread(provider.push, cfg, branch)
            created = await asyncio.to_thread(provider.create, draft_pr, self.run_id)
            if not provider.keeps_own_records:
                created = created.model_copy(update={"finding_id": created.finding_id or finding_id})
                await asyncio.to_thread(self.records.record, provider.name, created, self.run_id, head_sha)
            await asyncio.to_thread(
                self.ledger.set_fingerprint, provider.name, cfg.name, created.number, fingerprint
            )
        finally:
            await asyncio.to_thread(self.ledger.release, reservation)
        log.info("opened pull request #%d in %s for signature %s", created.number, cfg.name, signature)
        updated, link_note = await self.memory_link.link(
            provider.name, created, [finding_id] if finding_id else []
        )
        notes = " ".join(n for n in (memory_note, link_note) if n) or None
        return self._answer(
            provider, created, notes, evidence=evidence.known, memory=updated, pushed_to=pushed_to
        )

    # -- where the branch is, and what is already open -----------------------------------------------

    def _source(self, cfg: RepoConfig, branch: str) -> RepoConfig:
        """The user's repo; in a dry run, the dry-run checkout of apply_patch when only it has the branch."""
        if not self.settings.dry_run or git.commit_of(cfg.path, branch) is not None:
            return cfg
        checkout = dry_run_checkout(self.settings.data_dir / "worktrees", cfg.name, branch)
        if (checkout / ".git").exists() and git.commit_of(checkout, branch) is not None:
            return cfg.model_copy(update={"path": checkout})
        return cfg

    def _live_open(self, provider: PullProvider, cfg: RepoConfig, numbers: list[int]) -> PullRequest | None:
        for number in numbers:
            try:
                live = provider.get(cfg, number)
            except NotFoundError:
                continue
            if live.status == "open":
                return live
        return None

    def _find_open(self, provider: PullProvider, cfg: RepoConfig, signature: str) -> PullRequest | None:
        """Our own records first (a forge's listings can lag behind a just-created pull request), with the
        pull requests this signature was linked to, then the provider."""
        recorded = [p.number for p in self.records.open_with_signature(provider.name, cfg.name, signature)]
        linked = self.ledger.numbers_linked_to(provider.name, cfg.name, signature)
        found = self._live_open(provider, cfg, recorded + [n for n in linked if n not in recorded])
        return found or provider.find_open_by_signature(cfg, signature)

    def _open_with_fingerprint(
        self, provider: PullProvider, cfg: RepoConfig, fingerprint: str
    ) -> PullRequest | None:
        return self._live_open(
            provider, cfg, self.ledger.open_with_fingerprint(provider.name, cfg.name, fingerprint)
        )

    async def _same_diff(
        self,
        provider: PullProvider,
        cfg: RepoConfig,
        pull: PullRequest,
        signature: str,
        finding_id: str | None,
    ) -> OpenedPullRequest:
        note = (
            f"open pull request #{pull.number} (signature {pull.signature}) makes the same change (equal diff): "
            f"returned it unchanged, nothing was pushed"
        )
        if pull.signature != signature and not self.settings.dry_run:
            at = iso_z(self.now())
            await asyncio.to_thread(
                self.ledger.link_signature, provider.name, cfg.name, pull.number, signature, at
            )
            note += f"; signature {signature} is linked to it"
        return await self._deduplicated(provider, pull, finding_id, note, "same_diff")

    async def _deduplicated(
        self, provider: PullProvider, existing: PullRequest, finding_id: str | None, note: str, by: str
    ) -> OpenedPullRequest:
        updated = False
        if finding_id and not self.settings.dry_run:
            existing = existing.model_copy(update={"finding_id": existing.finding_id or finding_id})
            updated, link_note = await self.memory_link.link(provider.name, existing, [finding_id])
            note = f"{note}. {link_note}" if link_note else note
        return self._answer(provider, existing, note, evidence=False, memory=updated, by=by)

    def _preview(
        self, provider: PullProvider, draft: PullDraft, diff: str, evidence_known: bool
    ) -> OpenedPullRequest:
        cfg, branch = draft.repo, draft.branch
        would = draft.opened(iso_z(self.now()), "none", "")
        remote = redact_remote(provider.git_remote(cfg)[0])
        note = (
            f"dry run: nothing was pushed or opened; this pull request (number 0) would be opened on "
            f"{provider.name} after pushing {branch!r} to {remote}"
        )
        return self._answer(
            provider,
            would,
            note,
            evidence=evidence_known,
            memory=False,
            diffstat=[f"{path} +{added} -{removed}" for path, added, removed in diffstat(diff)],
            body=draft.body,
        )

    def _answer(
        self,
        provider: PullProvider,
        pull: PullRequest,
        note: str | None,
        *,
        evidence: bool,
        memory: bool,
        by: str | None = None,
        **values: Any,
    ) -> OpenedPullRequest:
        """What open_pull_request answers. `by`: what found the open pull request returned instead of a new
        one (None: not deduplicated); `values`: pushed_to, or a dry run's diffstat and body."""
        return OpenedPullRequest(
            pull_request=pull,
            provider=provider.name,
            deduplicated=by is not None,
            deduplicated_by=by,
            evidence_included=evidence,
            memory_updated=memory,
            dry_run=self.settings.dry_run,
            note=note,
            **values,
        )
