"""The rules: each a small pure function from an event (or the clock) to the follow-ups it wants.

A rule returns Plans (send this to that audience at that time) and Cancels (drop what is pending for an
entity). It never sends anything and never reads the database: handlers.py gives it what it needs and
stores what it returns; the scheduler sends what comes due. Rule names are stable: they key follow-ups,
name templates (templates/<language>/<rule>.txt) and are what recipients unsubscribe from."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from hub.events.v1 import companies_pb2 as companies_ev

from services.notifications.config import Config
from services.notifications.domain import MANAGERS, Action, Plan, company_contacts, recipient

# Rule names (the first part of every follow-up key)
COMPANY_SELECTED = "company.selected"
COMPANY_WELCOME = "company.welcome"
COMPANY_STATUS_NOTE = "company.status_note"

RULES: dict[str, str] = {
    COMPANY_SELECTED: "congratulations to a company's people when it is selected",
    COMPANY_WELCOME: "a welcome to each person of a company when it moves in (or when they join a resident company)",
    COMPANY_STATUS_NOTE: "a note to the program managers when a company's status changes",
}

# Values every template may be rendered with in tests, beyond the companies context (see the unit tests).
SAMPLE_CONTEXT: dict[str, Any] = {}


def company_context(company: companies_ev.CompanySnapshot) -> dict[str, Any]:
    return {"company": company.name, "company_ko": company.korean_name, "company_en": company.english_name}


def _immediate(now: datetime, cfg: Config) -> dict[str, Any]:
    return {"due_at": now, "expires_at": now + timedelta(hours=cfg.expire_after_hours)}


def company_status_changed(
    event: companies_ev.CompanyStatusChanged, *, contacts: list[str], now: datetime, cfg: Config
) -> list[Action]:
    """SELECTED: congratulations to the company. RESIDENT: a welcome to each of its people (contacts are
    their sources, e.g. people/7). Any change: a note to the program managers."""
    company = event.company
    context = company_context(company) | {
        "from_status": event.from_status,
        "to_status": event.to_status,
        "reason": event.reason,
    }
    actions: list[Action] = [
        Plan(COMPANY_STATUS_NOTE, company.name, event.to_status, audience=(MANAGERS,), company=company.name,
             context=context, **_immediate(now, cfg)),
    ]  # fmt: skip
    if event.to_status == "SELECTED":
        actions.append(
            Plan(COMPANY_SELECTED, company.name, "SELECTED", audience=(company_contacts(company.name),),
                 company=company.name, context=context, **_immediate(now, cfg))
        )  # fmt: skip
    if event.to_status == "RESIDENT":
        actions += [welcome(company, person, now=now, cfg=cfg) for person in contacts]
    return actions


def welcome(company: companies_ev.CompanySnapshot, person: str, *, now: datetime, cfg: Config) -> Plan:
    """One welcome per person and company: keyed by the person, so a re-delivered event or a later
    edit of the person sends nothing twice."""
    return Plan(COMPANY_WELCOME, company.name, person, audience=(recipient(person),), company=company.name,
                context=company_context(company), **_immediate(now, cfg))  # fmt: skip


def person_joined(
    person: companies_ev.PersonSnapshot, company: companies_ev.CompanySnapshot | None, *, now: datetime, cfg: Config
) -> list[Action]:
    """A person registered with (or moved to) a company that is already resident gets its welcome."""
    if company is None or company.status != "RESIDENT" or company.HasField("delete_time"):
        return []
    return [welcome(company, person.name, now=now, cfg=cfg)]
