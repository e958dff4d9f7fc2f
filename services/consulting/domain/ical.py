"""Calendars in iCalendar (RFC 5545): a mentor's or a company's sessions, for any calendar app."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime

import icalendar

from services.consulting.domain.common import ICAL_DOMAIN
from services.consulting.domain.sessions import CANCELLED, NO_SHOW, Session

# iCalendar (RFC 5545)


@dataclass(frozen=True)
class CalendarEntry:
    session: Session
    summary: str
    location: str = ""
    description: str = ""


def session_uid(session_id: int) -> str:
    """Stable for the life of the session, so a calendar app updates the event rather than adding one."""
    return f"session-{session_id}@{ICAL_DOMAIN}"


def to_ical(title: str, entries: Iterable[CalendarEntry]) -> bytes:
    calendar = icalendar.Calendar()
    calendar.add("prodid", "-//Hub CRM//consulting//KO")
    calendar.add("version", "2.0")
    calendar.add("calscale", "GREGORIAN")
    calendar.add("method", "PUBLISH")
    calendar.add("x-wr-calname", title)
    for entry in entries:
        s = entry.session
        event = icalendar.Event()
        event.add("uid", session_uid(s.id))
        event.add("sequence", s.sequence)
        event.add("dtstamp", s.updated_at or s.created_at or datetime.now(UTC))
        event.add("dtstart", s.start)
        event.add("dtend", s.end)
        event.add("summary", entry.summary)
        event.add("status", "CANCELLED" if s.state in (CANCELLED, NO_SHOW) else "CONFIRMED")
        if entry.location:
            event.add("location", entry.location)
        if entry.description:
            event.add("description", entry.description)
        if s.updated_at:
            event.add("last-modified", s.updated_at)
        calendar.add_component(event)
    return bytes(calendar.to_ical())
