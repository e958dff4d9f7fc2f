"""ProgramService's messages <-> the program's domain objects: the *_pb functions (a domain object as its
message), the *_from_pb functions (a request's resource as a checked domain object, before any transaction) and
the events' payloads. Imported by the servicer and the use cases; no database, no gRPC calls."""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import date
from typing import Any, TypedDict

from google.type import money_pb2
from hub.companies.v1 import kpi_requests_pb2 as kpb
from hub.companies.v1 import program_pb2 as pb
from hub.events.v1 import companies_pb2 as ev

from hubcore import errors
from hubcore.convert import Reader, Writer, calendar_date, money, timestamp
from hubcore.requests import enum_number, enum_short, parse_name
from hubcore.server import REVIEWER, caller
from hubcore.text import clean
from services.companies.program import domain

# The enums' prefixes: tables and events carry the short names (PRIVATE_OFFICE), messages the numbers.
SEAT, STATE, SPACE, REASON, SUPPORT = "SEAT_KIND", "APPLICATION_STATE", "SPACE_KIND", "MOVE_OUT_REASON", "SUPPORT_KIND"
MILESTONE, COHORT = "MILESTONE_KIND", "COHORT_KIND"
CADENCE, FIGURE, AUDIENCE = "KPI_CADENCE", "KPI_FIGURE", "KPI_AUDIENCE"
SCALE, REVIEW = "SCORE_SCALE", "REVIEW_STATE"


def applicant(value: str, field: str) -> str:
    """companies/{id} or people/{id}, normalized."""
    collection = "people" if value.startswith("people/") else "companies"
    try:
        return f"{collection}/{parse_name(value, collection, field)}"
    except errors.InvalidArgument:
        raise errors.invalid(field, "must look like companies/<number> or people/<number>") from None


def year(text: str) -> int:
    """A filter's year (move_in_year=2026)."""
    if not re.fullmatch(r"(19|20|21)[0-9]{2}", text.strip()):
        raise ValueError(f"{text!r} is not a year like 2025")
    return int(text)


# Selection


def round_from_pb(message: pb.Round) -> domain.Round:
    seats: dict[str, int] = {}
    for i, s in enumerate(message.seats):
        if not s.kind or s.count <= 0:
            raise errors.invalid(f"round.seats[{i}]", "needs a kind and a positive count")
        seats[enum_short(pb.SeatKind, SEAT, s.kind)] = seats.get(enum_short(pb.SeatKind, SEAT, s.kind), 0) + s.count
    criteria = []
    for i, c in enumerate(message.criteria):
        if not c.key.strip() or len(c.key) > 30:
            raise errors.invalid(f"round.criteria[{i}].key", "is required, up to 30 characters")
        criteria.append(domain.Criterion(c.key.strip(), clean(c.title), c.weight))
    open_date = calendar_date(message.open_date, "round.open_date")
    close_date = calendar_date(message.close_date, "round.close_date")
    missing = [
        (f, "is required") for f, v in (("round.open_date", open_date), ("round.close_date", close_date)) if v is None
    ]
    if missing:
        raise errors.InvalidArgument(missing)
    assert open_date and close_date
    r = domain.Round(0, clean(message.title), open_date, close_date, seats, criteria, list(message.questions))
    domain.check_round(r)
    return r


criterion_pb = Writer(pb.Round.Criterion, domain.Criterion)
round_pb = Writer(
    pb.Round,
    domain.Round,
    rename={"application_count": "applications"},
    compute={
        "seats": lambda r: [
            pb.Round.Seats(kind=enum_number(pb.SeatKind, SEAT, k), count=n) for k, n in sorted(r.seats.items())
        ],
        "criteria": lambda r: [criterion_pb(c) for c in r.criteria],
    },
)


def application_from_pb(message: pb.Application) -> domain.Application:
    """The application, its round left to the use case (round_id 0)."""
    who = applicant(message.applicant, "application.applicant")
    seat_kind = enum_short(pb.SeatKind, SEAT, message.seat_kind)
    domain.check_applicant_seat(who, seat_kind)
    answers = [(clean(a.question), a.text.strip()) for a in message.answers]
    return domain.Application(0, 0, who, seat_kind, answers, list(message.attachment_urls))


