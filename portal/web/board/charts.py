"""SVG chart geometry, computed here so the templates only draw (no inline styles: classes
and SVG presentation attributes only, for the Content-Security-Policy)."""
from __future__ import annotations

from dataclasses import dataclass


@dataclass
class Line:
    label: str
    css: str
    segments: list[str]          # "x,y x,y ..." per unbroken run of values
    dots: list[tuple[float, float, str]]


@dataclass
class LineChart:
    width: int
    height: int
    left: int
    bottom: int
    x_labels: list[tuple[float, str]]
    y_ticks: list[tuple[float, str]]
    lines: list[Line]


def line_chart(labels: list[str], series: list[tuple[str, str, list[float | None]]], width: int = 640,
               height: int = 240, top_value: float = 1.0) -> LineChart:
    """Rates (0..top_value) over the labels; a None breaks the line."""
    left, right, top, bottom = 44, 24, 12, 28
    w, h = width - left - right, height - top - bottom
    n = max(1, len(labels) - 1)

    def x(i):
        return round(left + w * i / n, 1)

    def y(v):
        return round(top + h * (1 - v / top_value), 1)

    lines = []
    for label, css, values in series:
        segments, run, dots = [], [], []
        for i, v in enumerate(values):
            if v is None:
                if run:
                    segments.append(" ".join(run))
                run = []
                continue
            run.append(f"{x(i)},{y(v)}")
            dots.append((x(i), y(v), f"{labels[i]} {label} {v * 100:.1f}%"))
        if run:
            segments.append(" ".join(run))
        lines.append(Line(label, css, segments, dots))
    ticks = [(y(t * top_value), f"{int(t * 100)}%") for t in (0, 0.25, 0.5, 0.75, 1.0)]
    return LineChart(width, height, left, height - bottom, [(x(i), lab) for i, lab in enumerate(labels)], ticks,
                     lines)


@dataclass
class Bar:
    label: str
    value: int
    y: float
    width: float


def bar_chart(items: list[tuple[str, int]], width: int = 640, row: int = 22) -> dict:
    """Horizontal bars, largest first."""
    label_w = 110
    top = max((v for _, v in items), default=0) or 1
    bars = [Bar(label, v, i * row, round((width - label_w - 60) * v / top, 1)) for i, (label, v) in enumerate(items)]
    return {"width": width, "height": max(row, row * len(items)), "label_w": label_w, "row": row, "bars": bars}
