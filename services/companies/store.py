"""The hub program's queries (SQLAlchemy Core: fast, explicit). The tables are in tables.py and the queries of
companies and people in registry/store.py; both are re-exported here for the program's code until it moves
to program/."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import date
from typing import Any

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from hubcore import errors
from hubcore.db import as_utc, now
from services.companies.domain import SELECTED, Application, Company, Criterion, Round, period_end

# Re-exported for the program's code and tests, until they import tables.py and registry/store.py.
from services.companies.registry.store import apply_closed_round, get_company, get_person, to_company  # noqa: F401
from services.companies.tables import (  # noqa: F401
    NO_OVERLAP,
    access_tokens,
    applications,
    assignments,
    companies,
    company_rounds,
    company_tags,
    conflicts,
    erasures,
    kpi_reports,
    metadata,
    milestones,
    people,
    rounds,
    scores,
    spaces,
    stats_companies,
    support_grants,
    support_quotas,
)  # fmt: skip

# The hub program.


async def hub_firms(conn: AsyncConnection, statuses: tuple[str, ...] | None = None) -> list[Company]:
    """Live (not archived) companies, of the given statuses if any, by id."""
    c = companies.c
    query = sa.select(companies).where(c.deleted_at.is_(None)).order_by(c.id)
    if statuses is not None:
        query = query.where(c.status.in_(statuses))
    return [to_company(r) for r in await conn.execute(query)]


def to_round(row: Any) -> Round:
    return Round(
        id=row.id,
        title=row.title,
        open_date=row.open_date,
        close_date=row.close_date,
        seats=json.loads(row.seats),
        criteria=[Criterion(k, t, w) for k, t, w in json.loads(row.criteria)],
        questions=json.loads(row.questions),
        created_at=as_utc(row.created_at),
    )


async def insert_round(conn: AsyncConnection, r: Round) -> Round:
    stamp = now()
    round_id = (
        await conn.execute(
            rounds.insert()
            .values(
                title=r.title,
                open_date=r.open_date,
                close_date=r.close_date,
                seats=json.dumps(r.seats),
                criteria=json.dumps([[c.key, c.title, c.weight] for c in r.criteria], ensure_ascii=False),
                questions=json.dumps(r.questions, ensure_ascii=False),
                created_at=stamp,
            )
            .returning(rounds.c.id)
        )
    ).scalar_one()
    return replace(r, id=round_id, created_at=stamp)


async def get_round(conn: AsyncConnection, round_id: int, *, lock: bool = False) -> Round | None:
    """lock: FOR UPDATE on PostgreSQL, so that decisions on one round's seats are taken one at a time."""
    query = sa.select(rounds).where(rounds.c.id == round_id)
    row = (await conn.execute(query.with_for_update() if lock else query)).first()
    return to_round(row) if row else None


async def latest_round(conn: AsyncConnection) -> Round | None:
    row = (await conn.execute(sa.select(rounds).order_by(rounds.c.id.desc()).limit(1))).first()
    return to_round(row) if row else None


async def application_counts(conn: AsyncConnection, round_ids: list[int]) -> dict[int, int]:
    c = applications.c
    rows = await conn.execute(
        sa.select(c.round_id, sa.func.count()).where(c.round_id.in_(round_ids)).group_by(c.round_id)
    )
    return {r: int(n) for r, n in rows.all()}


async def count_applications(conn: AsyncConnection, round_id: int) -> int:
    query = sa.select(sa.func.count()).select_from(applications).where(applications.c.round_id == round_id)
    return int((await conn.execute(query)).scalar_one())


def to_application(row: Any) -> Application:
    return Application(
        id=row.id,
        round_id=row.round_id,
        applicant=row.applicant,
        seat_kind=row.seat_kind,
        answers=[(q, t) for q, t in json.loads(row.answers)],
        attachment_urls=json.loads(row.attachment_urls),
        state=row.state,
        decision_reason=row.decision_reason,
        created_at=as_utc(row.created_at),
        version=row.version,
    )