application_pb = Writer(
    pb.Application,
    domain.Application,
    refs={"round": "rounds"},
    rename={"applicant_display_name": "applicant_name"},
    compute={"answers": lambda a: [pb.Application.Answer(question=q, text=t) for q, t in a.answers]},
)
conflict_pb = Writer(pb.Conflict, domain.Conflict)


def scale(number: int) -> str:
    """A ranking's scale: RAW unless NORMALIZED is asked for."""
    return enum_short(pb.ScoreScale, SCALE, number) or domain.RAW


# Reviewers


class ReviewerFields(TypedDict):
    korean_name: str
    english_name: str
    email: str
    affiliation: str


reviewer_fields = Reader(pb.Reviewer, ReviewerFields, "reviewer")
reviewer_pb = Writer(pb.Reviewer, domain.Reviewer)
review_assignment_pb = Writer(pb.ReviewAssignment, domain.ReviewAssignment, rename={"assign_time": "assigned_at"})


def own_reviewer() -> int | None:
    """The reviewer a reviewer's token names (its id); None for every other caller."""
    who = caller()
    return parse_name(who.scope, "reviewers", "scope") if who.role == REVIEWER else None


def acting(sent: str, field: str, reason: str = "") -> domain.Acting:
    """Who a selection call acts as. A reviewer: the one their token names, never another (a request naming
    another is PERMISSION_DENIED). Anyone else (a program manager): the reviewer the request names, with the reason
    they give; a name that is not reviewers/N is a free-text reviewer, as recorded before reviewers existed."""
    who, sent = caller(), sent.strip()
    if who.role == REVIEWER:
        if sent and sent != who.scope:
            raise errors.PermissionDenied(f"a reviewer may act only for {who.scope}")
        return domain.Acting(who.scope, own=True)
    if not sent:
        raise errors.invalid(field, "is required: the reviewer (reviewers/<number>)")
    if sent.startswith("reviewers/"):
        return domain.Acting(f"reviewers/{parse_name(sent, 'reviewers', field)}", reason=reason.strip())
    return domain.Acting(domain.reviewer_key(sent), reason=reason.strip())


score_pb = Writer(
    pb.Score, domain.Score, compute={"values": lambda s: s.values, "weighted": lambda s: float(s.weighted)}
)


def ranking_pb(standings: Sequence[domain.Standing], scale: str) -> pb.RankApplicationsResponse:
    return pb.RankApplicationsResponse(
        scale=enum_number(pb.ScoreScale, SCALE, scale),
        entries=[
            pb.RankApplicationsResponse.Entry(
                rank=s.rank,
                application=s.entry.application,
                applicant=s.entry.applicant,
                weighted_score=float(s.entry.score) if s.entry.score is not None else 0.0,
                reviews=s.entry.reviews,
                state=enum_number(pb.ApplicationState, STATE, s.state),
                explanation=s.entry.explanation,
                normalized_score=s.entry.normalized or 0.0,
            )
            for s in standings
        ],
    )


_decided = Writer(
    ev.ApplicationDecided,
    domain.Application,
    rename={"application": "name", "decision": "state", "reason": "decision_reason"},
    skip=("round",),
)


def decided_event(a: domain.Application, r: domain.Round) -> ev.ApplicationDecided:
    return _decided(a, round=r.name)


# Spaces


def space_from_pb(message: pb.Space) -> domain.Space:
    label = clean(message.label)
    domain.check_space(floor=message.floor, seats=message.seats)
    return domain.Space(0, enum_short(pb.SpaceKind, SPACE, message.kind), label, message.floor, message.seats)


space_pb = Writer(pb.Space, domain.Space)


def stay_holder(message: pb.Assignment) -> tuple[str, str]:
    """The holder a new assignment names and its field: holder, or company as older clients give it."""
    if message.holder and message.company and message.holder != message.company:
        raise errors.invalid("assignment.holder", f"names {message.holder} but assignment.company {message.company}")
    given = message.holder or not message.company
    return (message.holder, "assignment.holder") if given else (message.company, "assignment.company")


