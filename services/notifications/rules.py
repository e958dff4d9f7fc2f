"""The rules: each a small pure function from an event (or the clock) to the follow-ups it wants.

A rule returns Plans (send this to that audience at that time) and Cancels (drop what is pending for an
entity). It never sends anything and never reads the database: handlers.py gives it what it needs and
stores what it returns; the scheduler sends what comes due. Rule names are stable: they key follow-ups,
name templates (templates/<language>/<rule>.txt) and are what recipients unsubscribe from."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from hub.events.v1 import companies_pb2 as companies_ev
from hub.events.v1 import ops_pb2 as ops_ev

from services.notifications.config import Config
from services.notifications.domain import (
    MANAGERS,
    SEOUL,
    Action,
    Cancel,
    Plan,
    add_business_days,
    company_contacts,
    recipient,
)

# Rule names (the first part of every follow-up key)
COMPANY_SELECTED = "company.selected"
COMPANY_WELCOME = "company.welcome"
COMPANY_STATUS_NOTE = "company.status_note"

SESSION_REMINDER_24H = "session.reminder_24h"
SESSION_REMINDER_1H = "session.reminder_1h"
SESSION_RECAP = "session.recap"
SESSION_NOTES_NUDGE = "session.notes_nudge"
SESSION_FEEDBACK_FOLLOW_UP = "session.feedback_follow_up"
ACTION_ITEM_REMINDER = "action_item.reminder"
ACTION_ITEM_OVERDUE = "action_item.overdue"
ACTION_ITEM_ESCALATION = "action_item.escalation"
INTRO_CONSENT_REQUEST = "introduction.consent_request"
INTRO_ANSWER_REQUEST = "introduction.answer_request"
INTRO_ANSWER_NUDGE = "introduction.answer_nudge"
INTRO_ESCALATION = "introduction.escalation"
INTRO_ANSWERED = "introduction.answered"
ROUND_CONGRATULATIONS = "round.congratulations"
ROUND_CLOSED_NOTE = "round.closed_note"
KPI_REMINDER = "kpi.reminder"
KPI_REQUEST_REMINDER = "kpi.request_reminder"
KPI_REQUEST_OVERDUE = "kpi.request_overdue"
SIGN_IN_CODE = "access.sign_in_code"
PLAYBOOK_NOTICE = "playbook.notice"
GPU_SLOT_OFFERED = "gpu.slot_offered"

RULES: dict[str, str] = {
    COMPANY_SELECTED: "congratulations to a company's people when it is selected",
    COMPANY_WELCOME: "a welcome to each person of a company when it moves in (or when they join a resident company)",
    COMPANY_STATUS_NOTE: "a note to the program managers when a company's status changes",
    SESSION_REMINDER_24H: "a reminder to the company and the mentor 24 hours before a session",
    SESSION_REMINDER_1H: "a reminder to the company and the mentor 1 hour before a session",
    SESSION_RECAP: "the notes and action items of a completed session, to the company and the mentor",
    SESSION_NOTES_NUDGE: "a nudge to the mentor whose notes of a completed session are still missing at 48 hours",
    SESSION_FEEDBACK_FOLLOW_UP: "the program managers follow up a session rated 1 or a mentor found not a fit",
    ACTION_ITEM_REMINDER: "a reminder the day before an action item falls due",
    ACTION_ITEM_OVERDUE: "a nudge to the owner when an action item is overdue",
    ACTION_ITEM_ESCALATION: "a note to the program managers when an action item stays overdue past the grace period",
    INTRO_CONSENT_REQUEST: "asks a company to consent to a warm introduction",
    INTRO_ANSWER_REQUEST: "asks the partner to answer an introduction the company consented to",
    INTRO_ANSWER_NUDGE: "nudges the partner after N business days without an answer",
    INTRO_ESCALATION: "tells the program managers after 2N business days without an answer",
    INTRO_ANSWERED: "tells the company the partner's answer",
    ROUND_CONGRATULATIONS: "congratulations to a company whose funding round closed",
    ROUND_CLOSED_NOTE: "a note to the program managers when a round closes",
    KPI_REMINDER: "a monthly reminder to a resident company whose KPI report for the last month is missing "
    "(none where a KPI request asks for that month or its quarter: the request's reminders go instead)",
    KPI_REQUEST_REMINDER: "a reminder to a company days before its KPI request falls due",
    KPI_REQUEST_OVERDUE: "a nudge to a company the morning after its KPI request fell due unanswered",
    SIGN_IN_CODE: "a one-time sign-in code, mailed at once to the person who was invited or asked for it",
    PLAYBOOK_NOTICE: "what a playbook's action asks to tell the program managers, a company or a partner",
    GPU_SLOT_OFFERED: "tells the first company waiting for a GPU slot that it was freed (it may book it now)",
}
# Rules a person asked for, now: never muted, never held for quiet hours, mailed only (not to a webhook).
ESSENTIAL = frozenset({SIGN_IN_CODE})
MORNING = time(9)  # day-based reminders go out at 09:00, Seoul time

# Values every template may be rendered with: the previews program managers read (ListMessageTemplates) and
# the unit tests.
SAMPLE_CONTEXT: dict[str, Any] = {
    "company": "companies/3", "company_ko": "메디비전", "company_en": "MediVision", "from_status": "SELECTED",
    "to_status": "RESIDENT",
    "session": "sessions/12", "session_type": "1:1 기술 자문", "mentor": "mentors/4", "mentor_ko": "박교수",
    "mentor_en": "Prof. Park", "start": "2026-12-01T06:00:00+00:00", "end": "2026-12-01T07:00:00+00:00",
    "room": "5층 세미나실 A", "agenda": "GPU 클러스터 활용", "notes": "모델 경량화 방향 논의",
    "action_items": [{"description": "벤치마크 정리", "owner": "김서연", "due_date": "2026-12-08"}],
    "action_item": "actionItems/5", "description": "벤치마크 정리", "owner": "김서연", "due_date": "2026-12-08",
    "introduction": "introductions/7", "firm": "firms/2", "firm_ko": "카이스트벤처스", "firm_en": "KAIST Ventures",
    "partner": "partners/3", "partner_ko": "이파트너", "partner_en": "Lee", "note": "시리즈 A 관심",
    "business_days": 3, "answer": "PARTNER_ACCEPTED", "round": "rounds/9", "round_type": "SERIES_A",
    "amount": 1_530_000_000, "lead_firm_ko": "카이스트벤처스", "lead_firm_en": "KAIST Ventures",
    "close_date": "2026-11-30", "period": "2026-11", "due_day": "2026-12-07", "request": "kpiRequests/4",
    "figures_ko": "인원, 매출", "figures_en": "headcount, revenue",
    "code": "042917", "link": "https://hub.example/sign-in?email=kim%40medi.kr", "invitation": True,
    "expire_at": "2026-12-01T06:15:00+00:00", "role": "FOUNDER", "scope_name": "메디AI", "display_name": "김서연",
    "notes_due": "2026-12-03T07:00:00+00:00", "rating": 1, "fit": "NOT_A_FIT", "comment": "기대와 달랐습니다",
    "actor": "founder:accessTokens/ab12", "reason": "",
    "playbook": "playbooks/1", "playbook_name": "런웨이 6개월 미만", "firing": "firings/3", "kind": "NOTIFY",
    "subject": "companies/3", "message": "런웨이가 6개월 미만입니다.", "facts": {"runway_months": "4.0"},
    "entry": "gpuWaitlist/2", "node": "gpuNodes/1", "node_name": "A100 node 1",
}  # fmt: skip


def named(key: str, name: str, korean: str, english: str) -> dict[str, str]:
    """How the templates name an entity: its resource name, its Korean name (the resource name when we do not know
    it) and its English name ("" when none)."""
    return {key: name, f"{key}_ko": korean or name, f"{key}_en": english}


def company_context(company: companies_ev.CompanySnapshot) -> dict[str, Any]:
    return {"company": company.name, "company_ko": company.korean_name, "company_en": company.english_name}


def _expires(due: datetime, cfg: Config) -> datetime:
    """When a note due then that could not go out is dropped."""
    return due + timedelta(hours=cfg.expire_after_hours)


def _immediate(now: datetime, cfg: Config) -> dict[str, Any]:
    return {"due_at": now, "expires_at": _expires(now, cfg)}


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


# Consulting: sessions and action items. The rules take plain views, so they do not depend on the
# consulting service's event messages; handlers.py translates its events into these.


@dataclass(frozen=True)
class SessionView:
    name: str
    company: str
    mentor: str
    state: str  # SCHEDULED, CANCELLED, COMPLETED, NO_SHOW
    start: datetime
    end: datetime
    mentor_name: str = ""
    session_type: str = ""
    room: str = ""
    agenda: str = ""
    company_ko: str = ""
    company_en: str = ""

    def context(self) -> dict[str, Any]:
        return {
            "session": self.name, **named("company", self.company, self.company_ko, self.company_en),
            "mentor": self.mentor, "mentor_ko": self.mentor_name, "mentor_en": "", "session_type": self.session_type,
            "start": self.start.isoformat(), "end": self.end.isoformat(), "room": self.room, "agenda": self.agenda,
        }  # fmt: skip


@dataclass(frozen=True)
class ActionItemView:
    name: str
    session: str
    company: str
    description: str
    owner: str  # "people/7", or a name as the mentor wrote it
    due_date: date | None
    state: str = "OPEN"
    company_ko: str = ""
    company_en: str = ""
    owner_name: str = ""  # the person's name when the owner is people/N and we know them

    @property
    def owner_shown(self) -> str:
        """What a message calls the owner: a person's name, never their resource name."""
        return self.owner_name or self.owner

    def audience(self) -> tuple[str, ...]:
        """The owner when they are someone we know by name, otherwise the company's people."""
        return (recipient(self.owner),) if self.owner.startswith("people/") else (company_contacts(self.company),)

    def context(self) -> dict[str, Any]:
        return {
            "action_item": self.name, "session": self.session,
            **named("company", self.company, self.company_ko, self.company_en),
            "description": self.description, "owner": self.owner_shown,
            "due_date": self.due_date.isoformat() if self.due_date else "",
        }  # fmt: skip


