"""The companies service's tables and the queries it needs (SQLAlchemy Core: fast, explicit)."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import date
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql
from sqlalchemy.ext.asyncio import AsyncConnection

from hubcore import errors
from hubcore.db import as_utc, now, runtime_metadata
from services.companies.domain import Company, Person

metadata = sa.MetaData()
big_id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
at = sa.DateTime(timezone=True)

companies = sa.Table(
    "companies",
    metadata,
    sa.Column("id", big_id, primary_key=True, autoincrement=True),
    sa.Column("korean_name", sa.String(100), nullable=False),
    sa.Column("english_name", sa.String(100), nullable=False, server_default=""),
    sa.Column("sector", sa.String(20), nullable=False),
    sa.Column("stage", sa.String(20), nullable=False, server_default=""),
    sa.Column("status", sa.String(20), nullable=False),
    sa.Column("website", sa.String(200), nullable=False, server_default=""),
    sa.Column("tags", sa.Text, nullable=False, server_default="[]"),  # JSON list, for reads in one row
    sa.Column("founded_on", sa.Date, nullable=True),
    sa.Column("description", sa.Text, nullable=False, server_default=""),
    sa.Column("search_text", sa.Text, nullable=False),
    sa.Column("created_at", at, nullable=False),
    sa.Column("updated_at", at, nullable=False),
    sa.Column("deleted_at", at, nullable=True),
    sa.Column("version", sa.Integer, nullable=False),
    # Kept by the hub.investors.round.closed consumer from company_rounds, never by the API's writes.
    sa.Column("funding_raised_krw", sa.BigInteger, nullable=False, server_default="0"),
    sa.Column("last_round", sa.String(20), nullable=False, server_default=""),
    sa.Column("erased_at", at, nullable=True),  # personal data erased on request: a tombstone
    sa.Index("ix_companies_status", "status"),
    sa.Index("ix_companies_sector", "sector"),
    sa.Index("ix_companies_created", "created_at", "id"),
)

# One row per tag, so that filtering by tag is an index lookup.
company_tags = sa.Table(
    "company_tags",
    metadata,
    sa.Column("company_id", big_id, sa.ForeignKey("companies.id"), primary_key=True),
    sa.Column("tag", sa.String(30), primary_key=True),
    sa.Index("ix_company_tags_tag", "tag"),
)

people = sa.Table(
    "people",
    metadata,
    sa.Column("id", big_id, primary_key=True, autoincrement=True),
    sa.Column("korean_name", sa.String(100), nullable=False),
    sa.Column("english_name", sa.String(100), nullable=False, server_default=""),
    sa.Column("company_id", big_id, sa.ForeignKey("companies.id"), nullable=True),
    sa.Column("role", sa.String(20), nullable=False),
    sa.Column("title", sa.String(100), nullable=False, server_default=""),
    sa.Column("email", sa.String(200), nullable=False, server_default=""),
    sa.Column("phone", sa.String(20), nullable=False, server_default=""),
    sa.Column("search_text", sa.Text, nullable=False),
    sa.Column("created_at", at, nullable=False),
    sa.Column("updated_at", at, nullable=False),
    sa.Column("version", sa.Integer, nullable=False),
    sa.Column("erased_at", at, nullable=True),  # personal data erased on request: a tombstone
    sa.Index("ix_people_company", "company_id", "id"),
)

# Read model for the dashboard, fed by this service's own events: one row per live company.
stats_companies = sa.Table(
    "stats_companies",
    metadata,
    sa.Column("company", sa.String(40), primary_key=True),
    sa.Column("status", sa.String(20), nullable=False),
    sa.Column("sector", sa.String(20), nullable=False),
    sa.Column("archived", sa.Boolean, nullable=False),
    sa.Column("version", sa.Integer, nullable=False),
)

# The closed rounds applied to companies' funding, one row per round: a round counts once, whatever
# the deliveries and whatever the order they arrive in.
company_rounds = sa.Table(
    "company_rounds",
    metadata,
    sa.Column("round", sa.String(40), primary_key=True),
    sa.Column("company_id", big_id, nullable=False),
    sa.Column("round_type", sa.String(20), nullable=False),
    sa.Column("amount_krw", sa.BigInteger, nullable=False),
    sa.Column("closed_on", sa.Date, nullable=True),
    sa.Index("ix_company_rounds_company", "company_id"),
)

# The hub program. Spaces and assignments: no two assignments of one space overlap in time.
# - PostgreSQL: an exclusion constraint, EXCLUDE USING gist (space_id WITH =, daterange(move_in, move_out)
#   WITH &&) with btree_gist, created by migration 0003. Two concurrent inserts for a free space cannot both
#   commit: the second waits for the first and fails with SQLSTATE 23P01.
# - SQLite: every write transaction begins IMMEDIATE (hubcore.db), so writers are serialized, and
#   assign_space() checks for an overlap in the same transaction as its insert.
NO_OVERLAP = "ex_assignments_no_overlap"

rounds = sa.Table(
    "rounds",
    metadata,
    sa.Column("id", big_id, primary_key=True, autoincrement=True),
    sa.Column("title", sa.String(200), nullable=False),
    sa.Column("open_date", sa.Date, nullable=False),
    sa.Column("close_date", sa.Date, nullable=False),
    sa.Column("seats", sa.Text, nullable=False),  # JSON {kind: count}
    sa.Column("criteria", sa.Text, nullable=False),  # JSON [[key, title, weight]]
    sa.Column("questions", sa.Text, nullable=False),  # JSON [text]
    sa.Column("created_at", at, nullable=False),
)

applications = sa.Table(
    "applications",
    metadata,
    sa.Column("id", big_id, primary_key=True, autoincrement=True),
    sa.Column("round_id", big_id, sa.ForeignKey("rounds.id"), nullable=False),
    sa.Column("applicant", sa.String(40), nullable=False),  # companies/1 or people/2
    sa.Column("seat_kind", sa.String(20), nullable=False),
    sa.Column("answers", sa.Text, nullable=False),  # JSON [[question, text]]
    sa.Column("attachment_urls", sa.Text, nullable=False),  # JSON [url]
    sa.Column("state", sa.String(20), nullable=False),
    sa.Column("decision_reason", sa.String(500), nullable=False, server_default=""),
    sa.Column("created_at", at, nullable=False),
    sa.Column("version", sa.Integer, nullable=False),
    sa.UniqueConstraint("round_id", "applicant", name="uq_applications_round_applicant"),
)

conflicts = sa.Table(
    "conflicts",
    metadata,
    sa.Column("round_id", big_id, sa.ForeignKey("rounds.id"), primary_key=True),
    sa.Column("reviewer", sa.String(100), primary_key=True),
    sa.Column("applicant", sa.String(40), primary_key=True),
    sa.Column("reason", sa.String(500), nullable=False, server_default=""),
    sa.Column("created_at", at, nullable=False),
)

scores = sa.Table(
    "scores",
    metadata,
    sa.Column("application_id", big_id, sa.ForeignKey("applications.id"), primary_key=True),
    sa.Column("reviewer", sa.String(100), primary_key=True),  # one score per reviewer and application
    sa.Column("score_values", sa.Text, nullable=False),  # JSON {criterion: 0-10}
    sa.Column("comment", sa.String(2000), nullable=False, server_default=""),
    sa.Column("created_at", at, nullable=False),
)

spaces = sa.Table(
    "spaces",
    metadata,
    sa.Column("id", big_id, primary_key=True, autoincrement=True),
    sa.Column("kind", sa.String(20), nullable=False),
    sa.Column("label", sa.String(20), nullable=False, unique=True),
    sa.Column("floor", sa.Integer, nullable=False),
    sa.Column("seats", sa.Integer, nullable=False),
)

assignments = sa.Table(
    "assignments",
    metadata,
    sa.Column("id", big_id, primary_key=True, autoincrement=True),
    sa.Column("space_id", big_id, sa.ForeignKey("spaces.id"), nullable=False),
    sa.Column("company_id", big_id, sa.ForeignKey("companies.id"), nullable=False),
    sa.Column("move_in", sa.Date, nullable=False),
    sa.Column("move_out", sa.Date, nullable=True),  # the first free day; NULL while open-ended
    sa.Column("move_out_reason", sa.String(20), nullable=False, server_default=""),
    sa.Column("created_at", at, nullable=False),
    sa.Index("ix_assignments_space", "space_id", "move_in"),
    sa.Index("ix_assignments_company", "company_id"),
    postgresql.ExcludeConstraint(
        ("space_id", "="),
        (sa.func.daterange(sa.column("move_in"), sa.column("move_out"), sa.literal_column("'[)'")), "&&"),
        name=NO_OVERLAP,
        using="gist",
    ),
)

# Every version of every report: a correction is a new row with the next version, never an update.
kpi_reports = sa.Table(
    "kpi_reports",
    metadata,
    sa.Column("id", big_id, primary_key=True, autoincrement=True),
    sa.Column("company_id", big_id, sa.ForeignKey("companies.id"), nullable=False),
    sa.Column("period", sa.String(7), nullable=False),
    sa.Column("version", sa.Integer, nullable=False),
    sa.Column("headcount", sa.Integer, nullable=False),
    sa.Column("revenue_krw", sa.BigInteger, nullable=False),
    sa.Column("customers", sa.Integer, nullable=False),
    sa.Column("patents", sa.Integer, nullable=False),
    sa.Column("note", sa.Text, nullable=False, server_default=""),
    sa.Column("actor", sa.String(100), nullable=False),
    sa.Column("created_at", at, nullable=False),
    sa.UniqueConstraint("company_id", "period", "version", name="uq_kpi_reports_version"),
)

support_quotas = sa.Table(
    "support_quotas",
    metadata,
    sa.Column("company_id", big_id, sa.ForeignKey("companies.id"), primary_key=True),
    sa.Column("kind", sa.String(30), primary_key=True),
    sa.Column("quota", sa.BigInteger, nullable=False),
)

support_grants = sa.Table(
    "support_grants",
    metadata,
    sa.Column("id", big_id, primary_key=True, autoincrement=True),
    sa.Column("company_id", big_id, sa.ForeignKey("companies.id"), nullable=False),
    sa.Column("kind", sa.String(30), nullable=False),
    sa.Column("amount", sa.BigInteger, nullable=False),
    sa.Column("note", sa.String(500), nullable=False, server_default=""),
    sa.Column("override_reason", sa.String(500), nullable=False, server_default=""),
    sa.Column("actor", sa.String(100), nullable=False),
    sa.Column("created_at", at, nullable=False),
    # What an entry was counted from ("sessions/12"): unique, so a session counts once whatever the deliveries.
    sa.Column("source", sa.String(60), nullable=True),
    sa.Index("ix_support_grants_company", "company_id", "kind"),
    sa.Index("uq_support_grants_source", "source", unique=True),
)

milestones = sa.Table(
    "milestones",
    metadata,
    sa.Column("id", big_id, primary_key=True, autoincrement=True),
    sa.Column("company_id", big_id, sa.ForeignKey("companies.id"), nullable=False),
    sa.Column("kind", sa.String(20), nullable=False),
    sa.Column("achieved_on", sa.Date, nullable=False),
    sa.Column("evidence_url", sa.String(200), nullable=False, server_default=""),
    sa.Column("evidence", sa.String(1000), nullable=False, server_default=""),
    sa.Column("actor", sa.String(100), nullable=False),
    sa.Column("created_at", at, nullable=False),
    sa.Index("ix_milestones_company", "company_id", "achieved_on"),
)

# The register of access tokens issued (hubcore.tokens, services/companies/access.py): never the token itself.
access_tokens = sa.Table(
    "access_tokens",
    metadata,
    sa.Column("id", sa.String(64), primary_key=True),
    sa.Column("subject", sa.String(100), nullable=False),
    sa.Column("role", sa.String(20), nullable=False),
    sa.Column("description", sa.String(200), nullable=False, server_default=""),
    sa.Column("issued_at", at, nullable=False),
    sa.Column("expire_at", at, nullable=False),
    sa.Column("issued_by", sa.String(100), nullable=False),
    sa.Column("revoked_at", at, nullable=True),
    sa.Column("revoked_by", sa.String(100), nullable=False, server_default=""),
    sa.Column("revoke_reason", sa.String(500), nullable=False, server_default=""),
    sa.Index("ix_access_tokens_issued", "issued_at", "id"),
)

# The erasure log: what was erased on request, by whom, when and why (the reason names no personal data).
erasures = sa.Table(
    "erasures",
    metadata,
    sa.Column("id", big_id, primary_key=True, autoincrement=True),
    sa.Column("subject", sa.String(40), nullable=False),  # companies/3, people/7
    sa.Column("reason", sa.String(500), nullable=False),
    sa.Column("actor", sa.String(100), nullable=False),
    sa.Column("erased_at", at, nullable=False),
    sa.Column("rows_changed", sa.Integer, nullable=False),
    sa.Index("ix_erasures_subject", "subject"),
)

# Everything the migrations must create: the service's tables and the runtime's.
for _table in runtime_metadata.sorted_tables:
    _table.to_metadata(metadata)


def to_company(row: Any) -> Company:
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


def _company_values(company: Company) -> dict[str, Any]:
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
    """Writes the company if nobody changed it since it was read at expected_version."""
    stamp = now()
    result = await conn.execute(
        companies.update()
        .where(companies.c.id == company.id, companies.c.version == expected_version)
        .values(_company_values(company) | {"updated_at": stamp})
    )
    if result.rowcount != 1:
        raise errors.StaleWrite(company.name)
    await conn.execute(company_tags.delete().where(company_tags.c.company_id == company.id))
    await _write_tags(conn, company.id, company.tags)
    return replace(company, updated_at=stamp)


async def _write_tags(conn: AsyncConnection, company_id: int, tags: list[str]) -> None:
    if tags:
        await conn.execute(company_tags.insert(), [{"company_id": company_id, "tag": t} for t in tags])


def to_person(row: Any) -> Person:
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


def _person_values(person: Person) -> dict[str, Any]:
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
    stamp = now()
    result = await conn.execute(
        people.update()
        .where(people.c.id == person.id, people.c.version == expected_version)
        .values(_person_values(person) | {"updated_at": stamp})
    )
    if result.rowcount != 1:
        raise errors.StaleWrite(person.name)
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


# The hub program.


def _assignment_query() -> sa.Select[Any]:
    return sa.select(assignments, spaces.c.kind, spaces.c.label).join(spaces, spaces.c.id == assignments.c.space_id)


async def get_assignment(conn: AsyncConnection, assignment_id: int, *, lock: bool = False) -> Any:
    query = _assignment_query().where(assignments.c.id == assignment_id)
    return (await conn.execute(query.with_for_update(of=assignments) if lock else query)).first()


async def end_assignment(conn: AsyncConnection, assignment_id: int, move_out: date, reason: str) -> None:
    await conn.execute(
        assignments.update().where(assignments.c.id == assignment_id).values(move_out=move_out, move_out_reason=reason)
    )


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


async def record_counted(conn: AsyncConnection, *, source: str, **values: Any) -> Any | None:
    """A ledger entry counted from another service's event, once per source; None if it was counted before
    (a concurrent duplicate is refused by the unique index)."""
    c = support_grants.c
    if (await conn.execute(sa.select(c.id).where(c.source == source))).first() is not None:
        return None
    return await insert_grant(conn, source=source, **values)


async def open_assignments(conn: AsyncConnection, company_id: int, day: date) -> list[Any]:
    """The company's assignments not ended (no move-out reason) that hold a space on or after day, locked."""
    c = assignments.c
    query = _assignment_query().where(
        c.company_id == company_id, c.move_out_reason == "", sa.or_(c.move_out.is_(None), c.move_out > day)
    )
    return list(await conn.execute(query.order_by(c.id).with_for_update(of=assignments)))