async def insert_application(conn: AsyncConnection, a: Application) -> Application:
    stamp = now()
    application_id = (
        await conn.execute(
            applications.insert()
            .values(
                round_id=a.round_id,
                applicant=a.applicant,
                seat_kind=a.seat_kind,
                answers=json.dumps([list(x) for x in a.answers], ensure_ascii=False),
                attachment_urls=json.dumps(a.attachment_urls),
                state=a.state,
                decision_reason=a.decision_reason,
                created_at=stamp,
                version=a.version,
            )
            .returning(applications.c.id)
        )
    ).scalar_one()
    return replace(a, id=application_id, created_at=stamp)


async def find_application(conn: AsyncConnection, round_id: int, applicant: str) -> int | None:
    c = applications.c
    query = sa.select(c.id).where(c.round_id == round_id, c.applicant == applicant)
    return (await conn.execute(query)).scalar_one_or_none()


async def get_application(conn: AsyncConnection, application_id: int) -> Application | None:
    row = (await conn.execute(sa.select(applications).where(applications.c.id == application_id))).first()
    return to_application(row) if row else None


async def round_applications(conn: AsyncConnection, round_id: int) -> list[Application]:
    c = applications.c
    rows = await conn.execute(sa.select(applications).where(c.round_id == round_id).order_by(c.id))
    return [to_application(r) for r in rows]


async def save_application(conn: AsyncConnection, a: Application, *, expected_version: int) -> None:
    c = applications.c
    result = await conn.execute(
        applications.update()
        .where(c.id == a.id, c.version == expected_version)
        .values(state=a.state, decision_reason=a.decision_reason, version=a.version)
    )
    if result.rowcount != 1:
        raise errors.StaleWrite(a.name)


async def count_selected(conn: AsyncConnection, round_id: int, seat_kind: str) -> int:
    c = applications.c
    query = (
        sa.select(sa.func.count())
        .select_from(applications)
        .where(c.round_id == round_id, c.seat_kind == seat_kind, c.state == SELECTED)
    )
    return int((await conn.execute(query)).scalar_one())


async def declare_conflict(conn: AsyncConnection, round_id: int, reviewer: str, applicant: str, reason: str) -> None:
    c = conflicts.c
    known = await conn.execute(
        sa.select(c.reviewer).where(c.round_id == round_id, c.reviewer == reviewer, c.applicant == applicant)
    )
    if known.first() is None:  # a concurrent declaration of the same conflict is caught by the primary key
        await conn.execute(
            conflicts.insert().values(
                round_id=round_id, reviewer=reviewer, applicant=applicant, reason=reason, created_at=now()
            )
        )


async def round_conflicts(conn: AsyncConnection, round_id: int) -> set[tuple[str, str]]:
    rows = await conn.execute(
        sa.select(conflicts.c.reviewer, conflicts.c.applicant).where(conflicts.c.round_id == round_id)
    )
    return {(r.reviewer, r.applicant) for r in rows}


async def has_score(conn: AsyncConnection, application_id: int, reviewer: str) -> bool:
    c = scores.c
    found = await conn.execute(sa.select(c.reviewer).where(c.application_id == application_id, c.reviewer == reviewer))
    return found.first() is not None


async def insert_score(
    conn: AsyncConnection, application_id: int, reviewer: str, values: dict[str, int], comment: str
) -> None:
    await conn.execute(
        scores.insert().values(
            application_id=application_id,
            reviewer=reviewer,
            score_values=json.dumps(values, sort_keys=True),
            comment=comment,
            created_at=now(),
        )
    )


async def round_scores(conn: AsyncConnection, round_id: int) -> list[tuple[int, str, dict[str, int]]]:
    query = (
        sa.select(scores.c.application_id, scores.c.reviewer, scores.c.score_values)
        .join(applications, applications.c.id == scores.c.application_id)
        .where(applications.c.round_id == round_id)
    )
    return [(r.application_id, r.reviewer, json.loads(r.score_values)) for r in await conn.execute(query)]


async def insert_space(conn: AsyncConnection, kind: str, label: str, floor: int, seats: int) -> Any:
    space_id = (
        await conn.execute(
            spaces.insert().values(kind=kind, label=label, floor=floor, seats=seats).returning(spaces.c.id)
        )
    ).scalar_one()
    return await get_space(conn, space_id)