REMINDERS = ((SESSION_REMINDER_24H, timedelta(hours=24)), (SESSION_REMINDER_1H, timedelta(hours=1)))


def session_changed(session: SessionView, *, now: datetime) -> list[Action]:
    """From a session's newest snapshot: while it is scheduled, reminders 24 h and 1 h before it starts
    (to the company's people and the mentor; those already past are not planned). The occasion is the
    start time, so a moved session cancels the reminders of its old time and plans new ones; a
    cancelled, missed or completed session cancels whatever is pending."""
    rules = tuple(rule for rule, _ in REMINDERS)
    if session.state != "SCHEDULED":
        return [Cancel(session.name, rules, reason=f"the session is {session.state.lower()}")]
    occasion = session.start.isoformat()
    actions: list[Action] = [Cancel(session.name, rules, reason="the session moved", keep_occasions=(occasion,))]
    audience = (company_contacts(session.company), recipient(session.mentor))
    for rule, ahead in REMINDERS:
        due = session.start - ahead
        if due > now:
            actions.append(Plan(rule, session.name, occasion, due, audience, company=session.company,
                                expires_at=session.start, context=session.context()))  # fmt: skip
    return actions


def session_recap(
    session: SessionView, notes: str, items: list[ActionItemView], *, completed_at: datetime, cfg: Config
) -> Plan:
    """The recap after a session: its notes and action items, to the company's people and the mentor. It
    waits a couple of minutes, so that the action items created with the completion are in it (planning
    it again while it is pending updates it)."""
    context = session.context() | {
        "notes": notes,
        "action_items": [
            {
                "description": i.description,
                "owner": i.owner_shown,
                "due_date": i.due_date.isoformat() if i.due_date else "",
            }
            for i in sorted(items, key=lambda i: i.name)
        ],
    }
    due = completed_at + timedelta(minutes=2)
    return Plan(SESSION_RECAP, session.name, "completed", due, (company_contacts(session.company),
                recipient(session.mentor)), company=session.company, context=context,
                expires_at=_expires(due, cfg))  # fmt: skip