def stay_from_pb(message: pb.Assignment) -> domain.Assignment:
    """A new assignment's space, holder (a company or a person) and dates, checked (id 0)."""
    company_id, person_id = domain.holder_ids(*stay_holder(message))
    move_in = calendar_date(message.move_in_date, "assignment.move_in_date")
    move_out = calendar_date(message.move_out_date, "assignment.move_out_date")
    space_id, stay = parse_name(message.space, "spaces", "assignment.space"), domain.check_stay(move_in, move_out)
    return domain.Assignment(0, space_id, company_id, stay, move_out, person_id=person_id)


def ending_from_pb(request: pb.EndAssignmentRequest) -> tuple[int, date, str]:
    """The assignment to end (its id), the move-out date, which is required, and the reason."""
    assignment_id = parse_name(request.name, "assignments")
    move_out = calendar_date(request.move_out_date, "move_out_date")
    if move_out is None:
        raise errors.invalid("move_out_date", "is required")
    return assignment_id, move_out, enum_short(pb.MoveOutReason, REASON, request.reason)


assignment_pb = Writer(
    pb.Assignment,
    domain.Assignment,
    refs={"space": "spaces", "company": "companies"},
    rename={"move_in_date": "move_in", "move_out_date": "move_out", "space_kind": "kind"},
)
occupancy_pb = Writer(
    pb.Occupancy,
    domain.Occupancy,
    rename={"date": "day"},
    compute={"assignments": lambda o: [assignment_pb(a) for a in o.assignments]},
)


# KPI reports and trends


def _amount(message: pb.KpiReport, field: str) -> tuple[int | None, str]:
    """An optional Money figure as (whole units or None when unset, the currency it was sent in)."""
    if not message.HasField(field):  # type: ignore[arg-type]
        return None, ""
    value = getattr(message, field)
    if value.nanos:
        raise errors.invalid(f"report.{field}.nanos", "must be 0: figures are whole won or dollars")
    return int(value.units), value.currency_code


def _count(message: pb.KpiReport, field: str) -> int | None:
    return getattr(message, field) if message.HasField(field) else None  # type: ignore[arg-type]


def kpi_from_pb(message: pb.KpiReport, *, today: date) -> domain.KpiReport:
    """The report, its company left to the use case (company_id 0); an optional figure left unset is None."""
    period = domain.check_period(message.period, today=today)
    (cash, cash_in), (burn, burn_in), (exports, exports_in) = (
        _amount(message, f) for f in ("cash_on_hand", "monthly_burn", "exports")
    )
    counts: dict[str, Any] = {f: _count(message, f) for f in ("full_time_employees", "hires", "ip_filed", "ip_granted")}
    currencies = {
        f"report.{f}": (sent, wanted)
        for f, value, sent, wanted in (
            ("cash_on_hand", cash, cash_in, "KRW"), ("monthly_burn", burn, burn_in, "KRW"),
            ("exports", exports, exports_in, "USD"),
        )
        if value is not None
    }  # fmt: skip
    domain.check_figures(
        currency=message.revenue.currency_code,
        figures={
            "report.headcount": message.headcount, "report.revenue.units": message.revenue.units,
            "report.customers": message.customers, "report.patents": message.patents,
            "report.cash_on_hand.units": cash, "report.monthly_burn.units": burn, "report.exports.units": exports,
            **{f"report.{f}": v for f, v in counts.items()},
        },
        currencies=currencies,
    )  # fmt: skip
    return domain.KpiReport(
        0, 0, period, message.headcount, message.revenue.units, message.customers, message.patents,
        note=message.note.strip(), cash_on_hand_krw=cash, monthly_burn_krw=burn, exports_usd=exports,
        overseas_countries=domain.check_countries(message.overseas_countries), **counts,
    )  # fmt: skip


def _usd(amount: int | None) -> money_pb2.Money | None:
    return money_pb2.Money(currency_code="USD", units=amount) if amount is not None else None


def _krw(amount: int | None) -> money_pb2.Money | None:
    return money(amount) if amount is not None else None


def figure_sources_pb(report: domain.KpiReport) -> list[pb.KpiFigureSource]:
    return [
        pb.KpiFigureSource(
            figure=domain.FIGURE_NAMES.get(s.figure, s.figure),
            version=s.version,
            actor=s.actor,
            enter_time=timestamp(s.entered_at),
        )
        for s in report.sources()
    ]


