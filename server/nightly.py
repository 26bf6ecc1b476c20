"""`run_nightly`: the whole nightly run, start to finish, as the CLI and the demo call it.

This is the composition root of the nightly feature, so it lives in `server/`: it needs the settings,
the server's resources and its prompts, while `tools/nightly` keeps the domain steps (lock, run records,
steps, report, charts, agent) and never imports the server. It takes the lock, records the run, marks
runs that died as crashed, runs the deterministic steps, writes the report and its charts, then
optionally starts the host agent and writes the report again with the agent's result. Without an agent
command no LLM is involved. At the end, when `notify_url` is set, a short summary is POSTed to it; what
became of it is kept in the run record and never changes the outcome.

A dry run (`dry_run=True`, `self-improver nightly --dry-run`) runs the same steps but writes nothing
outside the data dir: the host agent (which applies patches, opens pull requests and posts comments) is
not started, a fix judged worse is not reverted, no notification is sent; the report says it is a dry
run and lists what would have been done instead.

Outcomes and exit codes (`EXIT_CODES`):

- `ok` (0): every step worked and the telemetry was read without a warning;
- `degraded` (65, EX_DATAERR): every step worked, but the telemetry could not be read as configured
  (failure-like statuses outside `failed_statuses`, unreadable `created_at` values, a mapped column
  that does not exist, tasks only outside the windows...), so the numbers may be wrong. The warnings,
  each with the setting that fixes it, are printed on stderr, head the report and are kept in the run
  record;
- `partial` (1): some step failed, others worked (telemetry warnings, if any, are reported as well);
- `failed` (1): no step worked, or the run itself failed (report not written, stopped by a signal);
- `locked-out` (75, EX_TEMPFAIL): another run holds the lock; try later.
"""

from __future__ import annotations

import asyncio
import logging
import signal
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TypedDict, Unpack
from zoneinfo import ZoneInfo

from ..tools.errors.redact import redact_secrets
from ..tools.nightly.agent import AgentProgress, launch_agent
from ..tools.nightly.host_config import mcp_config, server_entry
from ..tools.nightly.lock import LockedOut, NightlyLock
from ..tools.nightly.models import AgentOutcome, NightData, Outcome, StepResult
from ..tools.nightly.report import write_report
from ..tools.nightly.report_files import reports_dir
from ..tools.nightly.runs import RunRecords, utc_now_text
from ..tools.nightly.steps import STEPS, Night, StepObserver, run_steps
from ..tools.telemetry.locations import masked_url
from .config import Settings
from .context import AppResources
from .prompts import load_prompt_files

log = logging.getLogger(__name__)

CHART_DAYS = 28
PROMPT_NAME = "nightly_self_improvement"
AGENT_STEP = "Run the host agent"
# 65 = EX_DATAERR: the telemetry could not be read as configured; 75 = EX_TEMPFAIL: try later
EXIT_CODES = {"ok": 0, "degraded": 65, "partial": 1, "failed": 1, "locked-out": 75}


@dataclass
class NightlyResult:
    outcome: Outcome
    message: str
    run_id: int | None = None
    report_path: Path | None = None
    chart_paths: list[Path] = field(default_factory=list)
    steps: list[StepResult] = field(default_factory=list)
    counts: dict[str, int] = field(default_factory=dict)
    crashed_runs: list[int] = field(default_factory=list)
    agent: AgentOutcome | None = None
    warnings: list[str] = field(default_factory=list)  # the telemetry warnings, each once

    @property
    def exit_code(self) -> int:
        return EXIT_CODES[self.outcome]


@dataclass
class Observers:
    """Where progress goes (the CLI prints it on stderr); all optional."""

    step: StepObserver | None = None
    agent: AgentProgress | None = None
    note: Callable[[str], None] | None = None  # also gets each telemetry warning, as "WARNING: ..."


class NightOptions(TypedDict, total=False):
    """How to run one night; every key optional."""

    now: datetime | None  # pins the clock (default: settings.now, else the real time)
    agent_cmd: str | None
    config_file: Path | None
    chart_days: int
    observers: Observers | None
    dry_run: bool


def run_nightly(settings: Settings, **options: Unpack[NightOptions]) -> NightlyResult:
    """Run one night (blocking).

    In the main thread SIGTERM (systemd stop, `kill`) ends the run like Ctrl-C does: the agent's
    process group is ended and the run recorded as failed, instead of leaving an orphaned agent.
    """
    run = run_nightly_async(settings, **options)
    if threading.current_thread() is not threading.main_thread():
        return asyncio.run(run)
    previous = signal.signal(signal.SIGTERM, _interrupt)
    try:
        return asyncio.run(run)
    finally:
        signal.signal(signal.SIGTERM, previous)


