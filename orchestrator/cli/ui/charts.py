"""Small SVG charts for the web console: a time-series line chart with an optional
horizontal target line, and a waterfall of spans. Each chart also carries its data as
``data-*`` attributes and a plain table follows it on the page, so it reads without
pictures and tests can check the numbers.

Pure: numbers in, SVG text out.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass

from orchestrator.cli.ui.html import clock, esc, seconds

W, H, LEFT, BOTTOM, TOP = 720, 200, 44, 22, 10
COLOURS = ("c0", "c1", "c2", "c3")


def _nice_max(value: float) -> float:
    if value <= 0:
        return 1.0
    for step in (1, 2, 2.5, 5, 10):
        for scale in (0.01, 0.1, 1, 10, 100, 1000, 10000, 100000):
            if step * scale >= value:
                return step * scale
    return value


def line_chart(title: str, series: dict[str, Sequence[tuple[float, float]]], start: float,
               end: float, target: float | None = None, target_label: str = "") -> str:
    top = max([v for pts in series.values() for _, v in pts] + [target or 0.0, 0.0])
    ymax = _nice_max(top * 1.1)
    span = max(end - start, 1.0)

    def x(t: float) -> float:
        return LEFT + (t - start) / span * (W - LEFT - 8)

    def y(v: float) -> float:
        return TOP + (1 - v / ymax) * (H - TOP - BOTTOM)

    parts = [f'<line class="axis" x1="{LEFT}" y1="{H - BOTTOM}" x2="{W - 8}" y2="{H - BOTTOM}"/>',
             f'<line class="axis" x1="{LEFT}" y1="{TOP}" x2="{LEFT}" y2="{H - BOTTOM}"/>']
    for frac in (0.0, 0.5, 1.0):
        value = ymax * frac
        parts.append(f'<text class="tick" x="{LEFT - 4}" y="{y(value) + 4:.0f}" '
                     f'text-anchor="end">{value:g}</text>')
    for frac in (0.0, 0.5, 1.0):
        t = start + span * frac
        anchor = "start" if frac == 0 else "end" if frac == 1 else "middle"
        parts.append(f'<text class="tick" x="{x(t):.0f}" y="{H - 6}" '
                     f'text-anchor="{anchor}">{clock(t)}</text>')
    if target is not None:
        parts.append(f'<line class="target" x1="{LEFT}" x2="{W - 8}" y1="{y(target):.1f}" '
                     f'y2="{y(target):.1f}"/><text class="target-label" x="{W - 10}" '
                     f'y="{y(target) - 4:.0f}" text-anchor="end">'
                     f'{esc(target_label or "target")} {target:g}</text>')
    legend = []
    for i, (name, points) in enumerate(series.items()):
        cls = COLOURS[i % len(COLOURS)]
        if points:
            coords = " ".join(f"{x(t):.1f},{y(v):.1f}" for t, v in points)
            parts.append(f'<polyline class="series {cls}" data-series="{esc(name)}" '
                         f'points="{coords}"/>')
        legend.append(f'<span class="key {cls}">{esc(name)}</span>')
    data = json.dumps({name: len(points) for name, points in series.items()})
    target_attr = f' data-target="{target:g}"' if target is not None else ""
    return (f'<figure class="chart" data-points="{esc(data)}"{target_attr}>'
            f'<figcaption>{esc(title)} <span class="legend">{"".join(legend)}</span>'
            f'</figcaption><svg viewBox="0 0 {W} {H}" role="img" aria-label="{esc(title)}" '
            f'xmlns="http://www.w3.org/2000/svg">{"".join(parts)}</svg></figure>')


@dataclass(frozen=True)
class Span:
    label: str
    start: float
    duration: float | None
    kind: str = "state"      # state | retry | failed | aws | segment
    note: str = ""


def waterfall(spans: Sequence[Span], start: float, end: float) -> str:
    """One row per span: a bar placed by its start and length within [start, end]
    (drawn in SVG: the console's Content-Security-Policy allows no inline styles)."""
    total = max(end - start, 1e-3)
    rows = []
    for span in spans:
        length = span.duration if span.duration is not None else end - span.start
        left = max(0.0, (span.start - start) / total * 100)
        width = max(0.4, min(100 - left, length / total * 100))
        rows.append(
            f'<li class="span {esc(span.kind)}"><span class="label" title="{esc(span.label)}">'
            f'{esc(span.label)}</span><svg class="track" viewBox="0 0 100 10" '
            f'preserveAspectRatio="none" aria-hidden="true"><rect class="bar" '
            f'x="{left:.2f}" width="{width:.2f}" y="0" height="10"/></svg>'
            f'<span class="dur">{seconds(span.duration)}</span>'
            f'<span class="note">{esc(span.note)}</span></li>')
    return f'<ol class="waterfall">{"".join(rows)}</ol>'
