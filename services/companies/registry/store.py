"""Companies and people: the queries CompanyService and the event handlers need (SQLAlchemy Core: fast,
explicit), each returning domain objects. The tables are in services/companies/tables.py."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import replace
from datetime import date
from typing import TypeAlias

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from hubcore.convert import as_utc
from hubcore.db import contains, keyset_after, now, save_versioned
from services.companies.registry.domain import Company, Person
from services.companies.tables import companies, company_rounds, company_tags, people, stats_companies

Row: TypeAlias = sa.Row[tuple[object, ...]]
# ListCompanies' order_by keys -> the column (and the Company attribute) they sort by.
COMPANY_ORDER = {
    "create_time": "created_at",
    "update_time": "updated_at",
    "korean_name": "korean_name",
    "english_name": "english_name",
}
TIME_ORDERS = frozenset({"create_time", "update_time"})


def to_company(row: Row) -> Company:
    return Company(
        id=row.id,
        korean_name=row.korean_name,
        english_name=row.english_name,
        sector=row.sector,
        stage=row.stage,
        status=row.status,
        website=row.website,
        tags=json.loads(row.tags),
        founded_on=row.founded_on,
        description=row.description,
        created_at=as_utc(row.created_at),
        updated_at=as_utc(row.updated_at),
        deleted_at=as_utc(row.deleted_at) if row.deleted_at else None,
        version=row.version,
        funding_raised=row.funding_raised_krw,
        last_round=row.last_round,
        erased_at=as_utc(row.erased_at) if row.erased_at else None,
    )


def _company_values(company: Company) -> dict[str, object]:
    return {
        "korean_name": company.korean_name,
        "english_name": company.english_name,
        "sector": company.sector,
        "stage": company.stage,
        "status": company.status,
        "website": company.website,
        "tags": json.dumps(company.tags, ensure_ascii=False),
        "founded_on": company.founded_on,
        "description": company.description,
        "search_text": company.search_text,
        "deleted_at": company.deleted_at,
        "version": company.version,
        "erased_at": company.erased_at,
    }


async def get_company(conn: AsyncConnection, company_id: int) -> Company | None:
    row = (await conn.execute(sa.select(companies).where(companies.c.id == company_id))).first()
    return to_company(row) if row else None


async def insert_company(conn: AsyncConnection, company: Company) -> Company:
    stamp = now()
    values = _company_values(company) | {"created_at": stamp, "updated_at": stamp}
    company_id = (await conn.execute(companies.insert().values(values).returning(companies.c.id))).scalar_one()
    await _write_tags(conn, company_id, company.tags)
    return replace(company, id=company_id, created_at=stamp, updated_at=stamp)


async def save_company(conn: AsyncConnection, company: Company, *, expected_version: int) -> Company:
    """Writes the company if nobody changed it since it was read at expected_version (else StaleWrite)."""
    stamp = now()
    values = _company_values(company) | {"updated_at": stamp}
    await save_versioned(conn, companies, company.id, expected_version, values, name=company.name)
    await conn.execute(company_tags.delete().where(company_tags.c.company_id == company.id))
    await _write_tags(conn, company.id, company.tags)
    return replace(company, updated_at=stamp)


async def _write_tags(conn: AsyncConnection, company_id: int, tags: list[str]) -> None:
    if tags:
        await conn.execute(company_tags.insert(), [{"company_id": company_id, "tag": t} for t in tags])


def to_person(row: Row) -> Person:
    return Person(
        id=row.id,
        korean_name=row.korean_name,
        english_name=row.english_name,
        company_id=row.company_id,
        role=row.role,
        title=row.title,
        email=row.email,
        phone=row.phone,
        created_at=as_utc(row.created_at),
        updated_at=as_utc(row.updated_at),
        version=row.version,
        erased_at=as_utc(row.erased_at) if row.erased_at else None,
    )


def _person_values(person: Person) -> dict[str, object]:
    return {
        "korean_name": person.korean_name,
        "english_name": person.english_name,
        "company_id": person.company_id,
        "role": person.role,
        "title": person.title,
        "email": person.email,
        "phone": person.phone,
        "search_text": person.search_text,
        "version": person.version,
        "erased_at": person.erased_at,
    }


async def get_person(conn: AsyncConnection, person_id: int) -> Person | None:
    row = (await conn.execute(sa.select(people).where(people.c.id == person_id))).first()
    return to_person(row) if row else None


async def insert_person(conn: AsyncConnection, person: Person) -> Person:
    stamp = now()
    values = _person_values(person) | {"created_at": stamp, "updated_at": stamp}
    person_id = (await conn.execute(people.insert().values(values).returning(people.c.id))).scalar_one()
    return replace(person, id=person_id, created_at=stamp, updated_at=stamp)


async def save_person(conn: AsyncConnection, person: Person, *, expected_version: int) -> Person:
    """Writes the person if nobody changed them since they were read at expected_version (else StaleWrite)."""
    stamp = now()
    values = _person_values(person) | {"updated_at": stamp}
    await save_versioned(conn, people, person.id, expected_version, values, name=person.name)
    return replace(person, updated_at=stamp)


async def delete_person(conn: AsyncConnection, person_id: int) -> None:
    await conn.execute(people.delete().where(people.c.id == person_id))


async def upsert_stats_row(
    conn: AsyncConnection, *, company: str, status: str, sector: str, archived: bool, version: int
) -> None:
    """Applies a snapshot if it is newer than what the read model holds (events may arrive out of order)."""
    current = (
        await conn.execute(sa.select(stats_companies.c.version).where(stats_companies.c.company == company))
    ).scalar_one_or_none()
    values = {"status": status, "sector": sector, "archived": archived, "version": version}
    if current is None:
        await conn.execute(stats_companies.insert().values(company=company, **values))
    elif version > current:
        await conn.execute(stats_companies.update().where(stats_companies.c.company == company).values(values))


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


async def list_companies(
    conn: AsyncConnection, *, terms: Mapping[str, Sequence[object]], text: str, show_deleted: bool, order: str,
    descending: bool, after: Sequence[object] | None, limit: int,
) -> list[Company]:  # fmt: skip
    """Companies matching the filter terms (status, sector, stage: any of; tag: all of) and the text, in the
    order's keyset after the position `after` (the order's value, the id)."""
    c = companies.c
    sort_columns = [c[COMPANY_ORDER[order]], c.id]
    query = sa.select(companies)
    for key in ("status", "sector", "stage"):
        if key in terms:
            query = query.where(c[key].in_(terms[key]))
    for tag in terms.get("tag", []):
        query = query.where(c.id.in_(sa.select(company_tags.c.company_id).where(company_tags.c.tag == tag)))
    if text.strip():
        query = query.where(contains(c.search_text, text))
    if not show_deleted:
        query = query.where(c.deleted_at.is_(None))
    if after is not None:
        query = query.where(keyset_after(sort_columns, after, descending))
    query = query.order_by(*(col.desc() if descending else col.asc() for col in sort_columns)).limit(limit)
    return [to_company(r) for r in await conn.execute(query)]


async def list_people(
    conn: AsyncConnection, *, terms: Mapping[str, Sequence[object]], text: str, after_id: int | None, limit: int
) -> list[Person]:
    """People of any of the companies and roles in terms, matching the text, by id after after_id."""
    c = people.c
    query = sa.select(people).order_by(c.id).limit(limit)
    if "company" in terms:
        query = query.where(c.company_id.in_(terms["company"]))
    if "role" in terms:
        query = query.where(c.role.in_(terms["role"]))
    if text.strip():
        query = query.where(contains(c.search_text, text))
    if after_id is not None:
        query = query.where(c.id > after_id)
    return [to_person(r) for r in await conn.execute(query)]
