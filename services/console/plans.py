"""The hub's floors drawn as SVG plans: each private office a room with its number, its occupant (a link to the
company) and since when; the open space's desks as a grid, taken ones filled. Drawn on the server, read by the
browser with its own Korean fonts, like the charts."""

from __future__ import annotations

from dataclasses import dataclass
from html import escape

ROOM_W, ROOM_H, GAP, PER_ROW = 150, 92, 10, 4
DESK, DESK_GAP, DESKS_PER_ROW = 44, 8, 10


@dataclass(frozen=True)
class Room:
    label: str  # 601, D-07
    occupant: str  # the company's Korean name, "" when free
    link: str  # /companies/3, "" when free
    since: str  # the move-in day as the page writes it


def _text(x: float, y: float, text: str, css: str) -> str:
    return f'<text x="{x:.0f}" y="{y:.0f}" class="{css}">{escape(text)}</text>'


def _short(name: str, length: int = 9) -> str:
    return name if len(name) <= length else name[: length - 1] + "…"


def offices(title: str, rooms: list[Room], free_word: str) -> str:
    rows = (len(rooms) + PER_ROW - 1) // PER_ROW
    width, height = PER_ROW * (ROOM_W + GAP) + GAP, rows * (ROOM_H + GAP) + GAP
    parts = [f'<svg class="plan" viewBox="0 0 {width} {height}" role="img" aria-label="{escape(title)}">',
             f"<title>{escape(title)}</title>"]  # fmt: skip
    for i, room in enumerate(rooms):
        x, y = GAP + (i % PER_ROW) * (ROOM_W + GAP), GAP + (i // PER_ROW) * (ROOM_H + GAP)
        state = "taken" if room.occupant else "free"
        box = [f'<rect x="{x}" y="{y}" width="{ROOM_W}" height="{ROOM_H}" rx="6" class="room {state}"/>',
               _text(x + 10, y + 22, room.label, "room-label")]  # fmt: skip
        if room.occupant:
            box += [_text(x + 10, y + 50, _short(room.occupant), "occupant")]
            box += [_text(x + 10, y + 74, room.since, "since")]
        else:
            box.append(_text(x + 10, y + 50, free_word, "free-word"))
        group = "".join(box)
        parts.append(f'<a href="{escape(room.link)}">{group}</a>' if room.link else f"<g>{group}</g>")
    parts.append("</svg>")
    return "".join(parts)


def desks(title: str, rooms: list[Room]) -> str:
    rows = (len(rooms) + DESKS_PER_ROW - 1) // DESKS_PER_ROW
    width = DESKS_PER_ROW * (DESK + DESK_GAP) + DESK_GAP
    height = rows * (DESK + DESK_GAP) + DESK_GAP
    parts = [f'<svg class="plan" viewBox="0 0 {width} {height}" role="img" aria-label="{escape(title)}">',
             f"<title>{escape(title)}</title>"]  # fmt: skip
    for i, desk in enumerate(rooms):
        x = DESK_GAP + (i % DESKS_PER_ROW) * (DESK + DESK_GAP)
        y = DESK_GAP + (i // DESKS_PER_ROW) * (DESK + DESK_GAP)
        state = "taken" if desk.occupant else "free"
        tip = f"{desk.label}: {desk.occupant} ({desk.since})" if desk.occupant else desk.label
        label = _text(x + DESK / 2, y + DESK / 2 + 4, desk.label[-2:], "desk-label")
        cell = (
            f'<rect x="{x}" y="{y}" width="{DESK}" height="{DESK}" rx="4" class="desk {state}">'
            f"<title>{escape(tip)}</title></rect>{label}"
        )
        parts.append(f'<a href="{escape(desk.link)}">{cell}</a>' if desk.link else cell)
    parts.append("</svg>")
    return "".join(parts)
