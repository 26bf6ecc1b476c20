"""Pull requests as the tools see them: the rules around opening one, listing, following its state,
commenting impact verdicts, and muting the signature of a pull request closed without merging.

A *run* is the life of one service, which the server creates once per lifespan: under stdio that is
the process a nightly job starts, so `max_prs_per_run` bounds what one night can open (opens are
counted in pulls.db under the service's run id). `max_open_prs` is counted live, across runs. Both are
checked and a place reserved in one transaction of pulls.db (ledger.py), so they hold across every
process sharing the data dir; within a process, opens are also serialised by a lock.

With the `dry_run` setting nothing is written outside the data dir: opens, merges, reverts and verdict
comments report what they would do (`dry_run: true` in their results).

The service composes; the parts live in their own modules: the open rules (opener.py), argument checks
(arguments.py), which provider serves a repo (provider_choice.py, over providers/registry.py), memory
links and the sync (memory_link.py), merges and reverts (merger.py, run in one worker thread under the
same lock), verdict comments (verdict_comment.py).
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Protocol

from ..code.repo_config import RepoConfig
from ..errors.reports import ErrorContext
from ..insights.impact import MergedFix
from ..memory.store import MemoryStore
from ..support.clock import iso_z
from ..support.paging import decode_cursor, encode_cursor
from ..support.problems import NotFoundError, ToolInputError, UnavailableError
from .ledger import PullLedger
from .marker import BRANCH_PREFIX
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
    VerdictPost,
)
from .opener import Opener
from .provider_choice import ProviderChoice
from .providers.base import PullProvider
from .providers.local import LocalProvider
from .providers.registry import ProviderContext, ProviderSettings
from .records import PullRecords
from .retry import RetryPolicy
from .verdict_comment import ImpactVerdict, verdict_comment

log = logging.getLogger(__name__)


class PullSettings(Protocol):
    """The settings this service reads (server.config.Settings has them); tools never import the server."""

    data_dir: Path
    repos: list[RepoConfig]
    pr_provider: str  # "auto", "local" or a name in providers/registry.py
    max_prs_per_run: int
    max_open_prs: int
    dry_run: bool  # write nothing outside the data dir: say what would be done
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
        mute: Callable[[str, str], None] | None = None,
    ):
        """`mute(signature, reason)` mutes a signature whose pull request was closed without merging;
        default: tools/memory/mutes.mute_signature through the error store (none without `errors`)."""
        self.settings = settings
        self.run_id = uuid.uuid4().hex[:12]
        self.records = PullRecords(settings.data_dir / "pulls.db")
        self.ledger = PullLedger(self.records.path)
        self.audit = MergeAudit(self.records.path)
        self.local = LocalProvider(self.records, settings.data_dir, self.now)
        self._memory = memory_store
        self._errors = errors
        self._mute = mute or (self._default_mute if errors is not None else None)
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
        self.opener = Opener(
            settings,
            self.records,
            self.ledger,
            self.providers,
            self.memory_link,
            errors,
            self.run_id,
            self.now,
        )
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
        """See opener.py: dedup (signature, branch, same diff), checks, caps reserved in pulls.db, create."""
        cfg = self.repo_config(repo)
        async with self._lock:
            return await self.opener.open(
                cfg, branch, title, body, signature, finding_id, draft, labels or []
            )

    # -- verdicts on pull requests and mutes of closed ones --------------------------------------------

    async def post_verdict(self, repo: str, number: int, verdict: ImpactVerdict) -> VerdictPost:
        """Comment a measure_impact verdict on #number, once per change of the verdict (pulls.db keeps the
        last one posted); a dry run only says what it would post."""
        cfg = self.repo_config(repo)
        provider = self.provider_for(cfg)
        text = verdict_comment(verdict)

        def result(posted: bool, note: str) -> VerdictPost:
            return VerdictPost(
                repo=cfg.name,
                number=number,
                verdict=verdict.verdict,
                text=text,
                posted=posted,
                dry_run=self.settings.dry_run,
                note=note,
            )

        if self.settings.dry_run:
            return result(False, f"dry run: this comment would be posted on #{number} unless already posted")
        async with self._lock:
            claimed, previous = await asyncio.to_thread(
                self.ledger.claim_verdict,
                provider.name,
                cfg.name,
                number,
                verdict.verdict,
                text,
                iso_z(self.now()),
            )
            if not claimed:
                return result(
                    False, f"verdict {verdict.verdict!r} was already posted on #{number}: nothing posted"
                )
            try:
                await asyncio.to_thread(provider.comment, cfg, number, text)
            except BaseException:
                await asyncio.to_thread(
                    self.ledger.restore_verdict, provider.name, cfg.name, number, previous
                )
                raise
        before = f" (was {previous[0]!r})" if previous else ""
        return result(True, f"posted verdict {verdict.verdict!r}{before} on #{number}")

    def _closed_unmerged(self, provider: str, pull: PullRequest) -> list[str]:
        """Mute the signatures a pull request closed without merging fixed (its own and linked ones)."""
        if self._mute is None or pull.head.startswith(f"{BRANCH_PREFIX}revert-"):
            return []
        linked = self.ledger.linked_signatures(provider, pull.repo, pull.number)
        signatures = list(dict.fromkeys(([pull.signature] if pull.signature else []) + linked))
        for signature in signatures:
            self._mute(signature, f"PR #{pull.number} closed without merging")
        return signatures

    def _default_mute(self, signature: str, reason: str) -> None:
        """tools/memory/mutes.mute_signature for `mute_days` (30 when the settings have none)."""
        if self._errors is None:
            return
        from ..memory.mutes import mute_signature

        now = self.now()
        days = int(getattr(self.settings, "mute_days", 30))
        mute_signature(self._errors().signatures, signature, reason, now + timedelta(days=days), now)

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
        return await self.memory_link.sync(self._repos(repo), self.provider_for, self._closed_unmerged)

    async def merged_pull_requests(self, since: datetime | str) -> list[MergedPullRequest]:
        """Pull requests merged at or after `since` (after a sync), for the nightly impact checks."""
        await self.sync_pull_requests()
        moment = (
            since if isinstance(since, datetime) else datetime.fromisoformat(since.replace("Z", "+00:00"))
        )
        moment = moment if moment.tzinfo else moment.replace(tzinfo=UTC)
        rows = await asyncio.to_thread(self.records.merged_since, iso_z(moment))
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
            dry = self.settings.dry_run
            result = await asyncio.to_thread(self.merger.merge, cfg, number, policy, actor, dry)
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
            dry = self.settings.dry_run
            return await asyncio.to_thread(self.merger.open_revert, cfg, number, verdict, actor, dry)

    async def revert_if_worse(
        self, repo: str, number: int, verdict: VerdictLike, actor: str = "self-improver"
    ) -> OpenedPullRequest | None:
        """For the nightly job: open the revert when the verdict is worse and we merged #number, else None."""
        if verdict.verdict != "worse":
            return None
        async with self._lock:
            cfg = self.repo_config(repo)
            dry = self.settings.dry_run
            return await asyncio.to_thread(self.merger.revert_if_worse, cfg, number, verdict, actor, dry)

    def merge_audit(self) -> MergeAudit:
        """Every merge attempt and revert (merge_audit in pulls.db): `.entries(repo=, number=, ...)`."""
        return self.audit
