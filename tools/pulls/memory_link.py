"""Pull-request state into the findings memory: link a finding to its pull request, and the sync that
reads what happened to our pull requests (merged, closed) and records it as the findings' pr_status.

`pulls.db` remembers what memory last recorded (`synced_state`); a row whose state differs is a change
still to sync, so a memory outage only postpones it to the next `sync_pull_requests`. A pull request
the sync sees closed without merging is handed to `closed` (the service mutes its signatures) before
the change is marked synced, so a failed mute is retried by the next sync too.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

from ..code.repo_config import RepoConfig
from ..memory import service as memory
from ..memory.store import MemoryStore
from ..support.problems import NotFoundError, ToolInputError, UnavailableError
from .models import PullRequest, StateChange, SyncResult
from .providers.base import PullProvider
from .records import PullRecords

SYNC_LIMIT = 200
log = logging.getLogger(__name__)


class MemoryLink:
    def __init__(self, records: PullRecords, memory_store: Callable[[], MemoryStore]):
        self.records = records
        self._memory = memory_store

    async def check_finding(self, finding_id: str | None) -> str | None:
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

    async def link(self, provider: str, pull: PullRequest, ids: list[str]) -> tuple[bool, str | None]:
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

    async def linked_findings(self, pull: PullRequest) -> list[str]:
        """The finding named in the pull request, plus findings of its signature that cite its number."""
        ids = [pull.finding_id] if pull.finding_id else []
        if pull.signature:
            recalled = await memory.recall_findings(
                self._memory(), signature=pull.signature, where={"pr_number": pull.number}, top_k=20
            )
            ids += [f.id for f in recalled.findings if f.match == "signature" and f.id not in ids]
        return ids

    async def sync(
        self,
        repos: list[RepoConfig],
        provider_for: Callable[[RepoConfig], PullProvider],
        closed: Callable[[str, PullRequest], list[str]] | None = None,
    ) -> SyncResult:
        """Read the current state of our pull requests and record changes in memory (pr_status)."""
        checked, pending, changes = 0, 0, []
        for cfg in repos:
            provider = provider_for(cfg)
            checked += await asyncio.to_thread(self.refresh, provider, cfg)
            for pull in await asyncio.to_thread(self.records.unsynced, provider.name, cfg.name):
                before = pull.recorded_status
                try:
                    ids = await self.linked_findings(pull)
                    for finding in ids:
                        await memory.update_finding(
                            self._memory(), finding, {"pr_number": pull.number, "pr_status": pull.status}
                        )
                except UnavailableError:
                    pending += 1
                    continue
                except NotFoundError:
                    ids = []
                muted: list[str] = []
                if closed is not None and pull.status == "closed" and before != "closed":
                    try:
                        muted = await asyncio.to_thread(closed, provider.name, pull)
                    except (UnavailableError, ToolInputError) as exc:
                        log.warning("could not mute the signature of closed #%d: %s", pull.number, exc)
                        pending += 1
                        continue
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
                        muted=muted,
                    )
                )
        note = (
            f"memory is unavailable: {pending} change(s) not recorded, call sync_pull_requests again"
            if pending
            else None
        )
        return SyncResult(checked=checked, changes=changes, pending=pending, note=note)

    def refresh(self, provider: PullProvider, cfg: RepoConfig) -> int:
        """Bring our records of one repo up to date with the provider; returns how many were read."""
        if provider.keeps_own_records:  # its rows are the pull requests: nothing to read
            return len(self.records.to_refresh(provider.name, cfg.name, SYNC_LIMIT))
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