kpi_pb = Writer(
    pb.KpiReport,
    domain.KpiReport,
    rename={"revenue": "revenue_krw"},
    compute={
        "cash_on_hand": lambda r: _krw(r.cash_on_hand_krw),
        "monthly_burn": lambda r: _krw(r.monthly_burn_krw),
        "exports": lambda r: _usd(r.exports_usd),
        "overseas_countries": lambda r: list(r.overseas_countries),
        "figure_sources": figure_sources_pb,
    },
)
kpi_event = Writer(
    ev.KpiReported,
    domain.KpiReport,
    rename={"report": "name", "funding_raised_krw": "funding_raised"},
    compute={"overseas_countries": lambda r: list(r.overseas_countries)},
)


# KPI requests


def schedule_from_pb(message: kpb.KpiSchedule) -> tuple[domain.KpiSchedule, list[str]]:
    """The schedule, checked, and the names of the companies it names (the use case finds them)."""
    figures = [enum_short(kpb.KpiFigure, FIGURE, f) for f in message.figures]
    cadence = enum_short(kpb.KpiCadence, CADENCE, message.cadence)
    names = list(dict.fromkeys(message.companies))
    for i, name in enumerate(names):
        parse_name(name, "companies", f"schedule.companies[{i}]")
    audience = enum_short(kpb.KpiAudience, AUDIENCE, message.audience)
    return domain.new_schedule(cadence, [], figures, message.due_days, audience), names


def request_state(text: str) -> str:
    """A filter's state: OPEN, ANSWERED, or OVERDUE (open past the due date)."""
    state = text.strip().upper().removeprefix("KPI_REQUEST_STATE_")
    if state not in (domain.OPEN, domain.ANSWERED, domain.OVERDUE):
        raise ValueError(f"{text!r} is not OPEN, ANSWERED or OVERDUE")
    return state


def _figures(entity: domain.KpiSchedule | domain.KpiRequest) -> list[int]:
    return [enum_number(kpb.KpiFigure, FIGURE, f) for f in entity.figures]


schedule_pb = Writer(
    kpb.KpiSchedule, domain.KpiSchedule,
    compute={"companies": lambda s: [f"companies/{c}" for c in s.companies], "figures": _figures},
)  # fmt: skip
kpi_request_pb = Writer(
    kpb.KpiRequest, domain.KpiRequest, rename={"due_date": "due_on", "answer_time": "answered_at"},
    compute={"figures": _figures}, skip=("overdue",),
)  # fmt: skip
kpi_request_event = Writer(ev.KpiRequestChanged, domain.KpiRequest, rename={"request": "name", "due_date": "due_on"})


def kpi_request_stats_pb(periods: Sequence[domain.Completion], overall: domain.Completion) -> kpb.KpiRequestStats:
    def period(c: domain.Completion) -> kpb.KpiRequestStats.Period:
        return kpb.KpiRequestStats.Period(
            period=c.period, requested=c.requested, answered=c.answered, answered_on_time=c.on_time,
            on_time_rate=c.rate, overdue=c.overdue,
        )  # fmt: skip

    return kpb.KpiRequestStats(periods=[period(c) for c in periods], overall=period(overall))


def cohort_kind(number: int) -> str:
    return enum_short(pb.CohortKind, COHORT, number)


def comparison_year(period: str, *, today: date) -> str:
    """The year compared: "2026" (begun by today); unset: last year."""
    if not period.strip():
        return str(today.year - 1)
    year = domain.check_period(period, "period", today=today)
    if not domain.is_year(year):
        raise errors.invalid("period", "must be a year like 2026")
    return year


def _group_pb(g: domain.GroupFigures) -> pb.CohortComparison.Group:
    return pb.CohortComparison.Group(
        firms=g.firms, reporters=g.reporters, revenue_median=g.revenue_median,
        full_time_employees_median=g.full_time_employees_median, exports_median=g.exports_median,
        investment_median=g.investment_median,
        survival=[
            pb.CohortComparison.Survival(years=s.years, eligible=s.eligible, survived=s.survived, closed=s.closed,
                                         rate=s.rate)
            for s in g.survival
        ],
    )  # fmt: skip


