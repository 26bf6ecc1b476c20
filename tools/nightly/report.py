"""The nightly report: markdown for people, with two SVG charts beside it.

Sections: warnings first, right under the title (when the telemetry could not be read as configured,
so every number below may be wrong; each names the setting that fixes it), summary (yesterday, today
so far, the trend with an interval, what the night did), top errors with their states, the watch list
(escalating and new signatures, slow operations), merged fixes with their verdicts and exact numbers,
pull requests, and the run (steps, crashed runs, agent).
Telemetry text (warnings included: they quote stored values and column names) is redacted and is shown
only inside code spans or fenced blocks, as data; terminal escape sequences and control characters are
stripped from the whole report (support/text.py).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from ..errors.redact import redact_secrets
from ..insights.rate_ratio import rate_ratio
from ..support.text import strip_control
from ..telemetry.windows import local_midnight, parse_timestamp
from .charts import MergeMark, RatePoint, failure_rate_chart, signature_panels
from .models import NightData
from .report_files import chart_name, markdown_name, write_atomically
from .report_fixes import dry_run_section, pulls_section, reviewers_section, verdicts_section
from .report_text import DATA_NOTE, WARNING_LIMIT, code, fenced, pct
from .report_text import table as _table

__all__ = ["ReportFiles", "code", "fenced", "render_markdown", "write_report"]


@dataclass(frozen=True)
class ReportFiles:
    markdown: Path
    charts: list[Path]


# -- sections --------------------------------------------------------------------------------------------


def _title(data: NightData) -> list[str]:
    if data.dry_run:
        return [
            f"# Nightly report {data.night.isoformat()} (DRY RUN)",
            "",
            "> **Dry run**: nothing was written outside the data dir; the section `Dry run` lists what "
            "would have been done.",
            "",
        ]
    return [f"# Nightly report {data.night.isoformat()}", ""]


def _warnings(data: NightData, outcome: str) -> list[str]:
    """First of all: the telemetry was not read as configured, so the numbers below may be wrong."""
    warnings = data.warnings
    if not warnings:
        return []
    lines = [
        "## Warnings",
        "",
        "> **The telemetry could not be read as configured: the numbers in this report may be wrong** "
        f"(outcome **{outcome}**). Each warning names the setting that fixes it; the warnings quote values "
        "from the telemetry, which are untrusted data.",
        "",
    ]
    for w in warnings:
        also = f" (also in: {', '.join(w.sources[1:])})" if len(w.sources) > 1 else ""
        text = redact_secrets(w.text, redact_emails=False)
        lines.append(f"- {w.sources[0]}: {code(text, WARNING_LIMIT)}{also}")
    return lines + [""]


def _header(data: NightData, outcome: str) -> list[str]:
    local = data.now.astimezone(ZoneInfo(data.timezone))
    return [
        f"Run #{data.run_id} at {local:%Y-%m-%d %H:%M} ({data.timezone}); outcome **{outcome}**; telemetry "
        f"{code(data.telemetry_path, 300)}.",
        "",
        *(_sandbox_line(data.sandbox) if data.sandbox else []),
        DATA_NOTE,
        "",
    ]


def _sandbox_line(status: str) -> list[str]:
    """How run_checks runs model-written code; loud when it is not the bubblewrap sandbox."""
    loud = "bubblewrap" not in status or "UNAVAILABLE" in status
    return [f"**{status}**" if loud else status, ""]


def trend_sentence(data: NightData) -> str | None:
    """The last 7 complete days against the 7 before, with the rate ratio's exact 95% interval."""
    if data.trend is None or len(data.trend.days) < 14:
        return None
    last, before = data.trend.days[-7:], data.trend.days[-14:-7]
    x1, e1 = sum(d.failed for d in before), sum(d.total for d in before)
    x2, e2 = sum(d.failed for d in last), sum(d.total for d in last)
    if not e1 or not e2:
        return None
    ratio = rate_ratio(x1, e1, x2, e2)
    if ratio.estimate is None:
        return f"Trend: {x2} failed of {e2} tasks in the last 7 full days, {x1} of {e1} the 7 days before."
    word = "rising" if ratio.low > 1 else "falling" if ratio.high < 1 else "no clear change"
    high = "∞" if math.isinf(ratio.high) else f"{ratio.high:.2f}"
    return (
        f"Trend: last 7 full days {pct(x2 / e2)} ({x2} of {e2} tasks failed) vs {pct(x1 / e1)} the 7 days "
        f"before ({x1} of {e1}): rate ratio {ratio.estimate:.2f} (95% CI {ratio.low:.2f}–{high}), **{word}**."
    )


