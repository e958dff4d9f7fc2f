"""Charts drawn as SVG on the server: the browser renders their text with its own fonts, so Korean labels read
as they should, and no script or package is needed to see them."""

from __future__ import annotations

from dataclasses import dataclass
from html import escape

WIDTH, HEIGHT, PAD = 560, 200, 36
SIDE = 64  # room left and right for a value's label (1억 5,000만 원)


@dataclass(frozen=True)
class Series:
    label: str
    points: list[tuple[str, float]]  # (x label, value), in order


def line_chart(series: Series, title: str, shown: list[str] | None = None) -> str:
    """One series as a line with dots and its values; shown: each point's value as it should read (₩…)."""
    if not series.points:
        return ""
    values = [v for _, v in series.points]
    top = max(values) or 1.0
    step = (WIDTH - 2 * SIDE) / max(1, len(values) - 1)
    first = WIDTH / 2 if len(values) == 1 else SIDE  # one point stands in the middle
    xy = [(first + i * step, HEIGHT - PAD - (v / top) * (HEIGHT - 2 * PAD)) for i, v in enumerate(values)]
    labels = shown or [f"{v:,.0f}" for v in values]
    parts = [
        f'<svg class="chart" viewBox="0 0 {WIDTH} {HEIGHT}" role="img" aria-label="{escape(title)}">',
        f"<title>{escape(title)}</title>",
        f'<line x1="{PAD}" y1="{HEIGHT - PAD}" x2="{WIDTH - PAD}" y2="{HEIGHT - PAD}" class="axis"/>',
        '<polyline class="line" fill="none" points="' + " ".join(f"{x:.1f},{y:.1f}" for x, y in xy) + '"/>',
    ]
    for (x, y), (tick, _), label in zip(xy, series.points, labels, strict=True):
        parts += [
            f'<circle cx="{x:.1f}" cy="{y:.1f}" r="3.5" class="dot"/>',
            f'<text x="{x:.1f}" y="{y - 8:.1f}" class="value">{escape(label)}</text>',
            f'<text x="{x:.1f}" y="{HEIGHT - PAD + 16}" class="tick">{escape(tick)}</text>',
        ]
    parts.append("</svg>")
    return "".join(parts)


def bar_chart(series: Series, title: str, shown: list[str] | None = None) -> str:
    """One series as bars with their values above them (a bar of 0 shows no value); shown as in line_chart."""
    if not series.points:
        return ""
    values = [v for _, v in series.points]
    top = max(values) or 1.0
    slot = (WIDTH - 2 * PAD) / len(values)
    bar = min(48.0, slot * 0.6)
    labels = shown or [f"{v:,.0f}" for v in values]
    base = HEIGHT - PAD
    parts = [
        f'<svg class="chart bars" viewBox="0 0 {WIDTH} {HEIGHT}" role="img" aria-label="{escape(title)}">',
        f"<title>{escape(title)}</title>",
        f'<line x1="{PAD}" y1="{base}" x2="{WIDTH - PAD}" y2="{base}" class="axis"/>',
    ]
    for i, ((tick, value), label) in enumerate(zip(series.points, labels, strict=True)):
        middle = PAD + slot * (i + 0.5)
        height = (value / top) * (HEIGHT - 2 * PAD)
        if value > 0:
            parts += [
                f'<rect x="{middle - bar / 2:.1f}" y="{base - height:.1f}" width="{bar:.1f}" height="{height:.1f}" '
                f'class="bar"><title>{escape(tick)}: {escape(label)}</title></rect>',
                f'<text x="{middle:.1f}" y="{base - height - 6:.1f}" class="value">{escape(label)}</text>',
            ]
        parts.append(f'<text x="{middle:.1f}" y="{base + 16}" class="tick">{escape(tick)}</text>')
    parts.append("</svg>")
    return "".join(parts)
