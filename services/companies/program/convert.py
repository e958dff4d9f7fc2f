"""ProgramService's messages <-> the program's domain objects: the *_pb functions (a domain object as its
message), the *_from_pb functions (a request's resource as a checked domain object, before any transaction) and
the events' payloads. Imported by the servicer and the use cases; no database, no gRPC calls."""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import date

from hub.companies.v1 import program_pb2 as pb
from hub.events.v1 import companies_pb2 as ev

from hubcore import errors
from hubcore.convert import calendar_date, date_message, money, timestamp
from hubcore.requests import enum_number, enum_short, parse_name
from hubcore.text import clean
from services.companies.program import domain

# The enums' prefixes: tables and events carry the short names (PRIVATE_OFFICE), messages the numbers.
SEAT, STATE, SPACE, REASON, SUPPORT = "SEAT_KIND", "APPLICATION_STATE", "SPACE_KIND", "MOVE_OUT_REASON", "SUPPORT_KIND"
MILESTONE, COHORT = "MILESTONE_KIND", "COHORT_KIND"


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


def round_pb(r: domain.Round) -> pb.Round:
    return pb.Round(
        name=r.name,
        title=r.title,
        open_date=date_message(r.open_date),
        close_date=date_message(r.close_date),
        seats=[pb.Round.Seats(kind=enum_number(pb.SeatKind, SEAT, k), count=n) for k, n in sorted(r.seats.items())],
        criteria=[pb.Round.Criterion(key=c.key, title=c.title, weight=c.weight) for c in r.criteria],
        questions=r.questions,
        application_count=r.applications,
        competition_ratio=r.competition_ratio,
        create_time=timestamp(r.created_at),
    )


def application_from_pb(message: pb.Application) -> domain.Application:
    """The application, its round left to the use case (round_id 0)."""
    who = applicant(message.applicant, "application.applicant")
    seat_kind = enum_short(pb.SeatKind, SEAT, message.seat_kind)
    domain.check_applicant_seat(who, seat_kind)
    answers = [(clean(a.question), a.text.strip()) for a in message.answers]
    return domain.Application(0, 0, who, seat_kind, answers, list(message.attachment_urls))


def application_pb(a: domain.Application) -> pb.Application:
    return pb.Application(
        name=a.name,
        round=f"rounds/{a.round_id}",
        applicant=a.applicant,
        seat_kind=enum_number(pb.SeatKind, SEAT, a.seat_kind),
        answers=[pb.Application.Answer(question=q, text=t) for q, t in a.answers],
        attachment_urls=a.attachment_urls,
        state=enum_number(pb.ApplicationState, STATE, a.state),
        decision_reason=a.decision_reason,
        create_time=timestamp(a.created_at),
        etag=a.etag,
    )


def conflict_pb(c: domain.Conflict) -> pb.Conflict:
    return pb.Conflict(round=c.round, reviewer=c.reviewer, applicant=c.applicant, reason=c.reason)


def score_pb(s: domain.Score) -> pb.Score:
    return pb.Score(
        application=s.application, reviewer=s.reviewer, values=s.values, comment=s.comment, weighted=float(s.weighted)
    )


def ranking_pb(standings: Sequence[domain.Standing]) -> pb.RankApplicationsResponse:
    return pb.RankApplicationsResponse(
        entries=[
            pb.RankApplicationsResponse.Entry(
                rank=s.rank,
                application=s.entry.application,
                applicant=s.entry.applicant,
                weighted_score=float(s.entry.score) if s.entry.score is not None else 0.0,
                reviews=s.entry.reviews,
                state=enum_number(pb.ApplicationState, STATE, s.state),
                explanation=s.entry.explanation,
            )
            for s in standings
        ]
    )


def decided_event(a: domain.Application, r: domain.Round) -> ev.ApplicationDecided:
    return ev.ApplicationDecided(
        application=a.name, round=r.name, applicant=a.applicant, decision=a.state, reason=a.decision_reason,
        seat_kind=a.seat_kind,
    )  # fmt: skip


# Spaces


def space_from_pb(message: pb.Space) -> domain.Space:
    label = clean(message.label)
    domain.check_space(floor=message.floor, seats=message.seats)
    return domain.Space(0, enum_short(pb.SpaceKind, SPACE, message.kind), label, message.floor, message.seats)


def space_pb(s: domain.Space) -> pb.Space:
    return pb.Space(
        name=s.name, kind=enum_number(pb.SpaceKind, SPACE, s.kind), label=s.label, floor=s.floor, seats=s.seats
    )


def stay_from_pb(message: pb.Assignment) -> domain.Assignment:
    """A new assignment's space, company and dates, checked (id 0)."""
    space_id = parse_name(message.space, "spaces", "assignment.space")
    company_id = parse_name(message.company, "companies", "assignment.company")
    move_in = calendar_date(message.move_in_date, "assignment.move_in_date")
    move_out = calendar_date(message.move_out_date, "assignment.move_out_date")
    return domain.Assignment(0, space_id, company_id, domain.check_stay(move_in, move_out), move_out)