def session_notes_nudge(session: SessionView, notes_due: datetime, *, cfg: Config) -> Plan:
    """A session completed without notes: a nudge to the mentor when they fall due (consulting says when: 48
    hours after the completion), unless they are written by then (notes_recorded cancels it)."""
    context = session.context() | {"notes_due": notes_due.isoformat()}
    return Plan(SESSION_NOTES_NUDGE, session.name, "notes", notes_due, (recipient(session.mentor),),
                company=session.company, expires_at=_expires(notes_due, cfg),
                context=context)  # fmt: skip


def notes_recorded(session: SessionView) -> Cancel:
    return Cancel(session.name, (SESSION_NOTES_NUDGE,), reason="the mentor wrote the notes")


def session_feedback(
    session: SessionView, rating: int, fit: str, extra: dict[str, str], *, now: datetime, cfg: Config
) -> list[Action]:
    """A founder's rating of 1 or "not a fit" is followed up by the program managers, at once (extra: the
    comment, who recorded it and why, for the note)."""
    if rating != 1 and fit != "NOT_A_FIT":
        return []
    context = session.context() | {"rating": rating, "fit": fit} | extra
    return [Plan(SESSION_FEEDBACK_FOLLOW_UP, session.name, "feedback", now, (MANAGERS,), company=session.company,
                 expires_at=_expires(now, cfg), context=context)]  # fmt: skip


