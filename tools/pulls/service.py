"""Pull requests as the tools see them: the rules around opening one, listing, and following its state.

Order of `open_pull_request`: check the arguments; return the open pull request of the same signature
if there is one (dedup comes before anything else, so repeats are safe); check the branch exists and no
open pull request uses it; enforce the caps; compose the body (caller's text + evidence + marker); scan
the diff and the text for secrets; push; create (retried without duplicates); record it; link the
memory finding.

A *run* is the life of one service, which the server creates once per lifespan: under stdio that is
the process a nightly job starts, so `max_prs_per_run` bounds what one night can open (opens are
counted in pulls.db under the service's run id). `max_open_prs` is counted live, across runs. Opens are
serialised by a lock, so two concurrent calls of one run cannot both pass the dedup check or the caps.

The service composes; the parts live in their own modules: argument checks (arguments.py), which
provider serves a repo (provider_choice.py, over providers/registry.py), memory links and the sync
(memory_link.py), merges and reverts (merger.py, run in one worker thread under the same lock).
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Protocol

from ..code.repo_config import RepoConfig
from ..errors.reports import ErrorContext
from ..insights.impact import MergedFix
from ..memory.store import MemoryStore
from ..support.paging import decode_cursor, encode_cursor
from ..support.problems import NotFoundError, ToolInputError, UnavailableError
from . import git
from .arguments import MAX_BODY, branch_commit, check_branch, check_signature, check_text
from .evidence import evidence_for
from .marker import marker
from .memory_link import MemoryLink
from .merge_audit import MergeAudit
from .merge_config import AutoMergePolicy
from .merger import Merger, MergeResult, VerdictLike
from .models import (
    Checks,
    MergedPullRequest,
    OpenedPullRequest,
    PullRequest,
    PullRequestList,
    StateFilter,
    Status,
    SyncResult,
)
from .provider_choice import ProviderChoice
from .providers.base import PullDraft, PullProvider
from .providers.local import LocalProvider, utc_text
from .providers.registry import ProviderContext, ProviderSettings
from .records import PullRecords
from .retry import RetryPolicy
from .secret_scan import refuse_if_secrets, scan_diff, scan_text

log = logging.getLogger(__name__)


class PullSettings(Protocol):
    """The settings this service reads (server.config.Settings has them); tools never import the server."""

    data_dir: Path
    repos: list[RepoConfig]
    pr_provider: str  # "auto", "local" or a name in providers/registry.py
    max_prs_per_run: int
    max_open_prs: int
    now: datetime | None

    def provider_settings(self, name: str) -> ProviderSettings:
        """The `[providers.<name>]` table, older settings (github_token, ...) folded in."""
        ...


class PullRequestService:
    def __init__(
        self,
        settings: PullSettings,
        memory_store: Callable[[], MemoryStore],
        errors: Callable[[], ErrorContext] | None = None,
        retry: RetryPolicy | None = None,
        provider_timeout: int = 15,
        provider_write_spacing: float | None = 1.0,
    ):
        self.settings = settings
        self.run_id = uuid.uuid4().hex[:12]
        self.records = PullRecords(settings.data_dir / "pulls.db")
        self.audit = MergeAudit(self.records.path)
        self.local = LocalProvider(self.records, settings.data_dir, self.now)
        self._memory = memory_store
        self._errors = errors
        retry = retry or RetryPolicy()

        def context(provider_settings: ProviderSettings) -> ProviderContext:
            return ProviderContext(
                provider_settings,
                settings.data_dir,
                self.records,
                self.now,
                retry,
                timeout=provider_timeout,
                seconds_between_writes=provider_write_spacing,
            )

        self.providers = ProviderChoice(settings, self.local, context)
        self.memory_link = MemoryLink(self.records, memory_store)
        self.merger = Merger(
            self.records, self.audit, self.provider_for, self.now, settings.data_dir, self.run_id
        )
        self._lock = asyncio.Lock()

    def now(self) -> datetime:
        return self.settings.now or datetime.now(UTC)

    def close(self) -> None:
        self.providers.close()

    # -- configuration -------------------------------------------------------------------------------

    def repo_config(self, name: str) -> RepoConfig:
        for repo in self.settings.repos:
            if repo.name == name:
                return repo
        if not self.settings.repos:
            raise NotFoundError(
                f"no repositories are configured, so {name!r} is unknown: add a [[repos]] table (name, path, "
                "default_branch, forge, project) to the config file"
            )
        names = ", ".join(r.name for r in self.settings.repos)
        raise NotFoundError(f"no configured repo named {name!r}: use one of {names}")

    def provider_for(self, repo: RepoConfig) -> PullProvider:
        """The provider of `repo`'s pull requests (see provider_choice.py: pr_provider and the repo's forge)."""
        return self.providers.for_repo(repo)

    # -- open ----------------------------------------------------------------------------------------

    async def open_pull_request(
        self,
        repo: str,
        branch: str,
        title: str,
        body: str,
        signature: str,
        finding_id: str | None = None,
        draft: bool = True,
        labels: list[str] | None = None,
    ) -> OpenedPullRequest:
        cfg = self.repo_config(repo)
        signature = check_signature(signature)
        title, body, all_labels = check_text(title, body, labels or [])
        check_branch(cfg, branch)
        provider = self.provider_for(cfg)
        async with self._lock:
            existing = await asyncio.to_thread(self._find_open, provider, cfg, signature)
            if existing is not None:
                note = f"an open pull request for signature {signature} already exists: returned it unchanged"
                return await self._deduplicated(provider, existing, finding_id, note)
            head_sha = await branch_commit(cfg, branch, "the fix branch")
            await branch_commit(cfg, cfg.default_branch, "the default branch")
            existing = await asyncio.to_thread(provider.find_open_by_head, cfg, branch)
            if existing is not None:
                note = f"an open pull request from branch {branch!r} already exists: returned it unchanged"
                return await self._deduplicated(provider, existing, finding_id, note)
            await asyncio.to_thread(self._check_caps, provider)
            memory_note = await self.memory_link.check_finding(finding_id)
            evidence = await evidence_for(self._errors() if self._errors else None, signature)
            full_body = f"{body}\n\n{evidence.markdown}\n\n{marker(signature, finding_id)}\n"
            if len(full_body) > MAX_BODY:
                raise ToolInputError(
                    f"the body with its evidence section has {len(full_body)} characters, more than "
                    f"{MAX_BODY}: shorten the body"
                )
            diff = await asyncio.to_thread(git.diff_against, cfg.path, cfg.default_branch, branch)
            if not diff.strip():
                raise ToolInputError(
                    f"branch {branch!r} has no changes against {cfg.default_branch!r}: commit the fix on the branch first"
                )
            refuse_if_secrets(
                scan_diff(diff) + scan_text(title, "title") + scan_text(full_body, "pull request body")
            )
            pushed_to = await asyncio.to_thread(provider.push, cfg, branch)
            draft_pr = PullDraft(
                cfg, branch, head_sha, title, full_body, signature, finding_id, draft, all_labels
            )
            created = await asyncio.to_thread(provider.create, draft_pr, self.run_id)
            if not provider.keeps_own_records:
                created = created.model_copy(update={"finding_id": created.finding_id or finding_id})
                await asyncio.to_thread(self.records.record, provider.name, created, self.run_id, head_sha)
            log.info("opened pull request #%d in %s for signature %s", created.number, cfg.name, signature)
            updated, link_note = await self.memory_link.link(
                provider.name, created, [finding_id] if finding_id else []
            )
        return OpenedPullRequest(
            pull_request=created,
            provider=provider.name,
            deduplicated=False,
            pushed_to=pushed_to,
            evidence_included=evidence.known,
            memory_updated=updated,
            note=" ".join(n for n in (memory_note, link_note) if n) or None,
        )

    def _find_open(self, provider: PullProvider, cfg: RepoConfig, signature: str) -> PullRequest | None:
        """Our own record first (a forge's listings can lag behind a just-created pull request), then the provider."""
        for known in self.records.open_with_signature(provider.name, cfg.name, signature):
            try:
                live = provider.get(cfg, known.number)
            except NotFoundError:
                continue
            if live.status == "open":
                return live
        return provider.find_open_by_signature(cfg, signature)

    async def _deduplicated(
        self, provider: PullProvider, existing: PullRequest, finding_id: str | None, note: str
    ) -> OpenedPullRequest:
        updated = False
        if finding_id:
            existing = existing.model_copy(update={"finding_id": existing.finding_id or finding_id})
            updated, link_note = await self.memory_link.link(provider.name, existing, [finding_id])
            note = f"{note}. {link_note}" if link_note else note
        return OpenedPullRequest(
            pull_request=existing,
            provider=provider.name,
            deduplicated=True,
            evidence_included=False,
            memory_updated=updated,
            note=note,
        )

    def _check_caps(self, provider: PullProvider) -> None:
        per_run = self.settings.max_prs_per_run
        opened = self.records.opened_in_run(self.run_id)
        if opened >= per_run:
            raise ToolInputError(
                f"refused: this run already opened {opened} pull request(s), the cap max_prs_per_run={per_run}. "
                "Nothing was pushed. Remember the finding so a later night can open it, or raise max_prs_per_run "
                "in the config (SELF_IMPROVER_MAX_PRS_PER_RUN) if a person agrees"
            )
        cap = self.settings.max_open_prs
        open_now = provider.count_open(self.providers.served(provider))
        if open_now >= cap:
            raise ToolInputError(
                f"refused: {open_now} self-improver pull request(s) are open, the cap max_open_prs={cap}. Nothing "
                "was pushed. Wait until reviewers merge or close some (see list_pull_requests), or raise "
                "max_open_prs in the config (SELF_IMPROVER_MAX_OPEN_PRS) if a person agrees"
            )

    # -- list and sync -------------------------------------------------------------------------------

    def _repos(self, repo: str | None) -> list[RepoConfig]:
        if repo is not None:
            return [self.repo_config(repo)]
        if not self.settings.repos:
            raise NotFoundError(
                "no repositories are configured: add a [[repos]] table (name, path, default_branch, forge, "
                "project) to the config file"
            )
        return self.providers.listed(sorted(self.settings.repos, key=lambda r: r.name))

    async def list_pull_requests(
        self, repo: str | None = None, state: StateFilter = "open", limit: int = 10, cursor: str | None = None
    ) -> PullRequestList:
        repos = self._repos(repo)
        kind = f"pulls:{state}:{repo or '*'}"
        key = decode_cursor(kind, cursor) if cursor else [None, None]
        if cursor and not (len(key) == 2 and isinstance(key[0], str) and isinstance(key[1], int)):
            raise ToolInputError(
                "cursor is not valid for this tool: pass the exact next_cursor of the previous call"
            )
        start_repo, before = key
        rows: list[PullRequest] = []
        for cfg in repos:
            if start_repo is not None and cfg.name < start_repo:
                continue
            provider = self.provider_for(cfg)
            below = before if cfg.name == start_repo else None
            page = await asyncio.to_thread(provider.page, cfg, state, below, limit + 1 - len(rows))
            recorded = await asyncio.to_thread(
                self.records.recorded_states, provider.name, cfg.name, [p.number for p in page]
            )
            rows += [p.model_copy(update={"recorded_status": recorded.get(p.number)}) for p in page]
            if len(rows) > limit:
                break
        has_more = len(rows) > limit
        rows = rows[:limit]
        stale = sum(1 for p in rows if p.recorded_status is not None and p.recorded_status != p.status)
        return PullRequestList(
            pull_requests=rows,
            count=len(rows),
            has_more=has_more,
            next_cursor=encode_cursor(kind, [rows[-1].repo, rows[-1].number]) if has_more else None,
            note=(
                f"{stale} pull request(s) changed status since memory recorded it: call sync_pull_requests"
                if stale
                else None
                if rows
                else f"no {state} self-improver pull requests"
            ),
        )

    async def sync_pull_requests(self, repo: str | None = None) -> SyncResult:
        """Read the current state of our pull requests and record changes in memory (pr_status)."""
        return await self.memory_link.sync(self._repos(repo), self.provider_for)

    async def merged_pull_requests(self, since: datetime | str) -> list[MergedPullRequest]:
        """Pull requests merged at or after `since` (after a sync), for the nightly impact checks."""
        await self.sync_pull_requests()
        moment = (
            since if isinstance(since, datetime) else datetime.fromisoformat(since.replace("Z", "+00:00"))
        )
        moment = moment if moment.tzinfo else moment.replace(tzinfo=UTC)
        rows = await asyncio.to_thread(self.records.merged_since, utc_text(moment))
        return [
            MergedPullRequest(
                repo=p.repo,
                number=p.number,
                signature=p.signature,
                merged_at=p.merged_at or "",
                finding_id=p.finding_id,
                url=p.url,
            )
            for p in rows
        ]

    async def merged_fix(self, pr_number: int) -> MergedFix:
        """When a recorded pull request was merged and which signature it fixes (for measure_impact),
        from our own records only: `sync_pull_requests` brings them up to date."""
        found = await asyncio.to_thread(self.records.by_number, pr_number)
        if not found:
            raise NotFoundError(
                f"no PR #{pr_number} is recorded: list_pull_requests() shows the numbers, or pass "
                "merged_at and signature yourself"
            )
        if len(found) > 1:
            repos = ", ".join(sorted(p.repo for p in found))
            raise ToolInputError(
                f"pull request #{pr_number} exists in several repositories ({repos}): pass merged_at and signature"
            )
        pull = found[0]
        return MergedFix(merged_at=pull.merged_at, signature=pull.signature)

    # -- the local provider's review and CI stand-ins --------------------------------------------------

    async def set_local_checks(self, repo: str, number: int, checks: Checks) -> PullRequest:
        return await asyncio.to_thread(self.local.set_checks, self.repo_config(repo), number, checks)

    async def set_local_state(self, repo: str, number: int, state: Status) -> PullRequest:
        return await asyncio.to_thread(self.local.set_state, self.repo_config(repo), number, state)

    # -- auto-merge and revert (merger.py): one worker thread each, serialised with opens --------------

    async def merge_pull_request(
        self, repo: str, number: int, policy: AutoMergePolicy, actor: str = "self-improver"
    ) -> MergeResult:
        """Merge #number when the auto-merge policy allows it, else explain each failed rule; audited."""
        async with self._lock:
            cfg = self.repo_config(repo)
            result = await asyncio.to_thread(self.merger.merge, cfg, number, policy, actor)
            if not result.merged:
                return result
            try:  # let the sync write pr_status='merged' into the linked findings
                note = (await self.sync_pull_requests(cfg.name)).note
            except (ToolInputError, UnavailableError) as exc:
                note = f"memory was not updated ({exc}): call sync_pull_requests"
        return result.model_copy(update={"note": " ".join(n for n in (result.note, note) if n) or None})

    async def open_revert_pull_request(
        self, repo: str, number: int, verdict: VerdictLike, actor: str = "self-improver"
    ) -> OpenedPullRequest:
        """Open `self-improver/revert-<number>` for a pull request we merged whose verdict is worse."""
        async with self._lock:
            cfg = self.repo_config(repo)
            return await asyncio.to_thread(self.merger.open_revert, cfg, number, verdict, actor)

    async def revert_if_worse(
        self, repo: str, number: int, verdict: VerdictLike, actor: str = "self-improver"
    ) -> OpenedPullRequest | None:
        """For the nightly job: open the revert when the verdict is worse and we merged #number, else None."""
        if verdict.verdict != "worse":
            return None
        async with self._lock:
            cfg = self.repo_config(repo)
            return await asyncio.to_thread(self.merger.revert_if_worse, cfg, number, verdict, actor)

    def merge_audit(self) -> MergeAudit:
        """Every merge attempt and revert (merge_audit in pulls.db): `.entries(repo=, number=, ...)`."""
        return self.audit
