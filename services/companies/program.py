"""ProgramService: the hub program around the companies (proto <-> domain, the use cases' transactions and
their events). Selection rounds, applications, reviewer scores and decisions; spaces and assignments;
KPI reports; support granted."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import replace
from datetime import date, datetime, timedelta
from typing import Any, TypeAlias

import grpc
import sqlalchemy as sa
from google.protobuf import empty_pb2
from google.type import money_pb2
from hub.companies.v1 import program_pb2 as pb
from hub.companies.v1 import program_pb2_grpc
from hub.events.v1 import companies_pb2 as ev
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from hubcore import errors
from hubcore.db import Database, UnitOfWork, as_utc, remember, timestamp
from hubcore.requests import (
    PageTokens,
    Rules,
    calendar_date,
    check_etag,
    date_message,
    enum_number,
    enum_short,
    length,
    max_items,
    page_size,
    parse_filter,
    parse_name,
    required,
    short_value,
    url,
)
from hubcore.server import ADMIN, SERVICE, caller
from hubcore.settings import _env
from services.companies import domain, store
from services.companies.api import change_status, residency_event, today

Context: TypeAlias = grpc.aio.ServicerContext
SUBJECT = "hub.companies"

RULES: dict[type, Rules] = {
    pb.CreateRoundRequest: Rules(
        {
            "round.title": [required, length(1, 200)],
            "round.seats": [max_items(3)],
            "round.criteria": [max_items(20)],
            "round.questions": [max_items(30, length(1, 500))],
            "request_id": [length(1, 100)],
        }
    ),
    pb.GetRoundRequest: Rules({"name": [required]}),
    pb.CreateApplicationRequest: Rules(
        {
            "application.round": [required],
            "application.applicant": [required],
            "application.seat_kind": [required],
            "application.answers": [max_items(30)],
            "application.attachment_urls": [max_items(10, url)],
            "request_id": [length(1, 100)],
        }
    ),
    pb.GetApplicationRequest: Rules({"name": [required]}),
    pb.ListApplicationsRequest: Rules({"filter": [length(0, 500)]}),
    pb.DeclareConflictRequest: Rules(
        {
            "conflict.round": [required],
            "conflict.reviewer": [required, length(1, 100)],
            "conflict.applicant": [required],
            "conflict.reason": [length(0, 500)],
        }
    ),
    pb.ScoreApplicationRequest: Rules(
        {
            "score.application": [required],
            "score.reviewer": [required, length(1, 100)],
            "score.comment": [length(0, 2000)],
        }
    ),
    pb.RankApplicationsRequest: Rules({"round": [required]}),
    pb.DecideApplicationRequest: Rules(
        {"name": [required], "decision": [required], "reason": [required, length(1, 500)]}
    ),
    pb.CreateSpaceRequest: Rules(
        {"space.kind": [required], "space.label": [required, length(1, 20)], "request_id": [length(1, 100)]}
    ),
    pb.AssignSpaceRequest: Rules(
        {"assignment.space": [required], "assignment.company": [required], "request_id": [length(1, 100)]}
    ),
    pb.EndAssignmentRequest: Rules({"name": [required], "reason": [required]}),
    pb.ReportKpiRequest: Rules(
        {
            "report.company": [required],
            "report.period": [required],
            "report.note": [length(0, 2000)],
            "request_id": [length(1, 100)],
        }
    ),
    pb.ListKpiReportsRequest: Rules({"company": [required]}),
    pb.SetSupportQuotaRequest: Rules({"quota.company": [required], "quota.kind": [required]}),
    pb.RecordSupportRequest: Rules(
        {
            "grant.company": [required],
            "grant.kind": [required],
            "grant.note": [length(0, 500)],
            "grant.override_reason": [length(0, 500)],
            "request_id": [length(1, 100)],
        }
    ),
    pb.ListSupportRequest: Rules({"company": [required]}),
    pb.GetKpiTrendsRequest: Rules({"filter": [length(0, 200)]}),
    pb.CreateMilestoneRequest: Rules(
        {
            "milestone.company": [required],
            "milestone.kind": [required],
            "milestone.evidence_url": [url],
            "milestone.evidence": [length(0, 1000)],
            "request_id": [length(1, 100)],
        }
    ),
    pb.ListMilestonesRequest: Rules({"filter": [length(0, 200)]}),
    pb.DeleteMilestoneRequest: Rules({"name": [required]}),
}
READ = frozenset({ADMIN, SERVICE})
ROLES = {
    name: READ
    for name in (
        "GetRound", "ListRounds", "GetApplication", "ListApplications", "RankApplications", "ListSpaces",
        "GetOccupancy", "GetOccupancyHistory", "ListKpiReports",
        "ListSupport", "GetProgramStats", "GetKpiTrends", "ListMilestones", "GetGrowth",
    )
}  # fmt: skip
DEFAULT_ROLES = frozenset({ADMIN})

Seat = pb.SeatKind
SEAT, STATE, SPACE, REASON, SUPPORT = "SEAT_KIND", "APPLICATION_STATE", "SPACE_KIND", "MOVE_OUT_REASON", "SUPPORT_KIND"
MILESTONE = "MILESTONE_KIND"


def growth_rules_from_env() -> domain.GrowthRules:
    """HUB_GROWTH_FUNDING_KRW, HUB_GROWTH_REVENUE_PCT (0 turns a rule off), HUB_GROWTH_MILESTONES (comma-separated
    kinds; "none" turns it off)."""
    default = domain.GrowthRules()
    kinds = _env("GROWTH_MILESTONES", ",".join(default.milestone_kinds)).strip()
    return domain.GrowthRules(
        funding_krw=int(_env("GROWTH_FUNDING_KRW", str(default.funding_krw))),
        revenue_growth_pct=int(_env("GROWTH_REVENUE_PCT", str(default.revenue_growth_pct))),
        milestone_kinds=() if kinds.lower() in ("", "none") else tuple(k.strip().upper() for k in kinds.split(",")),
    )


def krw(units: int) -> money_pb2.Money:
    return money_pb2.Money(currency_code="KRW", units=units)


def _applicant(value: str, field: str) -> str:
    """companies/{id} or people/{id}, normalized."""
    collection = "people" if value.startswith("people/") else "companies"
    try:
        return f"{collection}/{parse_name(value, collection, field)}"
    except errors.InvalidArgument:
        raise errors.invalid(field, "must look like companies/<number> or people/<number>") from None


def _positive(value: int, field: str) -> int:
    if value <= 0:
        raise errors.invalid(field, "must be positive")
    return value


def _not_negative(**values: int) -> None:
    bad = [(f, "must not be negative") for f, v in values.items() if v < 0]
    if bad:
        raise errors.InvalidArgument(bad)


def round_pb(r: domain.Round, applications: int) -> pb.Round:
    return pb.Round(
        name=r.name,
        title=r.title,
        open_date=date_message(r.open_date),
        close_date=date_message(r.close_date),
        seats=[pb.Round.Seats(kind=enum_number(Seat, SEAT, k), count=n) for k, n in sorted(r.seats.items())],
        criteria=[pb.Round.Criterion(key=c.key, title=c.title, weight=c.weight) for c in r.criteria],
        questions=r.questions,
        application_count=applications,
        competition_ratio=domain.competition_ratio(applications, r.total_seats),
        create_time=timestamp(r.created_at),
    )


def application_pb(a: domain.Application) -> pb.Application:
    return pb.Application(
        name=a.name,
        round=f"rounds/{a.round_id}",
        applicant=a.applicant,
        seat_kind=enum_number(Seat, SEAT, a.seat_kind),
        answers=[pb.Application.Answer(question=q, text=t) for q, t in a.answers],
        attachment_urls=a.attachment_urls,
        state=enum_number(pb.ApplicationState, STATE, a.state),
        decision_reason=a.decision_reason,
        create_time=timestamp(a.created_at),
        etag=a.etag,
    )


def space_pb(row: Any) -> pb.Space:
    return pb.Space(
        name=f"spaces/{row.id}",
        kind=enum_number(pb.SpaceKind, SPACE, row.kind),
        label=row.label,
        floor=row.floor,
        seats=row.seats,
    )


def assignment_pb(row: Any) -> pb.Assignment:
    message = pb.Assignment(
        name=f"assignments/{row.id}",
        space=f"spaces/{row.space_id}",
        company=f"companies/{row.company_id}",
        move_in_date=date_message(row.move_in),
        move_out_reason=enum_number(pb.MoveOutReason, REASON, row.move_out_reason),
    )
    if row.move_out:
        message.move_out_date.CopyFrom(date_message(row.move_out))
    return message


def kpi_pb(row: Any, funding: int) -> pb.KpiReport:
    return pb.KpiReport(
        name=f"kpiReports/{row.id}",
        company=f"companies/{row.company_id}",
        period=row.period,
        headcount=row.headcount,
        revenue=krw(row.revenue_krw),
        funding_raised=krw(funding),
        customers=row.customers,
        patents=row.patents,
        note=row.note,
        version=row.version,
        create_time=timestamp(as_utc(row.created_at)),
    )


def grant_pb(row: Any) -> pb.SupportGrant:
    return pb.SupportGrant(
        name=f"supportGrants/{row.id}",
        company=f"companies/{row.company_id}",
        kind=enum_number(pb.SupportKind, SUPPORT, row.kind),
        amount=row.amount,
        note=row.note,
        override_reason=row.override_reason,
        actor=row.actor,
        create_time=timestamp(as_utc(row.created_at)),
        source=row.source or "",
    )


def milestone_pb(row: Any) -> pb.Milestone:
    return pb.Milestone(
        name=f"milestones/{row.id}",
        company=f"companies/{row.company_id}",
        kind=enum_number(pb.MilestoneKind, MILESTONE, row.kind),
        achieve_date=date_message(row.achieved_on),
        evidence_url=row.evidence_url,
        evidence=row.evidence,
        actor=row.actor,
        create_time=timestamp(as_utc(row.created_at)),
    )


def milestone_event(row: Any) -> ev.MilestoneChanged:
    return ev.MilestoneChanged(
        milestone=f"milestones/{row.id}",
        company=f"companies/{row.company_id}",
        kind=row.kind,
        achieve_date=date_message(row.achieved_on),
        evidence_url=row.evidence_url,
        evidence=row.evidence,
    )


def _year(text: str) -> int:
    if not re.fullmatch(r"(19|20|21)[0-9]{2}", text.strip()):
        raise ValueError(f"{text!r} is not a year like 2025")
    return int(text)


async def _company(conn: AsyncConnection, name: str, field: str) -> domain.Company:
    company = await store.get_company(conn, parse_name(name, "companies", field))
    if company is None:
        raise errors.NotFound("Company", name)
    company.require_active()
    return company


def _space_taken(space: str, taken: store.SpaceTaken) -> errors.FailedPrecondition:
    return errors.FailedPrecondition(
        f"{space} is assigned to companies/{taken.company_id} for an overlapping period "
        f"(assignments/{taken.assignment})",
        type_="SPACE_TAKEN",
        subject=space,
    )


class ProgramApi(program_pb2_grpc.ProgramServiceServicer):
    def __init__(self, db: Database, growth: domain.GrowthRules | None = None) -> None:
        self.db = db
        self.growth = growth or domain.GrowthRules()

    def _write(self) -> Any:
        return self.db.write(actor=caller().actor)

    async def _once(self, method: str, request: Any, response_type: Any, work: Callable[[], Any]) -> Any:
        return await self.db.idempotent(method, request.request_id, request, response_type, work)

    # Selection

    async def CreateRound(self, request: pb.CreateRoundRequest, context: Context) -> pb.Round:
        message = request.round
        seats: dict[str, int] = {}
        for i, s in enumerate(message.seats):
            if not s.kind or s.count <= 0:
                raise errors.invalid(f"round.seats[{i}]", "needs a kind and a positive count")
            seats[enum_short(Seat, SEAT, s.kind)] = seats.get(enum_short(Seat, SEAT, s.kind), 0) + s.count
        criteria = []
        for i, c in enumerate(message.criteria):
            if not c.key.strip() or len(c.key) > 30:
                raise errors.invalid(f"round.criteria[{i}].key", "is required, up to 30 characters")
            criteria.append(domain.Criterion(c.key.strip(), domain.clean(c.title), c.weight))
        open_date = calendar_date(message.open_date, "round.open_date")
        close_date = calendar_date(message.close_date, "round.close_date")
        missing = [
            (f, "is required")
            for f, v in (("round.open_date", open_date), ("round.close_date", close_date))
            if v is None
        ]
        if missing:
            raise errors.InvalidArgument(missing)
        assert open_date and close_date
        r = domain.Round(
            0, domain.clean(message.title), open_date, close_date, seats, criteria, list(message.questions)
        )
        domain.check_round(r)

        async def work() -> pb.Round:
            async with self._write() as uow:
                created = await store.insert_round(uow.conn, r)
                response = round_pb(created, 0)
                await remember(uow, "CreateRound", request.request_id, request, response)
            return response

        result: pb.Round = await self._once("CreateRound", request, pb.Round, work)
        return result

    async def _round(
        self, conn: AsyncConnection, name: str, field: str = "name", *, lock: bool = False
    ) -> domain.Round:
        r = await store.get_round(conn, parse_name(name, "rounds", field), lock=lock)
        if r is None:
            raise errors.NotFound("Round", name)
        return r

    async def GetRound(self, request: pb.GetRoundRequest, context: Context) -> pb.Round:
        async with self.db.read() as conn:
            r = await self._round(conn, request.name)
            return round_pb(r, await store.count_applications(conn, r.id))

    async def ListRounds(self, request: pb.ListRoundsRequest, context: Context) -> pb.ListRoundsResponse:
        size = page_size(request.page_size)
        after = PageTokens.decode(request.page_token, "rounds", (int,))
        c = store.rounds.c
        query = sa.select(store.rounds).order_by(c.id.desc()).limit(size + 1)
        if after is not None:
            query = query.where(c.id < after[0])
        async with self.db.read() as conn:
            found = [store.to_round(r) for r in await conn.execute(query)]
            counts = await store.application_counts(conn, [r.id for r in found])
        response = pb.ListRoundsResponse(rounds=[round_pb(r, counts.get(r.id, 0)) for r in found[:size]])
        if len(found) > size:
            response.next_page_token = PageTokens.encode("rounds", [found[size - 1].id])
        return response

    async def ListApplications(
        self, request: pb.ListApplicationsRequest, context: Context
    ) -> pb.ListApplicationsResponse:
        size = page_size(request.page_size)
        terms = parse_filter(
            request.filter,
            {
                "round": lambda v: parse_name(v, "rounds", "filter"),
                "state": short_value(pb.ApplicationState, STATE),
                "applicant": lambda v: _applicant(v, "filter"),
            },
        )
        query_key = f"applications|{sorted(terms.items())}"
        after = PageTokens.decode(request.page_token, query_key, (int,))
        c = store.applications.c
        query = sa.select(store.applications).order_by(c.id).limit(size + 1)
        for key, column in (("round", c.round_id), ("state", c.state), ("applicant", c.applicant)):
            if key in terms:
                query = query.where(column.in_(terms[key]))
        if after is not None:
            query = query.where(c.id > after[0])
        async with self.db.read() as conn:
            found = [store.to_application(r) for r in await conn.execute(query)]
        response = pb.ListApplicationsResponse(applications=[application_pb(a) for a in found[:size]])
        if len(found) > size:
            response.next_page_token = PageTokens.encode(query_key, [found[size - 1].id])
        return response

    async def CreateApplication(self, request: pb.CreateApplicationRequest, context: Context) -> pb.Application:
        message = request.application
        applicant = _applicant(message.applicant, "application.applicant")
        seat_kind = enum_short(Seat, SEAT, message.seat_kind)
        if applicant.startswith("people/") != (seat_kind == "INDIVIDUAL"):
            raise errors.invalid("application.seat_kind", "is INDIVIDUAL for a person, an office or desk for a company")
        answers = [(domain.clean(a.question), a.text.strip()) for a in message.answers]
        application = domain.Application(0, 0, applicant, seat_kind, answers, list(message.attachment_urls))

        async def work() -> pb.Application:
            async with self._write() as uow:
                r = await self._round(uow.conn, message.round, "application.round")
                if seat_kind not in r.seats:
                    raise errors.FailedPrecondition(
                        f"{r.name} offers no {seat_kind} seats", type_="SEAT_KIND", subject=r.name
                    )
                r.require_open(today())
                if applicant.startswith("companies/"):
                    await _company(uow.conn, applicant, "application.applicant")
                else:
                    person = await store.get_person(uow.conn, parse_name(applicant, "people"))
                    if person is None:
                        raise errors.NotFound("Person", applicant)
                existing = await store.find_application(uow.conn, r.id, applicant)
                if existing is not None:
                    raise errors.AlreadyExists(
                        "Application", f"applications/{existing}", f"{applicant} already applied to {r.name}"
                    )
                created = await store.insert_application(uow.conn, replace(application, round_id=r.id))
                response = application_pb(created)
                await remember(uow, "CreateApplication", request.request_id, request, response)
            return response

        try:
            result: pb.Application = await self._once("CreateApplication", request, pb.Application, work)
        except IntegrityError:  # a concurrent application of the same applicant to the same round won
            raise errors.AlreadyExists(
                "Application", applicant, f"{applicant} already applied to {message.round}"
            ) from None
        return result

    async def _application(self, conn: AsyncConnection, name: str, field: str = "name") -> domain.Application:
        a = await store.get_application(conn, parse_name(name, "applications", field))
        if a is None:
            raise errors.NotFound("Application", name)
        return a

    async def GetApplication(self, request: pb.GetApplicationRequest, context: Context) -> pb.Application:
        async with self.db.read() as conn:
            return application_pb(await self._application(conn, request.name))

    async def DeclareConflict(self, request: pb.DeclareConflictRequest, context: Context) -> pb.Conflict:
        c = request.conflict
        applicant = _applicant(c.applicant, "conflict.applicant")
        reviewer = c.reviewer.strip().casefold()
        try:
            async with self._write() as uow:
                r = await self._round(uow.conn, c.round, "conflict.round")
                await store.declare_conflict(uow.conn, r.id, reviewer, applicant, c.reason.strip())
        except IntegrityError:  # declared at the same moment by another call: it is declared
            pass
        round_name = f"rounds/{parse_name(c.round, 'rounds', 'conflict.round')}"
        return pb.Conflict(round=round_name, reviewer=reviewer, applicant=applicant, reason=c.reason.strip())

    async def ScoreApplication(self, request: pb.ScoreApplicationRequest, context: Context) -> pb.Score:
        s = request.score
        reviewer = s.reviewer.strip().casefold()
        values = dict(s.values)
        try:
            async with self._write() as uow:
                a = await self._application(uow.conn, s.application, "score.application")
                r = await self._round(uow.conn, f"rounds/{a.round_id}")
                domain.check_score_values(r, values)
                if (reviewer, a.applicant) in await store.round_conflicts(uow.conn, r.id):
                    raise errors.FailedPrecondition(
                        f"{reviewer} declared a conflict of interest with {a.applicant} and cannot score it",
                        type_="CONFLICT_OF_INTEREST",
                        subject=a.name,
                    )
                if await store.has_score(uow.conn, a.id, reviewer):
                    raise errors.AlreadyExists(
                        "Score", f"{a.name}/scores/{reviewer}", f"{reviewer} already scored {a.name}"
                    )
                await store.insert_score(uow.conn, a.id, reviewer, values, s.comment.strip())
        except IntegrityError:
            raise errors.AlreadyExists(
                "Score", f"{s.application}/scores/{reviewer}", f"{reviewer} already scored {s.application}"
            ) from None
        weighted = float(domain.weighted_score(r.criteria, values))
        return pb.Score(
            application=a.name, reviewer=reviewer, values=values, comment=s.comment.strip(), weighted=weighted
        )

    async def RankApplications(
        self, request: pb.RankApplicationsRequest, context: Context
    ) -> pb.RankApplicationsResponse:
        async with self.db.read() as conn:
            r = await self._round(conn, request.round, "round")
            applications = await store.round_applications(conn, r.id)
            scores = await store.round_scores(conn, r.id)
            conflicts = await store.round_conflicts(conn, r.id)
        by_name = {a.name: a for a in applications}
        ranked = domain.rank(
            r.criteria,
            [(a.name, a.applicant, a.created_at or datetime.min) for a in applications],
            [(f"applications/{i}", reviewer, values) for i, reviewer, values in scores],
            conflicts,
        )
        return pb.RankApplicationsResponse(
            entries=[
                pb.RankApplicationsResponse.Entry(
                    rank=n,
                    application=e.application,
                    applicant=e.applicant,
                    weighted_score=float(e.score) if e.score is not None else 0.0,
                    reviews=e.reviews,
                    state=enum_number(pb.ApplicationState, STATE, by_name[e.application].state),
                    explanation=e.explanation,
                )
                for n, e in enumerate(ranked, 1)
            ]
        )

    async def DecideApplication(self, request: pb.DecideApplicationRequest, context: Context) -> pb.Application:
        decision = enum_short(pb.ApplicationState, STATE, request.decision)
        if decision not in (domain.SELECTED, domain.WAITLISTED, domain.REJECTED):
            raise errors.invalid("decision", "must be SELECTED, WAITLISTED or REJECTED")
        reason = request.reason.strip()
        async with self._write() as uow:
            a = await self._application(uow.conn, request.name)
            check_etag(request.etag, a.etag)
            r = await self._round(uow.conn, f"rounds/{a.round_id}", lock=True)  # seats: one decision at a time
            selected = await store.count_selected(uow.conn, r.id, a.seat_kind)
            decided = a.decide(decision, reason, selected_of_kind=selected, seats_of_kind=r.seats.get(a.seat_kind, 0))
            await store.save_application(uow.conn, decided, expected_version=a.version)
            if decision == domain.SELECTED and a.applicant.startswith("companies/"):
                company = await _company(uow.conn, a.applicant, "name")
                if company.status not in (domain.SELECTED, domain.RESIDENT):  # a resident's renewal stays resident
                    await change_status(uow, company, domain.SELECTED, f"{r.title}: {reason}")
            await uow.emit(
                f"{SUBJECT}.application.decided",
                decided.name,
                decided.version,
                ev.ApplicationDecided(
                    application=decided.name,
                    round=r.name,
                    applicant=a.applicant,
                    decision=decision,
                    reason=reason,
                    seat_kind=a.seat_kind,
                ),
            )
        return application_pb(decided)

    # Spaces

    async def CreateSpace(self, request: pb.CreateSpaceRequest, context: Context) -> pb.Space:
        s = request.space
        label = domain.clean(s.label)
        _positive(s.floor, "space.floor")
        _positive(s.seats, "space.seats")

        async def work() -> pb.Space:
            async with self._write() as uow:
                if await store.find_space(uow.conn, label) is not None:
                    raise errors.AlreadyExists("Space", label, f"a space labelled {label!r} exists")
                row = await store.insert_space(
                    uow.conn, enum_short(pb.SpaceKind, SPACE, s.kind), label, s.floor, s.seats
                )
                response = space_pb(row)
                await remember(uow, "CreateSpace", request.request_id, request, response)
            return response

        try:
            result: pb.Space = await self._once("CreateSpace", request, pb.Space, work)
        except IntegrityError:  # the same label created at the same moment
            raise errors.AlreadyExists("Space", label, f"a space labelled {label!r} exists") from None
        return result

    async def ListSpaces(self, request: pb.ListSpacesRequest, context: Context) -> pb.ListSpacesResponse:
        async with self.db.read() as conn:
            return pb.ListSpacesResponse(spaces=[space_pb(r) for r in await store.list_spaces(conn)])

    @asynccontextmanager
    async def _assigning(self, space: str) -> AsyncIterator[UnitOfWork]:
        """A write transaction that assigns a space. An insert refused by PostgreSQL's exclusion constraint (a
        concurrent writer won after our check) becomes FAILED_PRECONDITION naming the winner."""
        try:
            async with self._write() as uow:
                yield uow
        except store.SpaceTaken as taken:
            raise _space_taken(space, taken) from None
        except IntegrityError as exc:
            if not store.is_overlap(exc):
                raise
            raise errors.FailedPrecondition(
                f"{space} was assigned for an overlapping period at the same moment; look at the occupancy again",
                type_="SPACE_TAKEN",
                subject=space,
            ) from None

    async def AssignSpace(self, request: pb.AssignSpaceRequest, context: Context) -> pb.Assignment:
        message = request.assignment
        space_id = parse_name(message.space, "spaces", "assignment.space")
        company_id = parse_name(message.company, "companies", "assignment.company")
        move_in = calendar_date(message.move_in_date, "assignment.move_in_date")
        move_out = calendar_date(message.move_out_date, "assignment.move_out_date")
        if move_in is None:
            raise errors.invalid("assignment.move_in_date", "is required")
        if move_out is not None and move_out <= move_in:
            raise errors.invalid("assignment.move_out_date", "must be after move_in_date")

        async def work() -> pb.Assignment:
            async with self._assigning(message.space) as uow:
                if await store.get_space(uow.conn, space_id) is None:
                    raise errors.NotFound("Space", message.space)
                company = await _company(uow.conn, message.company, "assignment.company")
                row = await store.assign_space(
                    uow.conn, space_id=space_id, company_id=company_id, move_in=move_in, move_out=move_out
                )
                if company.status != domain.RESIDENT:
                    await change_status(uow, company, domain.RESIDENT, f"moved into {row.label}")
                await uow.emit(f"{SUBJECT}.residency.moved_in", f"assignments/{row.id}", 1, residency_event(row))
                response = assignment_pb(row)
                await remember(uow, "AssignSpace", request.request_id, request, response)
            return response

        result: pb.Assignment = await self._once("AssignSpace", request, pb.Assignment, work)
        return result

    async def EndAssignment(self, request: pb.EndAssignmentRequest, context: Context) -> pb.Assignment:
        assignment_id = parse_name(request.name, "assignments")
        move_out = calendar_date(request.move_out_date, "move_out_date")
        if move_out is None:
            raise errors.invalid("move_out_date", "is required")
        reason = enum_short(pb.MoveOutReason, REASON, request.reason)
        async with self._write() as uow:
            row = await store.get_assignment(uow.conn, assignment_id, lock=True)
            if row is None:
                raise errors.NotFound("Assignment", request.name)
            if row.move_out_reason:
                raise errors.FailedPrecondition(
                    f"{request.name} ended on {row.move_out} ({row.move_out_reason})",
                    type_="ENDED",
                    subject=request.name,
                )
            if move_out <= row.move_in:
                raise errors.invalid("move_out_date", f"must be after the move-in date {row.move_in}")
            if row.move_out is not None and move_out > row.move_out:
                raise errors.FailedPrecondition(
                    f"{request.name} is booked until {row.move_out}; assign the space again to extend",
                    type_="EXTENDS",
                    subject=request.name,
                )
            await store.end_assignment(uow.conn, assignment_id, move_out, reason)
            row = await store.get_assignment(uow.conn, assignment_id)
            if reason in (domain.GRADUATED, domain.WITHDRAWN):
                company = await _company(uow.conn, f"companies/{row.company_id}", "name")
                if company.status != reason:
                    await change_status(uow, company, reason, f"moved out of {row.label}")
            await uow.emit(f"{SUBJECT}.residency.moved_out", request.name, 2, residency_event(row))
        return assignment_pb(row)

    async def GetOccupancy(self, request: pb.GetOccupancyRequest, context: Context) -> pb.Occupancy:
        day = calendar_date(request.date, "date") or today()
        async with self.db.read() as conn:
            active = await store.active_assignments(conn, day)
            totals = await store.space_totals(conn)
        taken = {kind: len({r.space_id for r in active if r.kind == kind}) for kind in domain.SPACE_KINDS}
        return pb.Occupancy(
            date=date_message(day),
            offices_taken=taken["PRIVATE_OFFICE"],
            offices_total=totals.get("PRIVATE_OFFICE", 0),
            desks_taken=taken["OPEN_DESK"],
            desks_total=totals.get("OPEN_DESK", 0),
            assignments=[assignment_pb(r) for r in active],
        )

    async def GetOccupancyHistory(
        self, request: pb.GetOccupancyHistoryRequest, context: Context
    ) -> pb.GetOccupancyHistoryResponse:
        months = request.months or 12
        if not 1 <= months <= 36:
            raise errors.invalid("months", "must be 1 to 36")
        start = calendar_date(request.start_date, "start_date")
        if start is None:
            now_month = today().year * 12 + today().month - 1 - (months - 1)
            start = date(now_month // 12, now_month % 12 + 1, 1)
        points = [domain.month_start(start, n) for n in range(months)]
        async with self.db.read() as conn:
            held = await store.assignments_between(conn, points[0], points[-1])
            totals = await store.space_totals(conn)
        response = pb.GetOccupancyHistoryResponse()
        for point in points:
            active = [r for r in held if domain.overlaps(r.move_in, r.move_out, point, point + timedelta(days=1))]
            response.points.append(
                pb.Occupancy(
                    date=date_message(point),
                    offices_taken=len({r.space_id for r in active if r.kind == "PRIVATE_OFFICE"}),
                    offices_total=totals.get("PRIVATE_OFFICE", 0),
                    desks_taken=len({r.space_id for r in active if r.kind == "OPEN_DESK"}),
                    desks_total=totals.get("OPEN_DESK", 0),
                )
            )
        return response

    # KPI reports

    async def ReportKpi(self, request: pb.ReportKpiRequest, context: Context) -> pb.KpiReport:
        r = request.report
        period = domain.check_period(r.period, today=today())
        if r.revenue.currency_code not in ("", "KRW"):
            raise errors.invalid("report.revenue.currency_code", "must be KRW")
        _not_negative(**{
            "report.headcount": r.headcount, "report.revenue.units": r.revenue.units,
            "report.customers": r.customers, "report.patents": r.patents,
        })  # fmt: skip

        async def work() -> pb.KpiReport:
            try:
                async with self._write() as uow:
                    company = await _company(uow.conn, r.company, "report.company")
                    row = await store.insert_kpi_report(
                        uow.conn,
                        company_id=company.id,
                        period=period,
                        headcount=r.headcount,
                        revenue_krw=r.revenue.units,
                        customers=r.customers,
                        patents=r.patents,
                        note=r.note.strip(),
                        actor=uow.actor,
                    )
                    funding = (await store.funding_by_period(uow.conn, company.id, {period}))[period]
                    await uow.emit(
                        f"{SUBJECT}.kpi.reported",
                        f"{company.name}/kpi/{period}",
                        row.version,
                        ev.KpiReported(
                            report=f"kpiReports/{row.id}", company=company.name, period=period, version=row.version,
                            headcount=row.headcount, revenue_krw=row.revenue_krw,
                            funding_raised_krw=funding, customers=row.customers, patents=row.patents,
                        ),
                    )  # fmt: skip
                    response = kpi_pb(row, funding)
                    await remember(uow, "ReportKpi", request.request_id, request, response)
            except IntegrityError as exc:
                if "uq_kpi_reports_version" not in str(exc.orig) and "kpi_reports" not in str(exc.orig):
                    raise
                raise errors.Aborted(
                    f"another report for {r.company} {period} was filed at the same moment; retry"
                ) from None
            return response

        result: pb.KpiReport = await self._once("ReportKpi", request, pb.KpiReport, work)
        return result

    async def ListKpiReports(self, request: pb.ListKpiReportsRequest, context: Context) -> pb.ListKpiReportsResponse:
        async with self.db.read() as conn:
            company = await _company(conn, request.company, "company")
            rows = await store.list_kpi_reports(conn, company.id, all_versions=request.all_versions)
            funding = await store.funding_by_period(conn, company.id, {r.period for r in rows})
        return pb.ListKpiReportsResponse(reports=[kpi_pb(r, funding[r.period]) for r in rows])

    # Support

    async def SetSupportQuota(self, request: pb.SetSupportQuotaRequest, context: Context) -> pb.SupportQuota:
        q = request.quota
        kind = enum_short(pb.SupportKind, SUPPORT, q.kind)
        if q.quota < 0:
            raise errors.invalid("quota.quota", "must not be negative")
        try:
            async with self._write() as uow:
                company = await _company(uow.conn, q.company, "quota.company")
                await store.set_quota(uow.conn, company.id, kind, q.quota)
                used = await store.used(uow.conn, company.id, kind)
        except IntegrityError:
            raise errors.Aborted(f"the quota of {q.company} was set at the same moment; retry") from None
        return pb.SupportQuota(company=company.name, kind=q.kind, quota=q.quota, used=used)

    async def RecordSupport(self, request: pb.RecordSupportRequest, context: Context) -> pb.SupportGrant:
        g = request.grant
        kind = enum_short(pb.SupportKind, SUPPORT, g.kind)
        if kind in domain.COUNTED:
            raise errors.invalid("grant.kind", f"{kind} is {domain.COUNTED[kind]}, never recorded by hand")
        amount = _positive(g.amount, "grant.amount")
        override = g.override_reason.strip()

        async def work() -> pb.SupportGrant:
            async with self._write() as uow:
                company = await _company(uow.conn, g.company, "grant.company")
                quota = await store.lock_quota(uow.conn, company.id, kind)
                used = await store.used(uow.conn, company.id, kind)
                domain.check_quota(
                    kind=kind, used=used, quota=quota, amount=amount, override_reason=override, subject=company.name
                )
                row = await store.insert_grant(
                    uow.conn, company_id=company.id, kind=kind, amount=amount, note=g.note.strip(),
                    override_reason=override, actor=uow.actor,
                )  # fmt: skip
                await uow.emit(
                    f"{SUBJECT}.support.granted",
                    f"supportGrants/{row.id}",
                    1,
                    ev.SupportGranted(
                        grant=f"supportGrants/{row.id}", company=company.name, kind=kind, amount=amount,
                        override_reason=override, used_after=used + amount, quota=quota or 0,
                    ),
                )  # fmt: skip
                response = grant_pb(row)
                await remember(uow, "RecordSupport", request.request_id, request, response)
            return response

        result: pb.SupportGrant = await self._once("RecordSupport", request, pb.SupportGrant, work)
        return result

    async def ListSupport(self, request: pb.ListSupportRequest, context: Context) -> pb.ListSupportResponse:
        async with self.db.read() as conn:
            company = await _company(conn, request.company, "company")
            grants, totals, quotas = await store.support_ledger(conn, company.id)
        kinds = sorted(set(totals) | set(quotas), key=domain.SUPPORT_KINDS.index)
        return pb.ListSupportResponse(
            grants=[grant_pb(r) for r in grants],
            totals=[
                pb.ListSupportResponse.Total(
                    kind=enum_number(pb.SupportKind, SUPPORT, k), used=totals.get(k, 0), quota=quotas.get(k, 0)
                )
                for k in kinds
            ],
        )

    async def GetProgramStats(self, request: pb.GetProgramStatsRequest, context: Context) -> pb.ProgramStats:
        day = today()
        async with self.db.read() as conn:
            active = await store.active_assignments(conn, day)
            totals = await store.space_totals(conn)
            latest = await store.latest_round(conn)
            applications = await store.count_applications(conn, latest.id) if latest else 0
            reporters = await store.kpi_reporters(conn)
            gpu = await store.total_used(conn, "GPU_HOURS")
            consultations = await store.total_used(conn, "TECHNICAL_CONSULTATION")
            grown = await self._grown(conn)
        seats = latest.total_seats if latest else 0
        return pb.ProgramStats(
            offices_taken=len({r.space_id for r in active if r.kind == "PRIVATE_OFFICE"}),
            offices_total=totals.get("PRIVATE_OFFICE", 0),
            desks_taken=len({r.space_id for r in active if r.kind == "OPEN_DESK"}),
            desks_total=totals.get("OPEN_DESK", 0),
            latest_round=latest.name if latest else "",
            applications=applications,
            seats=seats,
            competition_ratio=domain.competition_ratio(applications, seats),
            kpi_reporters=reporters,
            gpu_hours_used=gpu,
            technical_consultations=consultations,
            firms_grown=len(grown),
        )

    # KPI figures across companies

    async def GetKpiTrends(self, request: pb.GetKpiTrendsRequest, context: Context) -> pb.KpiTrends:
        terms = parse_filter(
            request.filter, {"round": lambda v: parse_name(v, "rounds", "filter"), "move_in_year": _year}
        )
        first, last = (
            domain.quarter_of(domain.check_period(text, field)) if text else None
            for text, field in ((request.start_period, "start_period"), (request.end_period, "end_period"))
        )
        if first and last and last < first:
            raise errors.invalid("end_period", f"is before start_period {first}")
        async with self.db.read() as conn:
            firms = await store.hub_firms(conn)
            reports = await store.latest_kpi_reports(conn)
            funding = await store.closed_rounds(conn)
            by_round = await store.round_cohorts(conn)
            by_year = {company: moved.year for company, moved in (await store.move_in_cohorts(conn)).items()}
        cohort_of: dict[int, Callable[[int], str | None]] = {
            pb.COHORT_KIND_UNSPECIFIED: lambda _: "",
            pb.COHORT_KIND_ROUND: lambda c: f"rounds/{by_round[c]}" if c in by_round else None,
            pb.COHORT_KIND_MOVE_IN_YEAR: lambda c: str(by_year[c]) if c in by_year else None,
        }
        groups: dict[str, list[int]] = {"": []} if not request.cohort_by else {}
        for firm in firms:
            if "round" in terms and by_round.get(firm.id) not in terms["round"]:
                continue
            if "move_in_year" in terms and by_year.get(firm.id) not in terms["move_in_year"]:
                continue
            cohort = cohort_of[request.cohort_by](firm.id)
            if cohort is not None:
                groups.setdefault(cohort, []).append(firm.id)
        response = pb.KpiTrends()
        for cohort, members in sorted(groups.items(), key=lambda g: (len(g[0]), g[0])):
            figures = []
            for company in members:
                rows = [(r.period, r.headcount, r.revenue_krw) for r in reports.get(company, [])]
                for quarter, (headcount, revenue) in domain.quarterly(rows).items():
                    if (first and quarter < first) or (last and quarter > last):
                        continue
                    end = domain.period_end(quarter)
                    raised = sum(a for a, closed in funding.get(company, []) if closed is None or closed <= end)
                    figures.append((quarter, headcount, revenue, raised))
            series = response.series.add(cohort=cohort, companies=len(members))
            for p in domain.trend_points(figures):
                series.points.add(
                    period=p.quarter, companies=p.companies,
                    headcount_sum=p.headcount[0], headcount_median=p.headcount[1],
                    revenue_sum=p.revenue[0], revenue_median=p.revenue[1],
                    funding_sum=p.funding[0], funding_median=p.funding[1],
                )  # fmt: skip
        return response

    # Milestones and growth

    async def CreateMilestone(self, request: pb.CreateMilestoneRequest, context: Context) -> pb.Milestone:
        m = request.milestone
        company_id = parse_name(m.company, "companies", "milestone.company")
        kind = enum_short(pb.MilestoneKind, MILESTONE, m.kind)
        achieved = calendar_date(m.achieve_date, "milestone.achieve_date")
        domain.check_milestone(achieved=achieved, today=today(), evidence_url=m.evidence_url, evidence=m.evidence)

        async def work() -> pb.Milestone:
            async with self._write() as uow:
                await _company(uow.conn, m.company, "milestone.company")
                row = await store.insert_milestone(
                    uow.conn, company_id=company_id, kind=kind, achieved_on=achieved,
                    evidence_url=m.evidence_url.strip(), evidence=m.evidence.strip(), actor=uow.actor,
                )  # fmt: skip
                await uow.emit(f"{SUBJECT}.milestone.recorded", f"milestones/{row.id}", 1, milestone_event(row))
                response = milestone_pb(row)
                await remember(uow, "CreateMilestone", request.request_id, request, response)
            return response

        result: pb.Milestone = await self._once("CreateMilestone", request, pb.Milestone, work)
        return result

    async def ListMilestones(self, request: pb.ListMilestonesRequest, context: Context) -> pb.ListMilestonesResponse:
        size = page_size(request.page_size)
        terms = parse_filter(
            request.filter,
            {
                "company": lambda v: parse_name(v, "companies", "filter"),
                "kind": short_value(pb.MilestoneKind, MILESTONE),
            },
        )
        query_key = f"milestones|{sorted(terms.items())}"
        after = PageTokens.decode(request.page_token, query_key, (date, int))
        c = store.milestones.c
        query = sa.select(store.milestones).order_by(c.achieved_on, c.id).limit(size + 1)
        for key, column in (("company", c.company_id), ("kind", c.kind)):
            if key in terms:
                query = query.where(column.in_(terms[key]))
        if after is not None:
            achieved, last_id = after
            query = query.where(sa.or_(c.achieved_on > achieved, sa.and_(c.achieved_on == achieved, c.id > last_id)))
        async with self.db.read() as conn:
            found = list(await conn.execute(query))
        response = pb.ListMilestonesResponse(milestones=[milestone_pb(r) for r in found[:size]])
        if len(found) > size:
            last = found[size - 1]
            response.next_page_token = PageTokens.encode(query_key, [last.achieved_on.isoformat(), last.id])
        return response

    async def DeleteMilestone(self, request: pb.DeleteMilestoneRequest, context: Context) -> empty_pb2.Empty:
        milestone_id = parse_name(request.name, "milestones")
        async with self._write() as uow:
            row = await store.get_milestone(uow.conn, milestone_id)
            if row is None:
                raise errors.NotFound("Milestone", request.name)
            await store.delete_milestone(uow.conn, milestone_id)
            await uow.emit(f"{SUBJECT}.milestone.deleted", request.name, 2, milestone_event(row))
        return empty_pb2.Empty()

    async def _grown(self, conn: AsyncConnection) -> list[tuple[domain.Company, list[str]]]:
        """The hub's firms that count as grown by the rules, each with its reasons."""
        firms = await store.hub_firms(conn, domain.HUB_FIRMS)
        reports = await store.latest_kpi_reports(conn)
        milestones = await store.milestones_by_company(conn)
        grown = []
        for firm in firms:
            reasons = domain.growth_reasons(
                self.growth,
                funding=firm.funding_raised,
                reports=[(r.period, r.revenue_krw) for r in reports.get(firm.id, [])],
                milestones=milestones.get(firm.id, []),
            )
            if reasons:
                grown.append((firm, reasons))
        return grown

    async def GetGrowth(self, request: pb.GetGrowthRequest, context: Context) -> pb.Growth:
        async with self.db.read() as conn:
            grown = await self._grown(conn)
        return pb.Growth(
            rules=self.growth.describe(),
            firms_grown=len(grown),
            firms=[pb.Growth.Firm(company=f.name, korean_name=f.korean_name, reasons=r) for f, r in grown],
        )
