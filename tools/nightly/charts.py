"""The report's pictures as plain SVG text: no plotting library, nothing to install.

Two charts: the daily failure rate with merged fixes as labelled vertical lines, and small multiples
of daily counts for the top signatures (one panel each, same days, own scale). Every label that may
come from telemetry is XML-escaped and stripped of escape sequences, control characters and characters
XML cannot hold.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from xml.sax.saxutils import escape

from ..support.text import strip_control

FONT = "font-family=\"system-ui, -apple-system, 'Segoe UI', sans-serif\""
LINE = "#1f6feb"
FAIL = "#cf222e"
MERGE = "#8250df"
GRID = "#d0d7de"
MUTED = "#57606a"
_NOT_XML = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


@dataclass(frozen=True)
class RatePoint:
    day: date
    total: int
    failed: int

    @property
    def rate(self) -> float | None:
        return self.failed / self.total if self.total else None


@dataclass(frozen=True)
class MergeMark:
    """A merged fix: `position` in days from the first day's start (2.5 = noon of the third day)."""

    position: float
    label: str
    signature: str | None = None


@dataclass(frozen=True)
class CountSeries:
    signature: str
    label: str
    counts: list[int]


def text(value: str, limit: int | None = None) -> str:
    """Safe SVG/XML text: escape sequences, control and invalid characters dropped, cut to `limit`, escaped."""
    clean = _NOT_XML.sub("", strip_control(value))
    if limit is not None and len(clean) > limit:
        clean = clean[: limit - 1].rstrip() + "…"
    return escape(clean, {'"': "&quot;"})


def nice_ceiling(value: float) -> float:
    """The smallest of 1, 2, 2.5, 5 x 10^k that is >= value (axis maxima people can read)."""
    if value <= 0:
        return 1.0
    power = 10 ** math.floor(math.log10(value))
    for step in (1, 2, 2.5, 5, 10):
        if value <= step * power + 1e-12:
            return step * power
    return 10 * power


def _svg(width: int, height: int, title: str, body: list[str]) -> str:
    return "\n".join(
        [
            f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
            f'viewBox="0 0 {width} {height}" role="img" aria-label="{text(title)}" {FONT} font-size="11">',
            f"<title>{text(title)}</title>",
            f'<rect x="0" y="0" width="{width}" height="{height}" fill="#ffffff"/>',
            *body,
            "</svg>",
            "",
        ]
    )


def _day_labels(days: list[date], x_of: Callable[[float], float], y: float) -> list[str]:
    every = max(1, math.ceil(len(days) / 10))
    out = []
    for index, day in enumerate(days):
        if index % every == 0 or index == len(days) - 1:
            out.append(
                f'<text x="{x_of(index + 0.5):.1f}" y="{y:.1f}" text-anchor="middle" fill="{MUTED}">'
                f"{day:%m-%d}</text>"
            )
    return out


def failure_rate_chart(points: list[RatePoint], merges: list[MergeMark], title: str) -> str:
    """Daily failure rate (failed / all tasks) as a line, with merged fixes as dashed vertical lines."""
    width, height = 760, 300
    left, right, top, bottom = 56, 20, 70, 40
    plot_w, plot_h = width - left - right, height - top - bottom
    n = max(1, len(points))
    rates = [p.rate for p in points]
    y_max = nice_ceiling(max([r for r in rates if r is not None] or [0.01]) * 1.1)

    def x_of(position: float) -> float:
        return left + plot_w * position / n

    def y_of(rate: float) -> float:
        return top + plot_h * (1 - rate / y_max)

    body = [
        f'<text x="{left}" y="20" font-size="14" font-weight="600">{text(title)}</text>',
        f'<text x="{left}" y="38" fill="{MUTED}">failed / all tasks per local day; dashed lines: merged fixes</text>',
    ]
    for i in range(5):
        value = y_max * i / 4
        y = y_of(value)
        body.append(f'<line x1="{left}" y1="{y:.1f}" x2="{width - right}" y2="{y:.1f}" stroke="{GRID}"/>')
        body.append(
            f'<text x="{left - 6}" y="{y + 4:.1f}" text-anchor="end" fill="{MUTED}">{value * 100:.3g}%</text>'
        )
    body += _day_labels([p.day for p in points], x_of, height - bottom + 16)
    segments: list[list[str]] = [[]]
    for index, point in enumerate(points):
        if point.rate is None:
            segments.append([])
            continue
        segments[-1].append(f"{x_of(index + 0.5):.1f},{y_of(point.rate):.1f}")
    for segment in segments:
        if len(segment) > 1:
            body.append(
                f'<polyline points="{" ".join(segment)}" fill="none" stroke="{LINE}" stroke-width="2"/>'
            )
    for index, point in enumerate(points):
        if point.rate is None:
            continue
        tip = f"{point.day.isoformat()}: {point.failed} of {point.total} failed ({point.rate * 100:.1f}%)"
        body.append(
            f'<circle cx="{x_of(index + 0.5):.1f}" cy="{y_of(point.rate):.1f}" r="3" fill="{LINE}">'
            f"<title>{text(tip)}</title></circle>"
        )
    body += _merge_lines(merges, x_of, top, height - bottom, n)
    return _svg(width, height, title, body)