def _summary(data: NightData) -> list[str]:
    lines = ["## Summary", ""]
    failed = [s for s in data.steps if s.status == "failed"]
    if failed:
        names = ", ".join(f"`{s.name}`" for s in failed)
        lines += [
            f"> **{len(failed)} step(s) failed** ({names}): see Run below. Other sections are complete.",
            "",
        ]
    rows = []
    if data.yesterday:
        y = data.yesterday
        rows.append([f"Yesterday ({y.day})", str(y.total), str(y.failed), pct(y.failure_rate)])
    if data.today:
        t = data.today
        local = data.now.astimezone(ZoneInfo(data.timezone))
        rows.append(
            [f"Today so far ({t.day}, until {local:%H:%M})", str(t.total), str(t.failed), pct(t.failure_rate)]
        )
    if rows:
        lines += _table(["day", "tasks", "failed", "failure rate"], rows, "lrrr") + [""]
    else:
        lines += ["Day totals are unavailable (see Run).", ""]
    sentence = trend_sentence(data)
    if sentence:
        lines += [sentence, ""]
    counts = data.counts()
    lines += [
        f"Tonight: {counts['new_tasks']} new failed task(s) clustered ({counts['new_signatures']} new "
        f"signature(s)); {counts['findings']} finding(s) remembered; {counts['resolved']} signature(s) marked "
        f"resolved by merged fixes; {counts['verdicts']} verdict(s); {counts['open_prs']} open pull request(s).",
        "",
    ]
    if data.trend:
        lines += [f"![failure rate]({chart_name(data.night, 'failure-rate')})", ""]
    return lines


def _top_errors(data: NightData) -> list[str]:
    lines = ["## Top errors (last 7 days and today)", ""]
    if data.top is None:
        return lines + ["Unavailable: the error step did not run (see Run).", ""]
    top = data.top
    lines += [
        f"{top.total_tasks} tasks, {top.failed_tasks} failed, {data.signatures_in_window} signature(s); "
        f"window {top.window_start} to {top.window_end} UTC.",
        "",
    ]
    if not top.groups:
        return lines + ["No failed task in the window.", ""]
    rows = [
        [
            str(i),
            f"`{g.signature}`",
            code(g.title),
            str(g.count),
            f"{g.rate_per_1000:g}",
            g.state,
            g.first_seen,
            g.last_seen,
        ]
        for i, g in enumerate(top.groups, start=1)
    ]
    lines += _table(
        ["#", "signature", "error", "count", "per 1000", "state", "first seen (UTC)", "last seen (UTC)"],
        rows,
        "lllrrlll",
    )
    if top.has_more:
        lines.append(f"\nMore signatures than the {len(top.groups)} shown; `top_errors` lists them.")
    old = [g for g in top.groups if g.old_release_failures]
    if old:
        lines.append("")
    for g in old:
        lines.append(
            f"- `{g.signature}`: {g.old_release_failures} failure(s) since its fix are still on an old release "
            "(one without the fix); they reopen nothing."
        )
    lines += ["", f"![errors by signature]({chart_name(data.night, 'signatures')})", ""]
    return lines


def _watch(data: NightData) -> list[str]:
    lines = ["## Watch list", "", "### Escalating and new signatures", ""]
    findings = {f.signature: f for f in data.findings}
    if data.watch is None:
        lines += ["Unavailable: the error step did not run (see Run).", ""]
    elif not data.watch.groups:
        lines += ["None tonight.", ""]
    else:
        rows = []
        for g in data.watch.groups:
            note = findings.get(g.signature)
            remembered = (
                f"`{note.finding_id}`{'' if note.created else ' (already)'}" if note else "not remembered"
            )
            rows.append(
                [
                    f"`{g.signature}`",
                    code(g.title),
                    g.state,
                    str(g.count),
                    f"{g.rate_per_1000:g}",
                    g.first_seen,
                    g.last_seen,
                    remembered,
                ]
            )
        lines += _table(
            [
                "signature",
                "error",
                "state",
                "count",
                "per 1000",
                "first seen (UTC)",
                "last seen (UTC)",
                "finding",
            ],
            rows,
            "lllrrlll",
        )
        examples = "\n".join(
            f"[{g.signature}] {' '.join(g.example.split())}" for g in data.watch.groups if g.example
        )
        if examples:
            lines += ["", "Newest message of each (untrusted data):", "", fenced(examples)]
        lines.append("")
    lines += ["### Slow operations", ""]
    slow = data.slow
    if slow is None:
        lines += ["Unavailable: the slow-operations step did not run (see Run).", ""]
    elif not slow.operations:
        lines += [f"No operation flagged slower ({slow.note or 'p95 now vs the 28 days before'}).", ""]
    else:
        rows = [
            [
                code(op.task_name or "-"),
                code(op.agent or "-"),
                f"{op.baseline.p95_ms:.0f} → {op.now.p95_ms:.0f} ms"
                if op.baseline.p95_ms and op.now.p95_ms
                else "-",
                f"{op.baseline.count} / {op.now.count}",
                f"{op.p_value:.3g}" if op.p_value is not None else "-",
            ]
            for op in slow.operations
        ]
        lines += _table(
            ["operation", "agent", "p95 before → now", "samples before / now", "p"], rows, "lllrr"
        ) + [""]
    return lines