async def get_space(conn: AsyncConnection, space_id: int) -> Any:
    return (await conn.execute(sa.select(spaces).where(spaces.c.id == space_id))).first()


async def find_space(conn: AsyncConnection, label: str) -> Any:
    return (await conn.execute(sa.select(spaces).where(spaces.c.label == label))).first()


async def list_spaces(conn: AsyncConnection) -> list[Any]:
    return list(await conn.execute(sa.select(spaces).order_by(spaces.c.kind.desc(), spaces.c.label)))


class SpaceTaken(Exception):
    """Another assignment holds the space for an overlapping period."""

    def __init__(self, assignment: int, company_id: int) -> None:
        super().__init__(f"assignments/{assignment}")
        self.assignment = assignment
        self.company_id = company_id


async def find_overlap(conn: AsyncConnection, space_id: int, move_in: date, move_out: date | None) -> Any:
    c = assignments.c
    query = sa.select(c.id, c.company_id).where(
        c.space_id == space_id,
        sa.or_(c.move_out.is_(None), c.move_out > move_in),
        *([c.move_in < move_out] if move_out is not None else []),
    )
    return (await conn.execute(query.order_by(c.move_in).limit(1))).first()


async def assign_space(
    conn: AsyncConnection, *, space_id: int, company_id: int, move_in: date, move_out: date | None
) -> Any:
    """Checks and inserts in one transaction (serialized on SQLite; on PostgreSQL the exclusion constraint
    refuses what a concurrent writer slipped in, as an IntegrityError that is_overlap() recognizes)."""
    holder = await find_overlap(conn, space_id, move_in, move_out)
    if holder is not None:
        raise SpaceTaken(holder.id, holder.company_id)
    assignment_id = (
        await conn.execute(
            assignments.insert()
            .values(space_id=space_id, company_id=company_id, move_in=move_in, move_out=move_out, created_at=now())
            .returning(assignments.c.id)
        )
    ).scalar_one()
    return await get_assignment(conn, assignment_id)


def is_overlap(exc: IntegrityError) -> bool:
    """The exclusion constraint refused an overlapping assignment (SQLSTATE 23P01)."""
    return getattr(exc.orig, "sqlstate", None) == "23P01" or NO_OVERLAP in str(exc.orig)


def _assignment_query() -> sa.Select[Any]:
    return sa.select(assignments, spaces.c.kind, spaces.c.label).join(spaces, spaces.c.id == assignments.c.space_id)


async def get_assignment(conn: AsyncConnection, assignment_id: int, *, lock: bool = False) -> Any:
    query = _assignment_query().where(assignments.c.id == assignment_id)
    return (await conn.execute(query.with_for_update(of=assignments) if lock else query)).first()


async def end_assignment(conn: AsyncConnection, assignment_id: int, move_out: date, reason: str) -> None:
    await conn.execute(
        assignments.update().where(assignments.c.id == assignment_id).values(move_out=move_out, move_out_reason=reason)
    )


async def active_assignments(conn: AsyncConnection, day: date, company_id: int | None = None) -> list[Any]:
    c = assignments.c
    query = _assignment_query().where(c.move_in <= day, sa.or_(c.move_out.is_(None), c.move_out > day))
    if company_id is not None:
        query = query.where(c.company_id == company_id)
    return list(await conn.execute(query.order_by(spaces.c.label)))


async def assignments_between(conn: AsyncConnection, first: date, last: date) -> list[Any]:
    """Assignments that hold their space at some day from first to last, with the space's kind."""
    c = assignments.c
    query = _assignment_query().where(c.move_in <= last, sa.or_(c.move_out.is_(None), c.move_out > first))
    return list(await conn.execute(query))


async def space_totals(conn: AsyncConnection) -> dict[str, int]:
    rows = await conn.execute(sa.select(spaces.c.kind, sa.func.count()).group_by(spaces.c.kind))
    return {k: int(n) for k, n in rows.all()}


