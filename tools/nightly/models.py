"""What one nightly run gathers, step by step; the report and the run record are written from it.

Text in these objects that comes from telemetry (titles, messages) was redacted by the tools that
returned it; it is still untrusted data and the report fences it as such. So are the telemetry
warnings (they quote stored status values and column names).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any, Literal

from ..errors.refresh import RefreshReport
from ..errors.results import TopErrors
from ..errors.signature_marks import Mute
from ..insights.results import ImpactResult, SlowOperations
from ..pulls.models import MergedPullRequest, PullRequest
from ..telemetry.models import DaySummary, FailureTrend
from .charts import CountSeries
from .runs import RunRecord

StepStatus = Literal["ok", "failed", "skipped"]
Outcome = Literal["ok", "degraded", "partial", "failed", "locked-out"]
_NUMBER = re.compile(r"\b\d+\b")


@dataclass
class StepResult:
    name: str
    title: str
    status: StepStatus
    detail: str
    seconds: float

    def as_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "status": self.status,
            "detail": self.detail,
            "seconds": round(self.seconds, 3),
        }


@dataclass
class FindingNote:
    """A finding remembered (or found already remembered) for a new or escalating signature."""

    signature: str
    title: str
    state: str
    finding_id: str
    created: bool


@dataclass
class VerdictRow:
    """One merged fix: its impact result, or why it could not be measured."""

    pull: MergedPullRequest
    result: ImpactResult | None = None
    problem: str | None = None
    memory_note: str | None = None
    revert_note: str | None = None  # what happened to a fix judged `worse`
    comment_note: str | None = None  # the verdict comment on the PR: posted, unchanged, or why not


@dataclass
class AgentOutcome:
    command: str
    exit_code: int | None
    duration_seconds: float
    timed_out: bool
    output_tail: str
    log_path: str
    mcp_config: str
    prompt_file: str
    error: str | None = None

    @property
    def succeeded(self) -> bool:
        return self.error is None and not self.timed_out and self.exit_code == 0

    def as_json(self) -> dict[str, Any]:
        return {
            "command": self.command,
            "exit_code": self.exit_code,
            "duration_seconds": round(self.duration_seconds, 3),
            "timed_out": self.timed_out,
            "output_tail": self.output_tail,
            "log_path": self.log_path,
            "error": self.error,
        }


@dataclass
class TelemetryWarning:
    """A telemetry warning the night's results carried, and which results (first: the one quoted).

    Results over different windows warn about the same problem with different figures (`'error' (12)`
    in one window, `'error' (48)` in a wider one): they are one warning, quoted from the first source.
    """

    text: str
    sources: list[str]

    def line(self) -> str:
        also = f" (also in: {', '.join(self.sources[1:])})" if len(self.sources) > 1 else ""
        return f"{self.sources[0]}: {self.text}{also}"


def warning_key(text: str) -> str:
    """What makes two warnings the same: their text with standalone numbers (counts, dates) ignored."""
    return _NUMBER.sub("#", " ".join(text.split()))


@dataclass
class NightData:
    """Everything a run learned; fields stay None/empty when their step failed or was skipped."""

    run_id: int
    now: datetime
    timezone: str
    night: date
    telemetry_path: str  # a path or a URL with its password masked
    chart_days: int
    sandbox: str | None = None  # how run_checks runs model-written code here (when repos are configured)
    refresh: RefreshReport | None = None
    merged: list[MergedPullRequest] = field(default_factory=list)
    resolved: list[str] = field(default_factory=list)
    verdicts: list[VerdictRow] = field(default_factory=list)
    yesterday: DaySummary | None = None
    today: DaySummary | None = None
    trend: FailureTrend | None = None
    top: TopErrors | None = None
    watch: TopErrors | None = None
    series: list[CountSeries] = field(default_factory=list)
    signatures_in_window: int = 0
    findings: list[FindingNote] = field(default_factory=list)
    slow: SlowOperations | None = None
    pulls: list[PullRequest] = field(default_factory=list)
    pulls_note: str | None = None
    crashed: list[RunRecord] = field(default_factory=list)
    steps: list[StepResult] = field(default_factory=list)
    agent: AgentOutcome | None = None
    dry_run: bool = False  # steps that would write outside the data dir only say what they would do
    would: list[str] = field(default_factory=list)  # what a dry run left undone, one sentence each
    mutes: list[Mute] = field(default_factory=list)  # mutes made or lifted in the last day
    notify: str | None = None  # what became of the webhook notification (sent, failed, would send)

    @property
    def warnings(self) -> list[TelemetryWarning]:
        """Every telemetry warning of the night's results, each once, widest window first."""
        sources: list[tuple[str, list[str]]] = []
        if self.trend and self.trend.days:
            trend = self.trend.days
            sources.append((f"failure trend {trend[0].day} to {trend[-1].day}", self.trend.warnings))
        if self.top:
            sources.append(("top errors (last 7 days and today)", self.top.warnings))
        if self.watch:
            sources.append(("new and escalating errors (last 7 days and today)", self.watch.warnings))
        if self.yesterday:
            sources.append((f"summary of {self.yesterday.day}", self.yesterday.warnings))
        if self.today:
            sources.append((f"summary of {self.today.day} so far", self.today.warnings))
        for row in self.verdicts:
            if row.result:
                sources.append((f"impact of PR #{row.pull.number} ({row.pull.repo})", row.result.warnings))
        if self.slow:
            sources.append(("slow operations", self.slow.warnings))
        found: dict[str, TelemetryWarning] = {}
        for source, texts in sources:
            for text in texts:
                seen = found.setdefault(warning_key(text), TelemetryWarning(text, []))
                if source not in seen.sources:
                    seen.sources.append(source)
        return list(found.values())

    @property
    def chart_dates(self) -> list[date]:
        """The charts' complete local days: `chart_days` days ending yesterday."""
        first = self.night - timedelta(days=self.chart_days)
        return [first + timedelta(days=i) for i in range(self.chart_days)]

    def counts(self) -> dict[str, int]:
        """The run record's counts: what the night added and decided."""
        opened = [p for p in self.pulls if p.created_at >= _iso_day_before(self.now)]
        return {
            "new_tasks": self.refresh.new_tasks if self.refresh else 0,
            "new_signatures": self.refresh.new_signatures if self.refresh else 0,
            "signatures": self.signatures_in_window,
            "findings": sum(1 for f in self.findings if f.created),
            "findings_existing": sum(1 for f in self.findings if not f.created),
            "merged_prs": len(self.merged),
            "resolved": len(self.resolved),
            "verdicts": sum(1 for v in self.verdicts if v.result is not None),
            "open_prs": sum(1 for p in self.pulls if p.status == "open"),
            "prs_opened": len(opened),
            "failed_steps": sum(1 for s in self.steps if s.status == "failed"),
        }


def _iso_day_before(now: datetime) -> str:
    return (now - timedelta(days=1)).astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")
