"""What every nightly step gets: the night (its resources and what it has gathered so far)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any, Protocol

from ..errors.reports import ErrorContext
from ..insights.duration_cache import DurationCache
from ..memory.store import MemoryStore
from ..pulls.service import PullRequestService
from ..telemetry.source import TelemetryStore
from .models import NightData


class NightResources(Protocol):
    """What the steps use (server.context.AppResources has it)."""

    settings: Any
    telemetry: TelemetryStore

    @property
    def errors(self) -> ErrorContext: ...

    @property
    def memory(self) -> MemoryStore: ...

    @property
    def pulls(self) -> PullRequestService: ...

    @property
    def durations(self) -> DurationCache: ...


class Skip(Exception):  # noqa: N818 - a step's way to say "nothing to do", not an error
    """Raised by a step that has nothing to do; the message says why."""


@dataclass
class Night:
    app: NightResources
    data: NightData

    @property
    def now(self) -> datetime:
        return self.data.now

    @property
    def yesterday(self) -> date:
        return self.data.night - timedelta(days=1)

    def source_root(self) -> str | None:
        root = self.app.settings.source_root
        return str(root) if root else None

    @property
    def dry_run(self) -> bool:
        """Steps that would write outside the data dir (pull requests, reverts, notifications) only say
        what they would do."""
        return self.data.dry_run

    def repo_name(self) -> str | None:
        """The repo a finding belongs to, when that is unambiguous (exactly one configured)."""
        repos = self.app.settings.repos
        return repos[0].name if len(repos) == 1 else None


StepFn = Callable[[Night], Awaitable[str]]


@dataclass(frozen=True)
class Step:
    name: str
    title: str
    run: StepFn
    needs: tuple[str, ...] = ()
