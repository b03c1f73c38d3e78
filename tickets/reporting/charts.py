"""Charts drawn on the server as SVG: no script, no CDN, printable, and each one sits beside
the table that holds its numbers (screen readers read the table; the SVG is labelled).

Two shapes cover the reports: horizontal bars per category (grouped or stacked) and a
series over days or weeks (columns, with lines on top)."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

WIDTH = 640
LABEL_WIDTH = 170
ROW = 18
GAP = 8
LEGEND = 22
TIME_HEIGHT = 230
MAX_TIME_LABELS = 10


@dataclass(frozen=True)
class Series:
    name: str
    values: Sequence[float | None]


def hbars(
    title: str, categories: Sequence[str], series: Sequence[Series], *, stacked: bool = False
) -> SafeString:
    """One row per category; a bar per series side by side, or the series stacked."""
    per_row = 1 if stacked else len(series)
    top = LEGEND if len(series) > 1 else 4
    height = top + len(categories) * (per_row * ROW + GAP) + 4
    totals: list[float]
    if stacked:
        totals = [sum(s.values[i] or 0 for s in series) for i in range(len(categories))]
    else:
        totals = [v or 0 for s in series for v in s.values]
    scale = (WIDTH - LABEL_WIDTH - 60) / max(max(totals, default=0), 1)
    parts = [_legend(series)] if len(series) > 1 else []
    y = top
    for index, category in enumerate(categories):
        parts.append(
            _text(LABEL_WIDTH - 6, y + per_row * ROW / 2 + 4, _short(category), anchor="end")
        )
        x: float = LABEL_WIDTH
        for number, one in enumerate(series):
            value = one.values[index] or 0
            width = value * scale
            bar_y = y if stacked else y + number * ROW
            parts.append(
                f'<rect class="s{number}" x="{x:.1f}" y="{bar_y:.1f}" width="{width:.1f}" '
                f'height="{ROW - 3}"><title>{escape(category)}, {escape(one.name)}: '
                f"{_number(value)}</title></rect>"
            )
            if not stacked:
                parts.append(_text(x + width + 4, bar_y + ROW - 6, _number(value)))
            else:
                x += width
        if stacked:
            parts.append(_text(x + 4, y + ROW - 6, _number(totals[index])))
        y += per_row * ROW + GAP
    return _svg(title, height, parts)


def over_time(
    title: str,
    labels: Sequence[str],
    columns: Sequence[Series] = (),
    lines: Sequence[Series] = (),
    *,
    percent: bool = False,
) -> SafeString:
    """Columns per day or week (grouped), lines on top; `percent` for rates 0..1."""
    left, right, top, bottom = 44, 10, LEGEND + 4, 24
    plot_w, plot_h = WIDTH - left - right, TIME_HEIGHT - top - bottom
    values = [v for s in (*columns, *lines) for v in s.values if v is not None]
    peak = 1.0 if percent else _nice(max(values, default=0))
    step = plot_w / max(len(labels), 1)
    y_of = lambda value: top + plot_h - (value / peak) * plot_h  # noqa: E731
    parts = [_legend([*columns, *lines], lines_from=len(columns))]
    for tick in (0, peak / 2, peak):
        y = y_of(tick)
        parts.append(
            f'<line class="grid" x1="{left}" x2="{WIDTH - right}" y1="{y:.1f}" y2="{y:.1f}"/>'
        )
        parts.append(
            _text(left - 4, y + 4, _percent(tick) if percent else _number(tick), anchor="end")
        )
    width = step * 0.8 / max(len(columns), 1)
    for number, one in enumerate(columns):
        for index, value in enumerate(one.values):
            if not value:
                continue
            x = left + index * step + step * 0.1 + number * width
            parts.append(
                f'<rect class="s{number}" x="{x:.1f}" y="{y_of(value):.1f}" width="{width:.1f}" '
                f'height="{plot_h - (y_of(value) - top):.1f}"><title>{escape(labels[index])}, '
                f"{escape(one.name)}: {_number(value)}</title></rect>"
            )
    for number, one in enumerate(lines, start=len(columns)):
        parts.extend(_line(one, number, labels, left, step, y_of, percent))
    every = max(1, math.ceil(len(labels) / MAX_TIME_LABELS))
    for index in range(0, len(labels), every):
        parts.append(
            _text(left + index * step + step / 2, TIME_HEIGHT - 6, labels[index], anchor="middle")
        )
    return _svg(title, TIME_HEIGHT, parts)


def _line(one: Series, number: int, labels, left, step, y_of, percent: bool) -> list[str]:
    """A polyline per unbroken run of values (a day without a value breaks the line)."""
    parts: list[str] = []
    run: list[tuple[float, float]] = []
    for index, value in enumerate([*one.values, None]):
        if value is None:
            if run:
                points = " ".join(f"{x:.1f},{y:.1f}" for x, y in run)
                parts.append(f'<polyline class="l{number}" points="{points}"/>')
            run = []
            continue
        x, y = left + index * step + step / 2, y_of(value)
        run.append((x, y))
        shown = _percent(value) if percent else _number(value)
        parts.append(
            f'<circle class="l{number}" cx="{x:.1f}" cy="{y:.1f}" r="2.5"><title>'
            f"{escape(labels[index])}, {escape(one.name)}: {shown}</title></circle>"
        )
    return parts


def _legend(series: Sequence[Series], lines_from: int | None = None) -> str:
    """Swatches and names; series from `lines_from` on are drawn as lines."""
    parts, x = [], LABEL_WIDTH // 4
    for number, one in enumerate(series):
        shape = "l" if lines_from is not None and number >= lines_from else "s"
        parts.append(f'<rect class="{shape}{number}" x="{x}" y="4" width="12" height="12"/>')
        parts.append(_text(x + 16, 14, one.name))
        x += 16 + 7 * len(one.name) + 18
    return "".join(parts)


def _svg(title: str, height: float, parts: list[str]) -> SafeString:
    return mark_safe(  # noqa: S308 - every text inside went through escape()
        f'<svg class="chart" viewBox="0 0 {WIDTH} {height:.0f}" role="img" '
        f'aria-label="{escape(title)}" xmlns="http://www.w3.org/2000/svg">'
        f"<title>{escape(title)}</title>{''.join(parts)}</svg>"
    )


def _text(x: float, y: float, text: str, *, anchor: str = "start") -> str:
    return f'<text x="{x:.1f}" y="{y:.1f}" text-anchor="{anchor}">{escape(text)}</text>'


def _short(label: str, limit: int = 28) -> str:
    """A category name that fits left of the bars (the table beside has it whole)."""
    return label if len(label) <= limit else label[: limit - 1] + "…"


def _nice(value: float) -> float:
    """The axis' top: the value rounded up to 1, 2 or 5 times a power of ten."""
    if value <= 0:
        return 1
    power = 10 ** math.floor(math.log10(value))
    return next(m * power for m in (1, 2, 5, 10) if m * power >= value)


def _number(value: float) -> str:
    return f"{value:,.0f}" if float(value).is_integer() else f"{value:,.1f}"


def _percent(value: float) -> str:
    return f"{value * 100:.0f}%"