def _interrupt(signum: int, _frame: object) -> None:
    raise KeyboardInterrupt(f"stopped by signal {signum}")


async def run_nightly_async(settings: Settings, **options: Unpack[NightOptions]) -> NightlyResult:
    now, agent_cmd, config_file = options.get("now"), options.get("agent_cmd"), options.get("config_file")
    chart_days, observers = options.get("chart_days", CHART_DAYS), options.get("observers")
    dry_run = options.get("dry_run", False)
    seen = observers or Observers()
    pinned = _aware(now or settings.now)
    run_now = pinned or datetime.now(UTC)
    # every step sees the same clock; a dry run makes every writing tool only say what it would do
    settings = settings.model_copy(update={"now": run_now, "dry_run": settings.dry_run or dry_run})
    night = run_now.astimezone(ZoneInfo(settings.timezone)).date()
    records = RunRecords.in_dir(settings.data_dir)
    lock = NightlyLock.in_dir(settings.data_dir)
    try:
        lock.acquire(started_at=utc_now_text())
    except LockedOut as exc:
        run_id = records.start(run_now.isoformat(), outcome="locked-out", error=str(exc))
        return NightlyResult("locked-out", str(exc), run_id=run_id)
    with lock:
        run_id = records.start(run_now.isoformat())
        lock.describe(run_id=run_id)
        data = NightData(
            run_id, run_now, settings.timezone, night, masked_url(settings.telemetry_location), chart_days
        )
        data.dry_run = dry_run
        if settings.repos:
            from ..tools.code.sandbox import sandbox_status

            data.sandbox = sandbox_status(settings.sandbox)
        data.crashed = records.mark_crashed(run_id)
        if data.crashed and seen.note:
            seen.note(f"earlier run(s) {', '.join(f'#{r.id}' for r in data.crashed)} had crashed")
        try:
            return await _run(
                settings, data, records, agent_cmd or settings.agent_cmd, config_file, pinned, seen
            )
        except BaseException as exc:
            error = redact_secrets(f"{type(exc).__name__}: {exc}", redact_emails=False)
            if isinstance(exc, KeyboardInterrupt | asyncio.CancelledError):
                error = "stopped (Ctrl-C or SIGTERM) before it finished; the agent, if any, was ended"
            records.finish(run_id, "failed", data.counts(), _steps(data), None, None, error, _warnings(data))
            raise


async def _run(
    settings: Settings,
    data: NightData,
    records: RunRecords,
    agent_cmd: str | None,
    config_file: Path | None,
    pinned: datetime | None,
    seen: Observers,
) -> NightlyResult:
    app = AppResources.from_settings(settings)
    try:
        total = len(STEPS) + (1 if agent_cmd else 0)
        await run_steps(Night(app, data), observe=seen.step, total=total)
    finally:
        await app.close()  # the agent's server opens the same memory: let go of it first
    warnings = _warnings(data)
    if seen.note:
        for warning in warnings:
            seen.note(f"WARNING: {warning}")
    if data.dry_run:
        _dry_run_plan(settings, data, agent_cmd)
        agent_cmd = None  # the agent writes outside the data dir: a dry run only says it would start
    folder = reports_dir(settings.data_dir)
    try:
        files = write_report(data, folder, outcome_of(data))
    except OSError as exc:
        error = f"the report could not be written to {folder}: {exc}"
        records.finish(data.run_id, "failed", data.counts(), _steps(data), None, None, error, warnings)
        return NightlyResult(
            "failed",
            error,
            run_id=data.run_id,
            steps=data.steps,
            counts=data.counts(),
            warnings=warnings,
        )
    if agent_cmd:
        stop = threading.Event()
        try:
            data.agent = await asyncio.to_thread(
                _agent, settings, data, agent_cmd, config_file, pinned, seen, stop
            )
        except BaseException:
            stop.set()  # the run is being ended: so is the agent
            raise
        files = write_report(data, folder, outcome_of(data))
    outcome = outcome_of(data)
    failed = [s.name for s in data.steps if s.status == "failed"]
    failures = "; ".join(f"{s.name}: {s.detail}" for s in data.steps if s.status == "failed")
    records.finish(
        data.run_id,
        outcome,
        data.counts(),
        _steps(data),
        data.agent.as_json() if data.agent else None,
        str(files.markdown),
        failures or None,
        warnings,
    )
    _notify(settings, data, outcome, str(files.markdown))
    records.note_run(data.run_id, data.notify, data.dry_run)
    if data.notify and seen.note and not data.notify.startswith("notification sent"):
        seen.note(data.notify)
    notes = [f"failed: {', '.join(failed)}"] if failed else []
    if warnings:
        notes.append(f"{len(warnings)} telemetry warning(s): the numbers may be wrong, see the report")
    if data.dry_run:
        notes.append("dry run: nothing was written outside the data dir")
    message = f"nightly run #{data.run_id} {outcome}" + (f" ({'; '.join(notes)})" if notes else "")
    return NightlyResult(
        outcome=outcome,
        message=message,
        run_id=data.run_id,
        report_path=files.markdown,
        chart_paths=files.charts,
        steps=data.steps,
        counts=data.counts(),
        crashed_runs=[r.id for r in data.crashed],
        agent=data.agent,
        warnings=warnings,
    )