def morning_of(day: date) -> datetime:
    return datetime.combine(day, MORNING, tzinfo=SEOUL)


def action_item_created(item: ActionItemView, *, now: datetime) -> list[Action]:
    """A reminder at 09:00 the day before the item falls due (unless that has passed)."""
    if item.due_date is None or item.state != "OPEN":
        return []
    due = morning_of(item.due_date - timedelta(days=1))
    if due <= now:
        return []
    return [Plan(ACTION_ITEM_REMINDER, item.name, item.due_date.isoformat(), due, item.audience(),
                 company=item.company, expires_at=morning_of(item.due_date), context=item.context())]  # fmt: skip


def action_item_overdue(item: ActionItemView, *, now: datetime, cfg: Config) -> list[Action]:
    """Overdue (the consulting service says so, once): a nudge to the owner now, and an escalation to the
    program managers after the grace period, in business days from the due date."""
    occasion = item.due_date.isoformat() if item.due_date else "overdue"
    start = morning_of(item.due_date) if item.due_date else now
    escalate = add_business_days(start, cfg.action_item_grace_days)
    context = item.context() | {"business_days": cfg.action_item_grace_days}
    return [
        Plan(ACTION_ITEM_OVERDUE, item.name, occasion, now, item.audience(), company=item.company,
             expires_at=_expires(now, cfg), context=context),
        Plan(ACTION_ITEM_ESCALATION, item.name, occasion, max(escalate, now), (MANAGERS,), company=item.company,
             context=context),
    ]  # fmt: skip


def action_item_done(item: ActionItemView) -> list[Action]:
    rules = (ACTION_ITEM_REMINDER, ACTION_ITEM_OVERDUE, ACTION_ITEM_ESCALATION)
    return [Cancel(item.name, rules, reason="the action item is done")]


# Investors: introductions and rounds


@dataclass(frozen=True)
class IntroductionView:
    name: str
    company: str
    firm: str
    partner: str
    state: str
    note: str = ""
    company_ko: str = ""
    company_en: str = ""
    firm_ko: str = ""
    firm_en: str = ""
    partner_ko: str = ""
    partner_en: str = ""

    def context(self) -> dict[str, Any]:
        return {
            "introduction": self.name, **named("company", self.company, self.company_ko, self.company_en),
            **named("firm", self.firm, self.firm_ko, self.firm_en),
            **named("partner", self.partner, self.partner_ko, self.partner_en), "note": self.note, "answer": self.state,
        }  # fmt: skip


WAITING_FOR_PARTNER = (INTRO_ANSWER_NUDGE, INTRO_ESCALATION)


def introduction_changed(intro: IntroductionView, *, at: datetime, now: datetime, cfg: Config) -> list[Action]:
    """Double opt-in: on the request, ask the company; once it consents, ask the partner, nudge them after
    N business days (Korean public holidays are not business days) and tell the program managers after 2N.
    Any answer, decline or cancellation stops the waiting; an answer is passed on to the company."""
    context = intro.context()
    expires = _expires(now, cfg)
    if intro.state == "REQUESTED":
        return [Plan(INTRO_CONSENT_REQUEST, intro.name, "requested", now, (company_contacts(intro.company),),
                     company=intro.company, expires_at=expires, context=context)]  # fmt: skip
    if intro.state == "COMPANY_CONSENTED":
        n = cfg.nudge_business_days
        # The partner named on it, or every partner of the firm when none is (a firm's partners are kept with
        # their firm as their organisation).
        partner = (recipient(intro.partner),) if intro.partner else (company_contacts(intro.firm),)
        return [
            Plan(INTRO_ANSWER_REQUEST, intro.name, "consented", now, partner, company=intro.company,
                 expires_at=expires, context=context),
            Plan(INTRO_ANSWER_NUDGE, intro.name, "consented", add_business_days(at, n), partner,
                 company=intro.company, context=context | {"business_days": n}),
            Plan(INTRO_ESCALATION, intro.name, "consented", add_business_days(at, 2 * n), (MANAGERS,),
                 company=intro.company, context=context | {"business_days": 2 * n}),
        ]  # fmt: skip
    actions: list[Action] = [Cancel(intro.name, WAITING_FOR_PARTNER, reason=f"the introduction is {intro.state}")]
    if intro.state in ("PARTNER_ACCEPTED", "PARTNER_DECLINED"):
        actions.append(Plan(INTRO_ANSWERED, intro.name, intro.state, now, (company_contacts(intro.company),),
                            company=intro.company, expires_at=expires, context=context))  # fmt: skip
    return actions


