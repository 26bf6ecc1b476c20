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
"""

from __future__ import annotations

import asyncio
import logging
import re
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, Protocol

from ..code.repo_config import RepoConfig
from ..errors.reports import ErrorContext
from ..insights.impact import MergedFix
from ..memory import service as memory
from ..memory.store import MemoryStore
from ..support.paging import decode_cursor, encode_cursor
from ..support.problems import NotFoundError, ToolInputError, UnavailableError
from . import git, merge_policy
from .evidence import evidence_for
from .marker import BRANCH_PREFIX, LABEL, marker
from .merge import MergeAudit
from .merge_policy import AutoMergePolicy, MergeResult, VerdictLike
from .models import (
    Checks,
    MergedPullRequest,
    OpenedPullRequest,
    PullRequest,
    PullRequestList,
    StateChange,
    StateFilter,
    Status,
    SyncResult,
)
from .providers.base import PullDraft, PullProvider
from .providers.local import LocalProvider, utc_text
from .records import PullRecords
from .retry import RetryPolicy
from .secret_scan import refuse_if_secrets, scan_diff, scan_text

if TYPE_CHECKING:
    from .providers.github import GitHubProvider

log = logging.getLogger(__name__)

SIGNATURE_RE = re.compile(r"^[0-9a-f]{6,64}$")
LABEL_RE = re.compile(r"^[^,\s][^,]{0,49}$")
MAX_TITLE, MAX_BODY, MAX_LABELS = 256, 60_000, 10
SYNC_LIMIT = 200


class PullSettings(Protocol):
    """The settings this service reads (server.config.Settings has them); tools never import the server."""

    data_dir: Path
    repos: list[RepoConfig]
    github_token: Any
    github_base_url: str
    pr_provider: Literal["auto", "github", "local"]
    max_prs_per_run: int
    max_open_prs: int
    now: datetime | None


class PullRequestService:
    def __init__(
        self,
        settings: PullSettings,
        memory_store: Callable[[], MemoryStore],
        errors: Callable[[], ErrorContext] | None = None,
        retry: RetryPolicy | None = None,
        github_timeout: int = 15,
        github_write_spacing: float | None = 1.0,
    ):
        self.settings = settings
        self.run_id = uuid.uuid4().hex[:12]
        self.records = PullRecords(settings.data_dir / "pulls.db")
        self.local = LocalProvider(self.records, settings.data_dir, self.now)
        self._memory = memory_store
        self._errors = errors
        self._retry = retry or RetryPolicy()
        self._github_timeout = github_timeout
        self._github_write_spacing = github_write_spacing
        self._github: GitHubProvider | None = None
        self._lock = asyncio.Lock()

    def now(self) -> datetime:
        return self.settings.now or datetime.now(UTC)

    def close(self) -> None:
        if self._github is not None:
            self._github.close()

    # -- configuration -------------------------------------------------------------------------------

    def repo_config(self, name: str) -> RepoConfig:
        for repo in self.settings.repos:
            if repo.name == name:
                return repo
        if not self.settings.repos:
            raise NotFoundError(
                f"no repositories are configured, so {name!r} is unknown: add a [[repos]] table (name, path, "
                "default_branch, github) to the config file"
            )
        names = ", ".join(r.name for r in self.settings.repos)
        raise NotFoundError(f"no configured repo named {name!r}: use one of {names}")

    def _token(self) -> str:
        token = self.settings.github_token
        return token.get_secret_value() if token is not None else ""

    def provider_for(self, repo: RepoConfig) -> PullProvider:
        """pr_provider 'auto': GitHub for repos with `github = owner/name` when a token is set, else local."""
        mode = self.settings.pr_provider
        if mode == "local":
            return self.local
        if mode == "github" and not self._token():
            raise UnavailableError(
                "pr_provider is 'github' but no GitHub token is configured: set GITHUB_TOKEN (or "
                "SELF_IMPROVER_GITHUB_TOKEN) in the server's environment and restart it, or set "
                "pr_provider = 'local'"
            )
        if mode == "auto" and not (self._token() and repo.github):
            return self.local
        if self._github is None:
            from .providers.github import GitHubProvider  # PyGithub loads only when GitHub is used

            self._github = GitHubProvider(
                self._token(),
                self.settings.github_base_url,
                self._retry,
                timeout=self._github_timeout,
                seconds_between_writes=self._github_write_spacing,
            )
        self._github.full_name(repo)  # a clear refusal when the repo names no GitHub repository
        return self._github

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
        signature = _check_signature(signature)
        title, body, all_labels = _check_text(title, body, labels or [])
        _check_branch(cfg, branch)
        provider = self.provider_for(cfg)
        async with self._lock:
            existing = await asyncio.to_thread(self._find_open, provider, cfg, signature)
            if existing is not None:
                note = f"an open pull request for signature {signature} already exists: returned it unchanged"
                return await self._deduplicated(provider, existing, finding_id, note)
            head_sha = await _commit(cfg, branch, "the fix branch")
            await _commit(cfg, cfg.default_branch, "the default branch")
            existing = await asyncio.to_thread(provider.find_open_by_head, cfg, branch)
            if existing is not None:
                note = f"an open pull request from branch {branch!r} already exists: returned it unchanged"
                return await self._deduplicated(provider, existing, finding_id, note)
            await asyncio.to_thread(self._check_caps, provider)
            memory_note = await self._check_finding(finding_id)
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
            if provider.name != "local":
                created = created.model_copy(update={"finding_id": created.finding_id or finding_id})
                await asyncio.to_thread(self.records.record, provider.name, created, self.run_id, head_sha)
            log.info("opened pull request #%d in %s for signature %s", created.number, cfg.name, signature)
            updated, link_note = await self._link(provider.name, created, [finding_id] if finding_id else [])
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
        """Our own record first (GitHub's listings can lag behind a just-created pull request), then the provider."""
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
            updated, link_note = await self._link(provider.name, existing, [finding_id])
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
        repos = [r for r in self.settings.repos if provider.name == "local" or r.github]
        open_now = provider.count_open(repos)
        if open_now >= cap:
            raise ToolInputError(
                f"refused: {open_now} self-improver pull request(s) are open, the cap max_open_prs={cap}. Nothing "
                "was pushed. Wait until reviewers merge or close some (see list_pull_requests), or raise "
                "max_open_prs in the config (SELF_IMPROVER_MAX_OPEN_PRS) if a person agrees"
            )

    async def _check_finding(self, finding_id: str | None) -> str | None:
        """Refuse an unknown finding id before publishing anything; a memory outage only earns a note."""
        if not finding_id:
            return None
        try:
            await memory.get_finding(self._memory(), finding_id)
        except UnavailableError as exc:
            return (
                f"memory could not be checked ({exc}); the finding is linked on the next sync_pull_requests"
            )
        return None

    # -- memory --------------------------------------------------------------------------------------

    async def _link(self, provider: str, pull: PullRequest, ids: list[str]) -> tuple[bool, str | None]:
        """Write pr_number/pr_status into the findings `ids`; mark the record synced when that worked."""
        try:
            for finding in ids:
                await memory.update_finding(
                    self._memory(), finding, {"pr_number": pull.number, "pr_status": pull.status}
                )
        except NotFoundError as exc:
            return False, f"the finding was not updated: {exc}"
        except UnavailableError as exc:
            return False, f"memory was not updated ({exc}); sync_pull_requests will retry"
        await asyncio.to_thread(
            self.records.set_fields, provider, pull.repo, pull.number, synced_state=pull.status
        )
        return bool(ids), None

    async def _linked_findings(self, pull: PullRequest) -> list[str]:
        """The finding named in the pull request, plus findings of its signature that cite its number."""
        ids = [pull.finding_id] if pull.finding_id else []
        if pull.signature:
            recalled = await memory.recall_findings(
                self._memory(), signature=pull.signature, where={"pr_number": pull.number}, top_k=20
            )
            ids += [f.id for f in recalled.findings if f.match == "signature" and f.id not in ids]
        return ids

    # -- list and sync -------------------------------------------------------------------------------

    def _repos(self, repo: str | None) -> list[RepoConfig]:
        if repo is not None:
            return [self.repo_config(repo)]
        if not self.settings.repos:
            raise NotFoundError(
                "no repositories are configured: add a [[repos]] table (name, path, default_branch, github) "
                "to the config file"
            )
        repos = sorted(self.settings.repos, key=lambda r: r.name)
        if self.settings.pr_provider == "github":
            repos = [r for r in repos if r.github]  # the others cannot have GitHub pull requests
            if not repos:
                raise NotFoundError(
                    "pr_provider is 'github' but no configured repo has `github = \"owner/name\"`: add it to the "
                    "[[repos]] tables, or set pr_provider = 'local'"
                )
        return repos

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
        checked, pending, changes = 0, 0, []
        for cfg in self._repos(repo):
            provider = self.provider_for(cfg)
            checked += await asyncio.to_thread(self._refresh, provider, cfg)
            for pull in await asyncio.to_thread(self.records.unsynced, provider.name, cfg.name):
                before = pull.recorded_status
                try:
                    ids = await self._linked_findings(pull)
                    for finding in ids:
                        await memory.update_finding(
                            self._memory(), finding, {"pr_number": pull.number, "pr_status": pull.status}
                        )
                except UnavailableError:
                    pending += 1
                    continue
                except NotFoundError:
                    ids = []
                await asyncio.to_thread(
                    self.records.set_fields, provider.name, cfg.name, pull.number, synced_state=pull.status
                )
                changes.append(
                    StateChange(
                        repo=cfg.name,
                        number=pull.number,
                        signature=pull.signature,
                        before=before,
                        after=pull.status,
                        findings_updated=ids,
                    )
                )
        note = (
            f"memory is unavailable: {pending} change(s) not recorded, call sync_pull_requests again"
            if pending
            else None
        )
        return SyncResult(checked=checked, changes=changes, pending=pending, note=note)

    def _refresh(self, provider: PullProvider, cfg: RepoConfig) -> int:
        """Bring our records of one repo up to date with the provider; returns how many were read."""
        if provider.name == "local":
            return len(self.records.to_refresh("local", cfg.name, SYNC_LIMIT))
        fresh: set[int] = set()
        for pull in provider.page(cfg, "open", None, SYNC_LIMIT):  # also adopts ones opened elsewhere
            self.records.record(provider.name, pull)
            fresh.add(pull.number)
        for known in self.records.to_refresh(provider.name, cfg.name, SYNC_LIMIT):
            if known.number in fresh:
                continue
            try:
                self.records.record(provider.name, provider.get(cfg, known.number))
            except NotFoundError:
                continue
            fresh.add(known.number)
        return len(fresh)

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

    # -- auto-merge and revert (merge_policy.py), serialised with opens --------------------------------

    async def merge_pull_request(
        self, repo: str, number: int, policy: AutoMergePolicy, actor: str = "self-improver"
    ) -> MergeResult:
        """Merge #number when the auto-merge policy allows it, else explain each failed rule; audited."""
        async with self._lock:
            return await merge_policy.merge_pull_request(self, repo, number, policy, actor)

    async def open_revert_pull_request(
        self, repo: str, number: int, verdict: VerdictLike, actor: str = "self-improver"
    ) -> OpenedPullRequest:
        """Open `self-improver/revert-<number>` for a pull request we merged whose verdict is worse."""
        async with self._lock:
            return await merge_policy.open_revert_pull_request(self, repo, number, verdict, actor)

    def merge_audit(self) -> MergeAudit:
        """Every merge attempt and revert (merge_audit in pulls.db): `.entries(repo=, number=, ...)`."""
        return merge_policy.merge_audit(self)


# -- argument checks (before anything touches git or the network) ---------------------------------------


def _check_signature(signature: str) -> str:
    value = (signature or "").strip()
    if not SIGNATURE_RE.match(value):
        raise ToolInputError(
            f"signature {signature!r} is not an error signature: send the 12 hex characters from top_errors, "
            "e.g. '3b8fe4199281'"
        )
    return value


def _check_text(title: str, body: str, labels: list[str]) -> tuple[str, str, list[str]]:
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


def _check_branch(cfg: RepoConfig, branch: str) -> None:
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


async def _commit(cfg: RepoConfig, branch: str, what: str) -> str:
    sha = await asyncio.to_thread(git.commit_of, cfg.path, branch)
    if sha is None:
        hint = (
            "apply the fix first and pass the branch it was committed on"
            if what == "the fix branch"
            else "set default_branch in the repo's [[repos]] table"
        )
        raise NotFoundError(f"{what} {branch!r} does not exist in repo {cfg.name!r} ({cfg.path}): {hint}")
    return sha
