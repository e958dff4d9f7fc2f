"""A company's timeline: everything that happened to it, newest first, gathered from the answers of the calls a
company's page makes (applications and their decisions, spaces, sessions, introductions, funding rounds, KPI
reports, support granted, milestones). Facts a service keeps as a day (a move-in, a round's close) stand at
that day's start in the hub's zone."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any
from zoneinfo import ZoneInfo

from google.protobuf.timestamp_pb2 import Timestamp

from services.console.pages.home import _ok
from services.console.web import Page
from services.console.weeks import midnight, timestamp


@dataclass(frozen=True)
class Moment:
    """One line of a company's timeline."""

    when: Timestamp
    kind: str  # company, application, space, session, introduction, round, kpi, support, followup, milestone
    text: str
    link: str = ""


def timeline(page: Page, company: Any, answers: dict[str, Any]) -> list[Moment]:
    _, enum, won = page._, page.filters["enum"], page.filters["won"]
    zone = ZoneInfo(page.app.settings.time_zone)
    moments = [Moment(company.create_time, "company", _("Registered with the hub"))]
    applied, moved_in, session, introduction = _("Applied"), _("Moved in"), _("Session"), _("Introduction")
    report, support, milestone, message = _("KPI report"), _("Support"), _("Milestone"), _("Message")
    for a in _ok(answers, "applications", "applications"):
        text = f"{applied} ({enum(a, 'seat_kind')}) · {enum(a, 'state')}"
        text += f": {a.decision_reason}" if a.decision_reason else ""
        moments.append(Moment(a.create_time, "application", text, f"/selection/{a.round.rpartition('/')[2]}"))
    spaces = {s.name: s.label for s in _ok(answers, "spaces", "spaces")}
    for s in _ok(answers, "occupancy", "assignments"):
        if s.company == company.name:
            when = timestamp(midnight(date(s.move_in_date.year, s.move_in_date.month, s.move_in_date.day), zone))
            moments.append(Moment(when, "space", f"{moved_in}: {spaces.get(s.space, s.space)}", "/spaces"))
    for s in _ok(answers, "sessions", "sessions"):
        text = f"{session}: {s.agenda or s.session_type_display_name or s.session_type} · {enum(s, 'state')}"
        moments.append(Moment(s.interval.start_time, "session", text, f"/{s.name}"))
    for i in _ok(answers, "introductions", "introductions"):
        text = f"{introduction}: {i.firm_display_name or i.firm} · {enum(i, 'state')}"
        moments.append(Moment(i.create_time, "introduction", text))
    for r in _ok(answers, "rounds", "rounds"):
        moments.append(
            Moment(
                r.create_time,
                "round",
                f"{enum(r, 'round_type')} {won(r.amount)} · {enum(r, 'status')}",
                "/investors/rounds",
            )
        )
    for r in _ok(answers, "reports", "reports"):
        moments.append(Moment(r.create_time, "kpi", f"{report} {r.period}"))
    for g in _ok(answers, "support", "grants"):
        moments.append(Moment(g.create_time, "support", f"{support}: {enum(g, 'kind')} {g.amount:,}"))
    for d in _ok(answers, "deliveries", "deliveries"):  # what the follow-ups sent (or try to) about it
        when = d.send_time if d.send_time.seconds else d.create_time
        text = f"{message}: {d.subject or d.rule} → {d.address or d.recipient} · {enum(d, 'state')}"
        moments.append(Moment(when, "followup", text, "/follow-ups"))
    for m in _ok(answers, "milestones", "milestones"):
        moments.append(Moment(m.create_time, "milestone", f"{milestone}: {enum(m, 'kind')}"))
    return sorted(moments, key=lambda m: (m.when.seconds, m.when.nanos), reverse=True)