def _dry_run_plan(settings: Settings, data: NightData, agent_cmd: str | None) -> None:
    """A dry run: record what the parts that write outside the data dir would do."""
    if agent_cmd:
        data.would.append(
            f"start the host agent ({redact_secrets(agent_cmd, redact_emails=False)[:200]}) with the nightly "
            f"prompt: it may apply patches, open up to {settings.max_prs_per_run} pull request(s) and post comments"
        )
        detail = "dry run: the host agent was not started"
        data.steps.append(StepResult("agent", AGENT_STEP, "skipped", detail, 0.0))
    if settings.notify_url is not None:
        data.would.append("POST a summary of this run to notify_url")


def _notify(settings: Settings, data: NightData, outcome: str, report_path: str | None) -> None:
    """POST the run's summary to notify_url (never raises); what happened goes to `data.notify`."""
    if settings.notify_url is None:
        return
    if data.dry_run:
        data.notify = "dry run: no notification sent"
        return
    from ..tools.notify.nightly_summary import nightly_payload
    from ..tools.notify.webhook import post_json

    try:
        delivery = post_json(
            settings.notify_url.get_secret_value(), nightly_payload(data, outcome, report_path)
        )
        data.notify = delivery.describe()
    except Exception as exc:  # a summary that cannot be built must not end the run either
        log.exception("nightly notification failed")
        data.notify = f"notification failed: {type(exc).__name__}"


def outcome_of(data: NightData) -> Outcome:
    """failed when nothing worked; partial when some step failed; degraded when the telemetry warned
    (the numbers may be wrong though every step worked); ok otherwise."""
    statuses = [s.status for s in data.steps]
    if "failed" in statuses:
        return "partial" if "ok" in statuses else "failed"
    return "degraded" if data.warnings else "ok"


def nightly_prompt(settings: Settings, night: str) -> str:
    """The nightly prompt as the MCP prompt renders it, plus where tonight's report is."""
    prompt = next(p for p in load_prompt_files() if p.name == PROMPT_NAME)
    text = prompt.render(days=7, max_prs=min(settings.max_prs_per_run, 10))
    return (
        f"{text}\nThe deterministic part of tonight's run is done: its report is the MCP resource "
        f"`reports://nightly/{night}` (new failures are clustered, merged fixes measured, new and escalating "
        "signatures remembered). Start from it.\n"
    )


def _agent(
    settings: Settings,
    data: NightData,
    command: str,
    config_file: Path | None,
    pinned: datetime | None,
    seen: Observers,
    stop: threading.Event,
) -> AgentOutcome:
    started = time.monotonic()
    night = data.night.isoformat()
    if seen.step:
        seen.step(len(data.steps) + 1, len(data.steps) + 1, AGENT_STEP, None)
    outcome = launch_agent(
        command,
        nightly_prompt(settings, night),
        mcp_config(server_entry(settings, config_file, pinned)),
        Path(settings.data_dir) / "agent",
        night,
        settings.agent_timeout_seconds,
        progress=seen.agent,
        stop=stop,
    )
    if stop.is_set():
        status, detail = "failed", "ended: the nightly run itself was stopped"
    elif outcome.error:
        status, detail = "failed", outcome.error
    elif outcome.timed_out:
        status, detail = (
            "failed",
            f"timed out after {settings.agent_timeout_seconds:g} s; its process group was ended",
        )
    else:
        status = "ok" if outcome.exit_code == 0 else "failed"
        detail = f"exit code {outcome.exit_code}"
    step = StepResult("agent", AGENT_STEP, status, detail, time.monotonic() - started)  # type: ignore[arg-type]
    data.steps.append(step)
    if seen.step:
        seen.step(len(data.steps), len(data.steps), AGENT_STEP, step)
    return outcome


def _steps(data: NightData) -> list[dict[str, object]]:
    return [s.as_json() for s in data.steps]


def _warnings(data: NightData) -> list[str]:
    return [redact_secrets(w.line(), redact_emails=False) for w in data.warnings]


def _aware(moment: datetime | None) -> datetime | None:
    if moment is None:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
