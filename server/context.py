"""Resources shared by all tools for the life of the server, built once in the lifespan.

Tools reach them through the request context (`resources(ctx)`), never through module globals, so
tests can run several differently configured servers in one process.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mcp.server.mcpserver import Context

from ..tools.telemetry.day_counts import DayCountCache
from ..tools.telemetry.source import TelemetryStore, open_source
from . import tool_log
from .config import Settings

if TYPE_CHECKING:  # the stores below load with their first use, not at start-up
    from ..tools.code.repos import RepoRegistry
    from ..tools.deploys.store import DeployStore
    from ..tools.errors.reports import ErrorContext
    from ..tools.errors.signature_store import SignatureStore
    from ..tools.insights.duration_cache import DurationCache
    from ..tools.memory.store import MemoryStore
    from ..tools.pulls.service import PullRequestService


@dataclass
class AppResources:
    settings: Settings
    telemetry: TelemetryStore
    _memory: MemoryStore | None = field(default=None, repr=False)
    _signatures: SignatureStore | None = field(default=None, repr=False)
    _repos: RepoRegistry | None = field(default=None, repr=False)
    _durations: DurationCache | None = field(default=None, repr=False)
    _pulls: PullRequestService | None = field(default=None, repr=False)
    _deploys: DeployStore | None = field(default=None, repr=False)

    @classmethod
    def from_settings(cls, settings: Settings) -> AppResources:
        source = open_source(settings.telemetry_location, settings.telemetry)
        day_counts = DayCountCache(settings.data_dir / "day_counts.db")
        telemetry = TelemetryStore(source, settings.timezone, settings.now, day_counts)
        return cls(settings=settings, telemetry=telemetry)

    @property
    def memory(self) -> MemoryStore:
        """The findings memory, created on first use (chroma connects lazily, so this never fails)."""
        if self._memory is None:
            from ..tools.memory.store import open_store

            s = self.settings
            self._memory = open_store(
                s.data_dir, s.memory_url, s.embedding, lambda: s.now or datetime.now(UTC)
            )
        return self._memory

    @property
    def errors(self) -> ErrorContext:
        """Error signatures live in their own file in the data dir, never in the user's telemetry db."""
        from ..tools.errors.reports import ErrorContext
        from ..tools.errors.signature_store import SignatureStore

        if self._signatures is None:
            self._signatures = SignatureStore(self.settings.data_dir / "signatures.db")
        s = self.settings
        return ErrorContext(
            self.telemetry,
            self._signatures,
            s.source_root,
            s.repo_root,
            s.redact_emails,
            deploys=self.deploys,
            fix_repos={r.name: Path(r.path) for r in s.repos},
        )

    @property
    def deploys(self) -> DeployStore:
        """When each release went live (data_dir/deploys.db): recorded deploys and first sightings."""
        if self._deploys is None:
            from ..tools.deploys.store import DeployStore

            self._deploys = DeployStore.in_dir(self.settings.data_dir)
        return self._deploys

    @property
    def durations(self) -> DurationCache:
        """Per-day duration histograms of finished days (data_dir/durations.db), so nights read only new days."""
        if self._durations is None:
            from ..tools.insights.duration_cache import DurationCache

            self._durations = DurationCache(self.settings.data_dir / "durations.db")
        return self._durations

    @property
    def pulls(self) -> PullRequestService:
        """Pull requests (GitHub or local), created on first use; its life is one run for max_prs_per_run."""
        if self._pulls is None:
            from ..tools.pulls.service import PullRequestService

            self._pulls = PullRequestService(self.settings, lambda: self.memory, lambda: self.errors)
        return self._pulls

    @property
    def repos(self) -> RepoRegistry:
        """The configured repositories by name; fix worktrees live in data_dir/worktrees."""
        if self._repos is None:
            from ..tools.code.repos import RepoRegistry

            self._repos = RepoRegistry(self.settings.repos, self.settings.data_dir / "worktrees")
        return self._repos

    async def close(self) -> None:
        """Release what the resources hold open (the telemetry connection, memory's chroma client)."""
        await self.telemetry.source.close()
        if self._memory is not None:
            self._memory.close()
        if self._pulls is not None:
            self._pulls.close()


def lifespan_for(settings: Settings) -> Any:
    @asynccontextmanager
    async def lifespan(_server: Any) -> AsyncIterator[AppResources]:
        resources = AppResources.from_settings(settings)
        try:
            yield resources
        finally:
            await resources.close()

    return lifespan


def resources(ctx: Context) -> AppResources:
    found = ctx.request_context.lifespan_context
    if not isinstance(found, AppResources):
        raise RuntimeError("server was built without its lifespan; use server.app.build_server")
    return found


def progress_reporter(ctx: Context) -> Callable[[float, float, str], Awaitable[None]]:
    """Domain code reports progress as (done, total, message); this forwards it as MCP progress
    notifications, and as log notifications: the first at `info` (long work has begun), later ones at
    `debug`."""
    started = False

    async def report(done: float, total: float, message: str) -> None:
        nonlocal started
        await ctx.report_progress(done, total, message)
        await tool_log.send(ctx, "debug" if started else "info", message)
        started = True

    return report
