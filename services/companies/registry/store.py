"""Companies and people: the queries CompanyService and the event handlers need (SQLAlchemy Core: fast,
explicit), each returning domain objects. The tables are in services/companies/tables.py."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date, datetime

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from hubcore.db import contains, keyset_after
from hubcore.months import running_totals
from hubcore.rows import JSON, Rows, TagIndex, any_of, upsert_newer
from services.companies.registry.domain import Company, Person, SavedView
from services.companies.tables import (
    applications,
    companies,
    company_rounds,
    company_tags,
    people,
    saved_views,
    stats_companies,
)

# ListCompanies' order_by keys -> the column (and the Company attribute) they sort by.
COMPANY_ORDER = {
    "create_time": "created_at",
    "update_time": "updated_at",
    "korean_name": "korean_name",
    "english_name": "english_name",
}
TIME_ORDERS = frozenset({"create_time", "update_time"})


TAGS = TagIndex(company_tags, "company_id", "tags")  # for ListCompanies' tag filter
COMPANIES = Rows(
    companies,
    Company,
    columns={"funding_raised": "funding_raised_krw"},
    codecs={"tags": JSON},
    read_only=("funding_raised", "last_round"),  # apply_closed_round keeps them
    tags=TAGS,
)
PEOPLE = Rows(people, Person)
SAVED_VIEWS = Rows(saved_views, SavedView)

get_company = COMPANIES.get
insert_company = COMPANIES.insert
save_company = COMPANIES.save  # if nobody changed it since it was read at expected_version (else StaleWrite)
get_person = PEOPLE.get
insert_person = PEOPLE.insert
save_person = PEOPLE.save
get_saved_view = SAVED_VIEWS.get
insert_saved_view = SAVED_VIEWS.insert


async def delete_person(conn: AsyncConnection, person_id: int) -> None:
    await conn.execute(people.delete().where(people.c.id == person_id))


async def upsert_stats_row(
    conn: AsyncConnection, *, company: str, status: str, sector: str, archived: bool, version: int
) -> None:
    """Applies a snapshot if it is newer than what the read model holds (events may arrive out of order)."""
    values = {"status": status, "sector": sector, "archived": archived, "version": version}
    await upsert_newer(conn, stats_companies, {"company": company}, values)


async def apply_closed_round(
    conn: AsyncConnection, *, round_name: str, company_id: int, round_type: str, amount: int, closed_on: date | None
) -> bool:
    """Counts a closed round in its company's funding, once; returns False if it was counted before.
    The totals are recomputed from company_rounds, so they never depend on arrival order."""
    known = await conn.execute(sa.select(company_rounds.c.round).where(company_rounds.c.round == round_name))
    if known.first() is not None:
        return False
    await conn.execute(
        company_rounds.insert().values(
            round=round_name, company_id=company_id, round_type=round_type, amount_krw=amount, closed_on=closed_on
        )
    )
    r = company_rounds.c
    total = (
        await conn.execute(sa.select(sa.func.coalesce(sa.func.sum(r.amount_krw), 0)).where(r.company_id == company_id))
    ).scalar_one()
    latest = (
        await conn.execute(
            sa.select(r.round_type)
            .where(r.company_id == company_id)
            .order_by(r.closed_on.desc().nulls_last(), r.round.desc())
            .limit(1)
        )
    ).scalar_one()
    await conn.execute(
        companies.update().where(companies.c.id == company_id).values(funding_raised_krw=int(total), last_round=latest)
    )
    return True


async def stats(conn: AsyncConnection) -> tuple[dict[str, int], dict[str, int]]:
    live = stats_companies.c.archived.is_(False)
    by_status = await conn.execute(
        sa.select(stats_companies.c.status, sa.func.count()).where(live).group_by(stats_companies.c.status)
    )
    by_sector = await conn.execute(
        sa.select(stats_companies.c.sector, sa.func.count()).where(live).group_by(stats_companies.c.sector)
    )
    return {k: n for k, n in by_status.all()}, {k: n for k, n in by_sector.all()}


async def registered_by_month(conn: AsyncConnection, statuses: Sequence[str], ends: list[datetime]) -> list[int]:
    """Live companies now in one of the statuses, registered before each end (one pass over the companies)."""
    c = companies.c
    where = (c.status.in_(statuses), c.deleted_at.is_(None))
    return [int(n) for n in (await conn.execute(sa.select(*running_totals(c.created_at, ends)).where(*where))).one()]


async def list_companies(
    conn: AsyncConnection, *, terms: Mapping[str, Sequence[object]], text: str, show_deleted: bool, order: str,
    descending: bool, after: Sequence[object] | None, limit: int,
) -> list[Company]:  # fmt: skip
    """Companies matching the filter terms (status, sector, stage, cohort: any of; tag: all of) and the text, in the
    order's keyset after the position `after` (the order's value, the id)."""
    c = companies.c
    sort_columns = [c[COMPANY_ORDER[order]], c.id]
    query = sa.select(companies)
    for key in ("status", "sector", "stage"):
        if key in terms:
            query = query.where(c[key].in_(terms[key]))
    for tag in terms.get("tag", []):
        query = query.where(c.id.in_(TAGS.owners(tag)))
    if "cohort" in terms:
        query = query.where(_selected_in(c.id, terms["cohort"]))
    if text.strip():
        query = query.where(contains(c.search_text, text))
    if not show_deleted:
        query = query.where(c.deleted_at.is_(None))
    if after is not None:
        query = query.where(keyset_after(sort_columns, after, descending))
    query = query.order_by(*(col.desc() if descending else col.asc() for col in sort_columns)).limit(limit)
    return await COMPANIES.all(conn, query)


def _selected_in(company_id: sa.ColumnElement[int], rounds: Sequence[object]) -> sa.ColumnElement[bool]:
    """The company was selected in one of the rounds (a cohort): an application of it there decided SELECTED.
    Applicants are names (companies/1), so the id is written as one; the (round, applicant) index finds them."""
    a = applications.c
    selected = sa.select(a.applicant).where(a.round_id.in_(rounds), a.state == "SELECTED")
    return (sa.literal("companies/") + sa.cast(company_id, sa.String)).in_(selected)


async def list_people(
    conn: AsyncConnection, *, terms: Mapping[str, Sequence[object]], text: str, after_id: int | None, limit: int
) -> list[Person]:
    """People of any of the companies and roles in terms, matching the text, by id after after_id."""
    c = people.c
    where = any_of((c.company_id, terms.get("company")), (c.role, terms.get("role")))
    if text.strip():
        where.append(contains(c.search_text, text))
    return await PEOPLE.list(conn, *where, after=after_id, limit=limit)


async def find_saved_view(conn: AsyncConnection, list_name: str, title: str) -> SavedView | None:
    c = saved_views.c
    return await SAVED_VIEWS.first(conn, c.list == list_name, c.title == title)


async def list_saved_views(
    conn: AsyncConnection, *, terms: Mapping[str, Sequence[object]], after_id: int | None, limit: int
) -> list[SavedView]:
    """The views of any of the lists in terms, oldest first."""
    return await SAVED_VIEWS.list(conn, *any_of((saved_views.c.list, terms.get("list"))), after=after_id, limit=limit)


async def delete_saved_view(conn: AsyncConnection, view_id: int) -> None:
    await conn.execute(saved_views.delete().where(saved_views.c.id == view_id))
