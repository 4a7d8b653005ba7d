"""Bar charts drawn on the server as SVG geometry (no JavaScript, no inline styles).

The template (``templates/governance/_charts.html``) turns a ``Chart`` into ``<svg>`` with
presentation attributes and CSS classes, plus a data table for screen readers. Only the
aggregated points are walked here, never requests.
"""
from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Bar:
    label: str
    value: int
    x: float
    y: float
    w: float
    h: float
    show_label: bool


@dataclass
class Chart:
    width: int
    height: int
    bars: list[Bar]
    max_value: int
    total: int
    horizontal: bool = False
    plot_left: float = 0
    plot_bottom: float = 0
    gridlines: list[tuple[float, int]] = field(default_factory=list)

    @property
    def peak(self) -> Bar | None:
        return max(self.bars, key=lambda b: b.value) if self.bars else None


def _nice_max(value: int) -> int:
    if value <= 5:
        return max(value, 1)
    magnitude = 10 ** (len(str(value)) - 1)
    for step in (1, 2, 2.5, 5, 10):
        top = int(step * magnitude)
        if top >= value:
            return top
    return value


def columns(points: list[tuple[str, int]], width: int = 640, height: int = 220, max_labels: int = 12) -> Chart:
    """Vertical bars over time (day, week, month); every n-th label shown so they do not overlap."""
    left, bottom, top = 40.0, 28.0, 10.0
    top_value = _nice_max(max((v for _, v in points), default=0))
    plot_w, plot_h = width - left - 8, height - bottom - top
    slot = plot_w / max(len(points), 1)
    every = max(1, -(-len(points) // max_labels))
    bars = []
    for i, (label, value) in enumerate(points):
        h = plot_h * value / top_value
        bars.append(Bar(label, value, left + i * slot + slot * 0.15, top + plot_h - h, slot * 0.7, h,
                        i % every == 0 or i == len(points) - 1 and len(points) <= max_labels))
    grid = [(top + plot_h - plot_h * k / 4, round(top_value * k / 4)) for k in range(5)]
    return Chart(width, height, bars, top_value, sum(v for _, v in points), False, left, top + plot_h, grid)


def rows(points: list[tuple[str, int]], width: int = 640, row_height: int = 26) -> Chart:
    """Horizontal bars for categories, channels, districts: one labelled row each."""
    left, right = 150.0, 56.0
    top_value = max((v for _, v in points), default=0) or 1
    plot_w = width - left - right
    bars = [Bar(label, value, left, i * row_height + 4, plot_w * value / top_value, row_height - 8, True)
            for i, (label, value) in enumerate(points)]
    return Chart(width, max(row_height * len(points), row_height), bars, top_value, sum(v for _, v in points),
                 True, left, 0)


def heat(value: int, max_value: int) -> int:
    """0–4: the shade of a tile on the map-like grid."""
    if value <= 0 or max_value <= 0:
        return 0
    return min(4, 1 + int(4 * value / (max_value + 1)))