def ending_from_pb(request: pb.EndAssignmentRequest) -> tuple[int, date, str]:
    """The assignment to end (its id), the move-out date, which is required, and the reason."""
    assignment_id = parse_name(request.name, "assignments")
    move_out = calendar_date(request.move_out_date, "move_out_date")
    if move_out is None:
        raise errors.invalid("move_out_date", "is required")
    return assignment_id, move_out, enum_short(pb.MoveOutReason, REASON, request.reason)


def assignment_pb(a: domain.Assignment) -> pb.Assignment:
    message = pb.Assignment(
        name=a.name,
        space=f"spaces/{a.space_id}",
        company=f"companies/{a.company_id}",
        move_in_date=date_message(a.move_in),
        move_out_reason=enum_number(pb.MoveOutReason, REASON, a.move_out_reason),
    )
    if a.move_out:
        message.move_out_date.CopyFrom(date_message(a.move_out))
    return message


def occupancy_pb(o: domain.Occupancy) -> pb.Occupancy:
    return pb.Occupancy(
        date=date_message(o.day),
        offices_taken=o.offices_taken,
        offices_total=o.offices_total,
        desks_taken=o.desks_taken,
        desks_total=o.desks_total,
        assignments=[assignment_pb(a) for a in o.assignments],
    )


# KPI reports and trends


def kpi_from_pb(message: pb.KpiReport, *, today: date) -> domain.KpiReport:
    """The report, its company left to the use case (company_id 0)."""
    period = domain.check_period(message.period, today=today)
    domain.check_figures(
        currency=message.revenue.currency_code,
        figures={
            "report.headcount": message.headcount, "report.revenue.units": message.revenue.units,
            "report.customers": message.customers, "report.patents": message.patents,
        },
    )  # fmt: skip
    return domain.KpiReport(
        0, 0, period, message.headcount, message.revenue.units, message.customers, message.patents,
        note=message.note.strip(),
    )  # fmt: skip


def kpi_pb(r: domain.KpiReport) -> pb.KpiReport:
    return pb.KpiReport(
        name=r.name,
        company=r.company,
        period=r.period,
        headcount=r.headcount,
        revenue=money(r.revenue_krw),
        funding_raised=money(r.funding_raised),
        customers=r.customers,
        patents=r.patents,
        note=r.note,
        version=r.version,
        create_time=timestamp(r.created_at),
    )


def kpi_event(r: domain.KpiReport) -> ev.KpiReported:
    return ev.KpiReported(
        report=r.name, company=r.company, period=r.period, version=r.version, headcount=r.headcount,
        revenue_krw=r.revenue_krw, funding_raised_krw=r.funding_raised, customers=r.customers, patents=r.patents,
    )  # fmt: skip


def cohort_kind(number: int) -> str:
    return enum_short(pb.CohortKind, COHORT, number)


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


def quota_pb(q: domain.SupportQuota) -> pb.SupportQuota:
    return pb.SupportQuota(
        company=q.company, kind=enum_number(pb.SupportKind, SUPPORT, q.kind), quota=q.quota, used=q.used
    )


def grant_from_pb(message: pb.SupportGrant) -> domain.SupportGrant:
    """The grant, its company left to the use case (company_id 0)."""
    kind = enum_short(pb.SupportKind, SUPPORT, message.kind)
    domain.check_grant(kind=kind, amount=message.amount)
    return domain.SupportGrant(
        0, 0, kind, message.amount, note=message.note.strip(), override_reason=message.override_reason.strip()
    )


def grant_pb(g: domain.SupportGrant) -> pb.SupportGrant:
    return pb.SupportGrant(
        name=g.name,
        company=g.company,
        kind=enum_number(pb.SupportKind, SUPPORT, g.kind),
        amount=g.amount,
        note=g.note,
        override_reason=g.override_reason,
        actor=g.actor,
        create_time=timestamp(g.created_at),
        source=g.source,
    )


def granted_event(g: domain.SupportGrant, *, used_after: int, quota: int) -> ev.SupportGranted:
    return ev.SupportGranted(
        grant=g.name, company=g.company, kind=g.kind, amount=g.amount, override_reason=g.override_reason,
        used_after=used_after, quota=quota,
    )  # fmt: skip


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


def milestone_pb(m: domain.Milestone) -> pb.Milestone:
    return pb.Milestone(
        name=m.name,
        company=m.company,
        kind=enum_number(pb.MilestoneKind, MILESTONE, m.kind),
        achieve_date=date_message(m.achieved_on),
        evidence_url=m.evidence_url,
        evidence=m.evidence,
        actor=m.actor,
        create_time=timestamp(m.created_at),
    )


def milestone_event(m: domain.Milestone) -> ev.MilestoneChanged:
    return ev.MilestoneChanged(
        milestone=m.name,
        company=m.company,
        kind=m.kind,
        achieve_date=date_message(m.achieved_on),
        evidence_url=m.evidence_url,
        evidence=m.evidence,
    )


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