async def insert_kpi_report(conn: AsyncConnection, *, company_id: int, period: str, **values: Any) -> Any:
    """The next version of the company's report for the period; earlier versions stay as they are. Two
    concurrent reports for one period cannot take the same version (unique constraint)."""
    c = kpi_reports.c
    latest = (
        await conn.execute(sa.select(sa.func.max(c.version)).where(c.company_id == company_id, c.period == period))
    ).scalar_one()
    report_id = (
        await conn.execute(
            kpi_reports.insert()
            .values(company_id=company_id, period=period, version=(latest or 0) + 1, created_at=now(), **values)
            .returning(c.id)
        )
    ).scalar_one()
    return (await conn.execute(sa.select(kpi_reports).where(c.id == report_id))).one()


async def list_kpi_reports(conn: AsyncConnection, company_id: int, *, all_versions: bool) -> list[Any]:
    c = kpi_reports.c
    query = sa.select(kpi_reports).where(c.company_id == company_id)
    if not all_versions:
        newest = (
            sa.select(c.period, sa.func.max(c.version).label("version"))
            .where(c.company_id == company_id)
            .group_by(c.period)
            .subquery()
        )
        query = query.join(newest, sa.and_(c.period == newest.c.period, c.version == newest.c.version))
    return list(await conn.execute(query.order_by(c.period.desc(), c.version.desc())))


async def latest_kpi_reports(conn: AsyncConnection) -> dict[int, list[Any]]:
    """Every company's reports, the latest version of each period, by company."""
    c = kpi_reports.c
    newest = sa.select(c.company_id, c.period, sa.func.max(c.version).label("version")).group_by(c.company_id, c.period)
    n = newest.subquery()
    query = sa.select(kpi_reports).join(
        n, sa.and_(c.company_id == n.c.company_id, c.period == n.c.period, c.version == n.c.version)
    )
    found: dict[int, list[Any]] = {}
    for row in await conn.execute(query.order_by(c.company_id, c.period)):
        found.setdefault(row.company_id, []).append(row)
    return found


async def closed_rounds(conn: AsyncConnection) -> dict[int, list[tuple[int, date | None]]]:
    """The closed rounds counted (company_rounds), as company -> [(amount, closed_on)]."""
    r = company_rounds.c
    found: dict[int, list[tuple[int, date | None]]] = {}
    for row in await conn.execute(sa.select(r.company_id, r.amount_krw, r.closed_on)):
        found.setdefault(row.company_id, []).append((int(row.amount_krw), row.closed_on))
    return found


async def round_cohorts(conn: AsyncConnection) -> dict[int, int]:
    """company -> the first round that selected it."""
    c = applications.c
    query = (
        sa.select(c.applicant, sa.func.min(c.round_id))
        .where(c.state == SELECTED, c.applicant.like("companies/%"))
        .group_by(c.applicant)
    )
    return {int(applicant.split("/")[1]): int(r) for applicant, r in (await conn.execute(query)).all()}


async def move_in_cohorts(conn: AsyncConnection) -> dict[int, date]:
    """company -> its first move-in date."""
    c = assignments.c
    query = sa.select(c.company_id, sa.func.min(c.move_in)).group_by(c.company_id)
    return {int(company): first for company, first in (await conn.execute(query)).all()}


async def funding_by_period(conn: AsyncConnection, company_id: int, periods: set[str]) -> dict[str, int]:
    """Funding raised to the end of each period: the closed rounds counted in company_rounds (each once,
    from hub.investors.round.closed), so a report's figure follows rounds that close after it was filed."""
    r = company_rounds.c
    rows = (await conn.execute(sa.select(r.amount_krw, r.closed_on).where(r.company_id == company_id))).all()
    totals = {}
    for period in periods:
        end = period_end(period)
        totals[period] = sum(int(x.amount_krw) for x in rows if x.closed_on is None or x.closed_on <= end)
    return totals


async def kpi_reporters(conn: AsyncConnection) -> int:
    query = sa.select(sa.func.count(sa.distinct(kpi_reports.c.company_id)))
    return int((await conn.execute(query)).scalar_one())


