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


LINES = 4  # .s0–.s3 in console.css: each line its colour and its dash, so they are told apart without colour too


def percent_chart(lines: list[Series], title: str) -> str:
    """Several series of percentages (each of its own target) on one scale from 0 to the first of 10, 25, 50,
    100 % that holds them all (a hub a tenth of the way sees its lines apart, not flat at the bottom), named in a
    legend with their last value. The series share their x labels."""
    lines = [s for s in lines if s.points]
    if not lines:
        return ""
    width, height, left, right, upper, lower = 720, 240, 48, 32, 44, 30
    ticks = [x for x, _ in lines[0].points]
    top = _scale(max(v for s in lines for _, v in s.points))
    step = (width - left - right) / max(1, len(ticks) - 1)

    def x(i: int) -> float:
        return (width + left - right) / 2 if len(ticks) == 1 else left + i * step

    def y(value: float) -> float:
        return height - lower - value / top * (height - upper - lower)

    parts = [
        f'<svg class="chart wide" viewBox="0 0 {width} {height}" role="img" aria-label="{escape(title)}">',
        f"<title>{escape(title)}</title>",
    ]
    for k in range(6):  # fifths: each of the scales above reads in round steps
        level = top * k / 5
        parts += [
            f'<line x1="{left}" y1="{y(level):.1f}" x2="{width - right}" y2="{y(level):.1f}" class="grid"/>',
            f'<text x="{left - 6}" y="{y(level) + 4:.1f}" class="scale">{level:g}%</text>',
        ]
    for i, tick in enumerate(ticks):
        parts.append(f'<text x="{x(i):.1f}" y="{height - lower + 18}" class="tick">{escape(tick)}</text>')
    slot = (width - left - right) / len(lines)
    for n, s in enumerate(lines):
        kind = f"s{n % LINES}"
        xy = [(x(i), y(v)) for i, (_, v) in enumerate(s.points)]
        parts.append(f'<polyline class="line {kind}" fill="none" points="'
                     + " ".join(f"{a:.1f},{b:.1f}" for a, b in xy) + '"/>')  # fmt: skip
        for (a, b), (tick, value) in zip(xy, s.points, strict=True):
            shown = f"{s.label} · {tick}: {_percent(value)}"
            parts.append(f'<circle cx="{a:.1f}" cy="{b:.1f}" r="3" class="dot {kind}">'
                         f"<title>{escape(shown)}</title></circle>")  # fmt: skip
        start = left + n * slot
        parts += [
            f'<line x1="{start:.1f}" y1="16" x2="{start + 24:.1f}" y2="16" class="line {kind}"/>',
            f'<text x="{start + 30:.1f}" y="20" class="legend">'
            f"{escape(f'{s.label} {_percent(s.points[-1][1])}')}</text>",
        ]
    parts.append("</svg>")
    return "".join(parts)


def _scale(highest: float) -> float:
    return next((top for top in (10.0, 25.0, 50.0, 100.0) if highest <= top), -(-highest // 25) * 25)


def _percent(value: float) -> str:
    """Whole percents, with a tenth below 10 %, so that a first step does not read as nothing."""
    if 0 < value < 0.1:
        return "<0.1%"
    return f"{value:.1f}%" if 0 < value < 10 and value != int(value) else f"{value:.0f}%"