def comparison_pb(
    r: domain.Round, year: str, cohort: domain.GroupFigures, control: domain.GroupFigures
) -> pb.CohortComparison:
    return pb.CohortComparison(round=r.name, period=year, cohort=_group_pb(cohort), control_group=_group_pb(control))


def trends_pb(series: Sequence[domain.TrendSeries]) -> pb.KpiTrends:
    response = pb.KpiTrends()
    for s in series:
        added = response.series.add(cohort=s.cohort, companies=s.companies)
        for p in s.points:
            added.points.add(
                period=p.quarter, companies=p.companies,
                headcount_sum=p.headcount[0], headcount_median=p.headcount[1],
                revenue_sum=p.revenue[0], revenue_median=p.revenue[1],
                funding_sum=p.funding[0], funding_median=p.funding[1],
            )  # fmt: skip
    return response


# Support


quota_pb = Writer(pb.SupportQuota, domain.SupportQuota)


def grant_from_pb(message: pb.SupportGrant) -> domain.SupportGrant:
    """The grant, its company left to the use case (company_id 0)."""
    kind = enum_short(pb.SupportKind, SUPPORT, message.kind)
    domain.check_grant(kind=kind, amount=message.amount)
    return domain.SupportGrant(
        0, 0, kind, message.amount, note=message.note.strip(), override_reason=message.override_reason.strip()
    )


grant_pb = Writer(pb.SupportGrant, domain.SupportGrant)
# The event has never carried the grant's source: kept unset here, as before.
_granted = Writer(
    ev.SupportGranted, domain.SupportGrant, rename={"grant": "name"}, skip=("used_after", "quota", "source")
)


def granted_event(g: domain.SupportGrant, *, used_after: int, quota: int) -> ev.SupportGranted:
    return _granted(g, used_after=used_after, quota=quota)


def ledger_pb(ledger: domain.SupportLedger) -> pb.ListSupportResponse:
    return pb.ListSupportResponse(
        grants=[grant_pb(g) for g in ledger.grants],
        totals=[
            pb.ListSupportResponse.Total(kind=enum_number(pb.SupportKind, SUPPORT, t.kind), used=t.used, quota=t.quota)
            for t in ledger.totals
        ],
    )


# Milestones, growth and the dashboard


def milestone_from_pb(message: pb.Milestone, *, today: date) -> domain.Milestone:
    """The milestone of a company (company_id from its name), checked."""
    company_id = parse_name(message.company, "companies", "milestone.company")
    kind = enum_short(pb.MilestoneKind, MILESTONE, message.kind)
    achieved = calendar_date(message.achieve_date, "milestone.achieve_date")
    domain.check_milestone(achieved=achieved, today=today, evidence_url=message.evidence_url, evidence=message.evidence)
    assert achieved is not None
    return domain.Milestone(
        0, company_id, kind, achieved, evidence_url=message.evidence_url.strip(), evidence=message.evidence.strip()
    )


milestone_pb = Writer(pb.Milestone, domain.Milestone)
milestone_event = Writer(ev.MilestoneChanged, domain.Milestone, rename={"milestone": "name"})


def growth_pb(rules: domain.GrowthRules, grown: Sequence[domain.Grown]) -> pb.Growth:
    return pb.Growth(
        rules=rules.describe(),
        firms_grown=len(grown),
        firms=[
            pb.Growth.Firm(company=g.company.name, korean_name=g.company.korean_name, reasons=g.reasons) for g in grown
        ],
    )


def stats_pb(s: domain.ProgramStats) -> pb.ProgramStats:
    o = s.occupancy
    return pb.ProgramStats(
        offices_taken=o.offices_taken,
        offices_total=o.offices_total,
        desks_taken=o.desks_taken,
        desks_total=o.desks_total,
        latest_round=s.latest_round.name if s.latest_round else "",
        applications=s.applications,
        seats=s.seats,
        competition_ratio=domain.competition_ratio(s.applications, s.seats),
        kpi_reporters=s.kpi_reporters,
        gpu_hours_used=s.gpu_hours_used,
        technical_consultations=s.technical_consultations,
        firms_grown=s.firms_grown,
    )