async def set_quota(conn: AsyncConnection, company_id: int, kind: str, quota: int) -> None:
    c = support_quotas.c
    done = await conn.execute(
        support_quotas.update().where(c.company_id == company_id, c.kind == kind).values(quota=quota)
    )
    if done.rowcount == 0:
        await conn.execute(support_quotas.insert().values(company_id=company_id, kind=kind, quota=quota))


async def lock_quota(conn: AsyncConnection, company_id: int, kind: str) -> int | None:
    """The quota, locked for this transaction on PostgreSQL (FOR UPDATE), so that concurrent usage against it
    is checked one at a time; SQLite's write transactions are serialized anyway."""
    c = support_quotas.c
    query = sa.select(c.quota).where(c.company_id == company_id, c.kind == kind).with_for_update()
    return (await conn.execute(query)).scalar_one_or_none()


async def used(conn: AsyncConnection, company_id: int, kind: str) -> int:
    c = support_grants.c
    query = sa.select(sa.func.coalesce(sa.func.sum(c.amount), 0)).where(c.company_id == company_id, c.kind == kind)
    return int((await conn.execute(query)).scalar_one())


async def insert_grant(conn: AsyncConnection, **values: Any) -> Any:
    c = support_grants.c
    grant_id = (
        await conn.execute(support_grants.insert().values(created_at=now(), **values).returning(c.id))
    ).scalar_one()
    return (await conn.execute(sa.select(support_grants).where(c.id == grant_id))).one()


async def support_ledger(conn: AsyncConnection, company_id: int) -> tuple[list[Any], dict[str, int], dict[str, int]]:
    g, q = support_grants.c, support_quotas.c
    grants = list(await conn.execute(sa.select(support_grants).where(g.company_id == company_id).order_by(g.id)))
    totals = await conn.execute(
        sa.select(g.kind, sa.func.sum(g.amount)).where(g.company_id == company_id).group_by(g.kind)
    )
    quotas = await conn.execute(sa.select(q.kind, q.quota).where(q.company_id == company_id))
    return grants, {k: int(n) for k, n in totals.all()}, {k: int(n) for k, n in quotas.all()}


async def record_counted(conn: AsyncConnection, *, source: str, **values: Any) -> Any | None:
    """A ledger entry counted from another service's event, once per source; None if it was counted before
    (a concurrent duplicate is refused by the unique index)."""
    c = support_grants.c
    if (await conn.execute(sa.select(c.id).where(c.source == source))).first() is not None:
        return None
    return await insert_grant(conn, source=source, **values)


async def insert_milestone(conn: AsyncConnection, **values: Any) -> Any:
    c = milestones.c
    inserted = await conn.execute(milestones.insert().values(created_at=now(), **values).returning(c.id))
    milestone_id = inserted.scalar_one()
    return await get_milestone(conn, milestone_id)


async def get_milestone(conn: AsyncConnection, milestone_id: int) -> Any:
    return (await conn.execute(sa.select(milestones).where(milestones.c.id == milestone_id))).first()


async def delete_milestone(conn: AsyncConnection, milestone_id: int) -> None:
    await conn.execute(milestones.delete().where(milestones.c.id == milestone_id))


async def milestones_by_company(conn: AsyncConnection) -> dict[int, list[tuple[str, date]]]:
    c = milestones.c
    found: dict[int, list[tuple[str, date]]] = {}
    for row in await conn.execute(sa.select(c.company_id, c.kind, c.achieved_on)):
        found.setdefault(row.company_id, []).append((row.kind, row.achieved_on))
    return found


async def open_assignments(conn: AsyncConnection, company_id: int, day: date) -> list[Any]:
    """The company's assignments not ended (no move-out reason) that hold a space on or after day, locked."""
    c = assignments.c
    query = _assignment_query().where(
        c.company_id == company_id, c.move_out_reason == "", sa.or_(c.move_out.is_(None), c.move_out > day)
    )
    return list(await conn.execute(query.order_by(c.id).with_for_update(of=assignments)))


async def total_used(conn: AsyncConnection, kind: str) -> int:
    c = support_grants.c
    query = sa.select(sa.func.coalesce(sa.func.sum(c.amount), 0)).where(c.kind == kind)
    return int((await conn.execute(query)).scalar_one())