@dataclass(frozen=True)
class RoundView:
    name: str
    company: str
    round_type: str
    amount: int  # won
    lead_firm: str = ""
    lead_firm_ko: str = ""
    lead_firm_en: str = ""
    close_date: date | None = None
    company_ko: str = ""
    company_en: str = ""
    participants: list[str] = field(default_factory=list)


def round_closed(round_: RoundView, *, now: datetime, cfg: Config) -> list[Action]:
    """Congratulations to the company, and a note to the program managers."""
    context = {
        "round": round_.name, **named("company", round_.company, round_.company_ko, round_.company_en),
        "round_type": round_.round_type, "amount": round_.amount,
        "lead_firm_ko": round_.lead_firm_ko or round_.lead_firm, "lead_firm_en": round_.lead_firm_en,
        "close_date": round_.close_date.isoformat() if round_.close_date else "",
    }  # fmt: skip
    expires = _expires(now, cfg)
    return [
        Plan(ROUND_CONGRATULATIONS, round_.name, "closed", now, (company_contacts(round_.company),),
             company=round_.company, expires_at=expires, context=context),
        Plan(ROUND_CLOSED_NOTE, round_.name, "closed", now, (MANAGERS,), company=round_.company,
             expires_at=expires, context=context),
    ]  # fmt: skip


def sign_in_code(event: ops_ev.SignInCodeIssued, *, code_id: int, now: datetime) -> Plan:
    """The code at once, to the identity as a recipient of its own (not one of its company's contacts), useful
    until the code expires. Keyed by the code, so a redelivered event mails nothing twice."""
    expires = event.expire_time.ToDatetime(UTC)
    context = {
        "code": event.code, "link": event.link, "expire_at": expires.isoformat(), "invitation": event.invitation,
        "role": event.role, "scope_name": event.scope_name, "display_name": event.display_name,
    }  # fmt: skip
    return Plan(SIGN_IN_CODE, event.identity, f"code-{code_id}", due_at=now, expires_at=expires,
                audience=(recipient(event.identity),), context=context)  # fmt: skip


# Playbooks: a rule's action asks for someone to be told (hub.playbooks.notice.requested).

NOTICE_AUDIENCES = {"PROGRAM_MANAGERS": MANAGERS, "COMPANY": "company", "PARTNER": "partner"}


def playbook_notice(notice: Any, names: dict[str, str], *, now: datetime, cfg: Config) -> list[Action]:
    """One message per firing and action (its occasion), at once: to the program managers, the company's
    people, or the introduction's partner (the program managers when it names none)."""
    audience = {
        "COMPANY": company_contacts(notice.company),
        "PARTNER": recipient(notice.partner) if notice.partner else MANAGERS,
    }.get(notice.audience, MANAGERS)
    context = {
        "playbook": notice.playbook, "playbook_name": notice.display_name, "firing": notice.firing,
        "kind": notice.kind, "subject": notice.subject, "message": notice.message, "facts": dict(notice.facts),
        "company": notice.company,
        **names,
    }  # fmt: skip
    return [Plan(PLAYBOOK_NOTICE, notice.firing, f"action-{notice.action}", audience=(audience,),
                 company=notice.company, context=context, **_immediate(now, cfg))]  # fmt: skip


def gpu_slot_offered(offer: Any, names: dict[str, str], *, now: datetime, cfg: Config) -> Plan:
    """At once, to the company's people; keyed by the waitlist entry, so a redelivered event mails nothing twice.
    offer: hub.consulting.gpu_waitlist.offered (GpuSlotOffered)."""
    context = {
        "entry": offer.entry, "company": offer.company, **names, "node": offer.node,
        "node_name": offer.node_display_name or offer.node,
        "start": offer.start_time.ToDatetime(tzinfo=UTC).isoformat(),
        "end": offer.end_time.ToDatetime(tzinfo=UTC).isoformat(),
    }  # fmt: skip
    return Plan(GPU_SLOT_OFFERED, offer.entry, "offered", audience=(company_contacts(offer.company),),
                company=offer.company, context=context, **_immediate(now, cfg))  # fmt: skip