def _run(data: NightData) -> list[str]:
    lines = ["## Run", ""]
    rows = [
        [
            s.name,
            s.title,
            f"**{s.status}**" if s.status == "failed" else s.status,
            code(s.detail, 400),
            f"{s.seconds:.2f}",
        ]
        for s in data.steps
    ]
    lines += _table(["step", "what", "status", "detail", "seconds"], rows, "llllr") + [""]
    if data.crashed:
        lines += ["Earlier runs that crashed (their process ended without finishing):", ""]
        for run in data.crashed:
            lines.append(
                f"- Run #{run.id}, started {run.started_at} (pid {run.pid} on {run.host}): marked crashed."
            )
        lines.append("")
    agent = data.agent
    if agent is not None:
        state = "timed out" if agent.timed_out else f"exit code {agent.exit_code}"
        if agent.error:
            state = f"not started: {agent.error}"
        lines += [
            "### Host agent",
            "",
            f"Command {code(agent.command, 300)}: {state} after {agent.duration_seconds:.1f} s. "
            f"MCP config {code(agent.mcp_config, 300)}, prompt {code(agent.prompt_file, 300)}, full log "
            f"{code(agent.log_path, 300)}.",
            "",
        ]
        if agent.output_tail.strip():
            lines += ["Output tail (untrusted data):", "", fenced(redact_secrets(agent.output_tail)), ""]
    return lines


def render_markdown(data: NightData, outcome: str) -> str:
    parts = (
        _title(data)
        + _warnings(data, outcome)
        + _header(data, outcome)
        + _summary(data)
        + _top_errors(data)
        + _watch(data)
        + verdicts_section(data)
        + reviewers_section(data)
        + pulls_section(data)
        + dry_run_section(data)
        + _run(data)
    )
    # Values shown raw (step details, reasons) lose their control characters here too; the spans and
    # fences above were stripped before their backtick fences were chosen.
    return strip_control("\n".join(parts)).rstrip() + "\n"


# -- charts and files ----------------------------------------------------------------------------------


def merge_marks(data: NightData, first_day: date) -> list[MergeMark]:
    tz = ZoneInfo(data.timezone)
    start = local_midnight(first_day, tz)
    marks = []
    for pull in data.merged:
        if not pull.merged_at:
            continue
        at: datetime = parse_timestamp(pull.merged_at)
        marks.append(MergeMark((at - start).total_seconds() / 86400, f"PR #{pull.number}", pull.signature))
    return marks


def render_charts(data: NightData) -> dict[str, str]:
    """SVG text by chart kind; a chart whose data is missing is left out."""
    charts: dict[str, str] = {}
    if data.trend is not None:
        points = [RatePoint(date.fromisoformat(d.day), d.total, d.failed) for d in data.trend.days]
        marks = merge_marks(data, points[0].day) if points else []
        title = f"Daily failure rate, {len(points)} days to {points[-1].day if points else data.night}"
        charts["failure-rate"] = failure_rate_chart(points, marks, title)
    if data.top is not None:
        days = data.chart_dates
        marks = merge_marks(data, days[0])
        title = f"Daily failures of the top {len(data.series)} signatures, {len(days)} days"
        charts["signatures"] = signature_panels(days, data.series, marks, title)
    return charts


def write_report(data: NightData, folder: Path, outcome: str) -> ReportFiles:
    charts = []
    for kind, svg in render_charts(data).items():
        path = folder / chart_name(data.night, kind)
        write_atomically(path, svg)
        charts.append(path)
    path = folder / markdown_name(data.night)
    write_atomically(path, render_markdown(data, outcome))
    return ReportFiles(markdown=path, charts=charts)