def _merge_lines(
    merges: list[MergeMark], x_of: Callable[[float], float], y_top: float, y_bottom: float, n: int
) -> list[str]:
    out = []
    for rank, mark in enumerate(sorted(merges, key=lambda m: m.position)):
        if not 0 <= mark.position <= n:
            continue
        x = x_of(mark.position)
        label_y = y_top - 6 - 12 * (rank % 2)  # alternate heights so neighbours do not overlap
        out.append(
            f'<line x1="{x:.1f}" y1="{y_top - 4:.1f}" x2="{x:.1f}" y2="{y_bottom:.1f}" stroke="{MERGE}" '
            'stroke-width="1.5" stroke-dasharray="4 3"/>'
        )
        out.append(
            f'<text x="{x + 3:.1f}" y="{label_y:.1f}" fill="{MERGE}" font-weight="600">{text(mark.label, 24)}</text>'
        )
    return out


def signature_panels(days: list[date], series: list[CountSeries], merges: list[MergeMark], title: str) -> str:
    """Small multiples: one bar chart of daily failures per signature, each on its own scale."""
    columns = 2
    panel_w, panel_h, gap = 370, 140, 12
    rows = max(1, math.ceil(len(series) / columns))
    width = columns * panel_w + (columns + 1) * gap
    height = 36 + rows * (panel_h + gap)
    body = [f'<text x="{gap}" y="22" font-size="14" font-weight="600">{text(title)}</text>']
    if not series:
        body.append(
            f'<text x="{gap}" y="60" fill="{MUTED}">No failures with a signature in this window.</text>'
        )
    for index, one in enumerate(series):
        ox = gap + (index % columns) * (panel_w + gap)
        oy = 36 + (index // columns) * (panel_h + gap)
        body += _panel(
            days, one, [m for m in merges if m.signature == one.signature], ox, oy, panel_w, panel_h
        )
    return _svg(width, height, title, body)


def _panel(
    days: list[date], one: CountSeries, merges: list[MergeMark], ox: int, oy: int, w: int, h: int
) -> list[str]:
    left, top, bottom = 34, 44, 20
    plot_w, plot_h = w - left - 8, h - top - bottom
    n = max(1, len(days))
    y_max = max(1, max(one.counts or [0]))

    def x_of(position: float) -> float:
        return ox + left + plot_w * position / n

    out = [
        f'<rect x="{ox}" y="{oy}" width="{w}" height="{h}" fill="#f6f8fa" stroke="{GRID}" rx="4"/>',
        f'<text x="{ox + 8}" y="{oy + 16}" font-weight="600">{text(one.signature)}</text>',
        f'<text x="{ox + 8}" y="{oy + 30}" fill="{MUTED}">{text(one.label, 62)}</text>',
        f'<text x="{ox + w - 8}" y="{oy + 16}" text-anchor="end" fill="{MUTED}">{sum(one.counts)} in '
        f"{len(days)} days</text>",
        f'<text x="{ox + left - 4}" y="{oy + top + 8}" text-anchor="end" fill="{MUTED}">{y_max}</text>',
        f'<text x="{ox + left - 4}" y="{oy + top + plot_h}" text-anchor="end" fill="{MUTED}">0</text>',
        f'<line x1="{ox + left}" y1="{oy + top + plot_h}" x2="{ox + w - 8}" y2="{oy + top + plot_h}" '
        f'stroke="{GRID}"/>',
    ]
    bar_w = max(1.0, plot_w / n - 1.5)
    for index, count in enumerate(one.counts):
        if not count:
            continue
        bar_h = plot_h * count / y_max
        out.append(
            f'<rect x="{x_of(index) + 0.75:.1f}" y="{oy + top + plot_h - bar_h:.1f}" width="{bar_w:.1f}" '
            f'height="{bar_h:.1f}" fill="{FAIL}"><title>{days[index].isoformat()}: {count}</title></rect>'
        )
    for label in (0, len(days) - 1):
        if 0 <= label < len(days):
            anchor = "start" if label == 0 else "end"
            x = x_of(label) if label == 0 else x_of(label + 1)
            out.append(
                f'<text x="{x:.1f}" y="{oy + h - 6}" text-anchor="{anchor}" fill="{MUTED}">'
                f"{days[label]:%m-%d}</text>"
            )
    for mark in merges:
        if 0 <= mark.position <= n:
            x = x_of(mark.position)
            out.append(
                f'<line x1="{x:.1f}" y1="{oy + top - 6}" x2="{x:.1f}" y2="{oy + top + plot_h}" stroke="{MERGE}" '
                'stroke-width="1.5" stroke-dasharray="4 3"/>'
            )
            out.append(
                f'<text x="{x + 3:.1f}" y="{oy + top - 2}" fill="{MERGE}">{text(mark.label, 24)}</text>'
            )
    return out
