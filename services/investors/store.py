"""The investors service's tables and the queries it needs (SQLAlchemy Core)."""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import asdict, replace
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection

from hubcore import errors
from hubcore.db import as_utc, now, runtime_metadata
from services.investors.domain import (
    ApiKey,
    DirectoryCompany,
    Firm,
    Introduction,
    Partner,
    Round,
    Thesis,
    Transition,
)

metadata = sa.MetaData()
big_id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
at = sa.DateTime(timezone=True)
OPEN_ONLY = sa.text("closed_at IS NULL")

firms = sa.Table(
    "firms",
    metadata,
    sa.Column("id", big_id, primary_key=True, autoincrement=True),
    sa.Column("korean_name", sa.String(100), nullable=False),
    sa.Column("english_name", sa.String(100), nullable=False, server_default=""),
    sa.Column("type", sa.String(20), nullable=False),
    sa.Column("website", sa.String(200), nullable=False, server_default=""),
    sa.Column("description", sa.Text, nullable=False, server_default=""),
    sa.Column("theses", sa.Text, nullable=False, server_default="[]"),  # JSON: the firm is read whole
    sa.Column("search_text", sa.Text, nullable=False),
    sa.Column("created_at", at, nullable=False),
    sa.Column("updated_at", at, nullable=False),
    sa.Column("version", sa.Integer, nullable=False),
    sa.Index("ix_firms_type", "type"),
)

partners = sa.Table(
    "partners",
    metadata,
    sa.Column("id", big_id, primary_key=True, autoincrement=True),
    sa.Column("firm_id", big_id, sa.ForeignKey("firms.id"), nullable=False),
    sa.Column("korean_name", sa.String(100), nullable=False),
    sa.Column("english_name", sa.String(100), nullable=False, server_default=""),
    sa.Column("title", sa.String(100), nullable=False, server_default=""),
    sa.Column("email", sa.String(200), nullable=False, server_default=""),
    sa.Column("phone", sa.String(20), nullable=False, server_default=""),
    sa.Column("focus", sa.Text, nullable=False, server_default="[]"),
    sa.Column("created_at", at, nullable=False),
    sa.Column("updated_at", at, nullable=False),
    sa.Column("version", sa.Integer, nullable=False),
    sa.Index("ix_partners_firm", "firm_id", "id"),
)

# Partner API keys: only the SHA-256 of the key is kept (the keys are 256-bit random, so a fast hash is enough).
api_keys = sa.Table(
    "api_keys",
    metadata,
    sa.Column("id", big_id, primary_key=True, autoincrement=True),
    sa.Column("partner_id", big_id, sa.ForeignKey("partners.id"), nullable=False),
    sa.Column("firm_id", big_id, sa.ForeignKey("firms.id"), nullable=False),
    sa.Column("key_hash", sa.String(64), nullable=False, unique=True),
    sa.Column("prefix", sa.String(16), nullable=False),
    sa.Column("description", sa.String(200), nullable=False, server_default=""),
    sa.Column("created_at", at, nullable=False),
    sa.Column("expire_at", at, nullable=False),
    sa.Column("revoked_at", at, nullable=True),
    sa.Index("ix_api_keys_partner", "partner_id", "id"),
)

# The partner API's audit log: one row per call, whatever its outcome.
partner_calls = sa.Table(
    "partner_calls",
    metadata,
    sa.Column("id", big_id, primary_key=True, autoincrement=True),
    sa.Column("api_key_id", big_id, nullable=True),
    sa.Column("partner_id", big_id, nullable=True),
    sa.Column("firm_id", big_id, nullable=True),
    sa.Column("method", sa.String(200), nullable=False),
    sa.Column("resource", sa.String(100), nullable=False, server_default=""),
    sa.Column("code", sa.String(30), nullable=False),
    sa.Column("called_at", at, nullable=False),
    sa.Column("request_id", sa.String(64), nullable=False, server_default=""),
    sa.Column("peer", sa.String(200), nullable=False, server_default=""),
    sa.Index("ix_partner_calls_firm", "firm_id", "id"),
    sa.Index("ix_partner_calls_called_at", "called_at"),  # the retention sweep
)

# Calls refused at the partner API's door (no valid key, over a rate limit): counts per peer address and
# minute, not a row per call, so that a flood cannot fill the database (partner.RefusedCalls).
partner_refusals = sa.Table(
    "partner_refusals",
    metadata,
    sa.Column("peer", sa.String(200), primary_key=True),
    sa.Column("minute", at, primary_key=True),
    sa.Column("unauthenticated", sa.BigInteger, nullable=False, server_default="0"),
    sa.Column("rate_limited", sa.BigInteger, nullable=False, server_default="0"),
    sa.Index("ix_partner_refusals_minute", "minute"),
)

# The company directory: a read model of hub.companies.company.* events (the newest version wins).
directory = sa.Table(
    "directory_companies",
    metadata,
    sa.Column("id", big_id, primary_key=True, autoincrement=False),
    sa.Column("korean_name", sa.String(100), nullable=False),
    sa.Column("english_name", sa.String(100), nullable=False, server_default=""),
    sa.Column("sector", sa.String(20), nullable=False, server_default=""),
    sa.Column("stage", sa.String(20), nullable=False, server_default=""),
    sa.Column("status", sa.String(20), nullable=False, server_default=""),
    sa.Column("tags", sa.Text, nullable=False, server_default="[]"),
    sa.Column("website", sa.String(200), nullable=False, server_default=""),
    sa.Column("archived", sa.Boolean, nullable=False),
    sa.Column("version", sa.Integer, nullable=False),
)

introductions = sa.Table(
    "introductions",
    metadata,
    sa.Column("id", big_id, primary_key=True, autoincrement=True),
    sa.Column("company_id", big_id, nullable=False),
    sa.Column("firm_id", big_id, sa.ForeignKey("firms.id"), nullable=False),
    sa.Column("partner_id", big_id, sa.ForeignKey("partners.id"), nullable=True),
    sa.Column("state", sa.String(20), nullable=False),
    sa.Column("note", sa.Text, nullable=False),
    sa.Column("shared_fields", sa.Text, nullable=False),
    sa.Column("meeting_at", at, nullable=True),
    sa.Column("shared_at", at, nullable=True),
    sa.Column("closed_at", at, nullable=True),
    sa.Column("created_at", at, nullable=False),
    sa.Column("updated_at", at, nullable=False),
    sa.Column("version", sa.Integer, nullable=False),
    # One open introduction per company and firm: a constraint, so that two concurrent requests cannot both win.
    sa.Index(
        "uq_introductions_open_pair",
        "company_id",
        "firm_id",
        unique=True,
        sqlite_where=OPEN_ONLY,
        postgresql_where=OPEN_ONLY,
    ),
    sa.Index("ix_introductions_firm", "firm_id", "id"),
    sa.Index("ix_introductions_company", "company_id", "id"),
)

introduction_history = sa.Table(
    "introduction_history",
    metadata,
    sa.Column("id", big_id, primary_key=True, autoincrement=True),
    sa.Column("introduction_id", big_id, sa.ForeignKey("introductions.id"), nullable=False),
    sa.Column("from_state", sa.String(20), nullable=False),
    sa.Column("to_state", sa.String(20), nullable=False),
    sa.Column("actor", sa.String(100), nullable=False),
    sa.Column("reason", sa.Text, nullable=False),
    sa.Column("at", at, nullable=False),
    sa.Index("ix_introduction_history", "introduction_id", "id"),
)

rounds = sa.Table(
    "rounds",
    metadata,
    sa.Column("id", big_id, primary_key=True, autoincrement=True),
    sa.Column("company_id", big_id, nullable=False),
    sa.Column("round_type", sa.String(20), nullable=False),
    sa.Column("amount_krw", sa.BigInteger, nullable=False),
    sa.Column("pre_money_krw", sa.BigInteger, nullable=False, server_default="0"),
    sa.Column("lead_firm_id", big_id, sa.ForeignKey("firms.id"), nullable=True),
    sa.Column("announced_on", sa.Date, nullable=True),
    sa.Column("closed_on", sa.Date, nullable=True),
    sa.Column("status", sa.String(20), nullable=False),
    sa.Column("reporter", sa.String(100), nullable=False, server_default=""),
    sa.Column("created_at", at, nullable=False),
    sa.Column("updated_at", at, nullable=False),
    sa.Column("version", sa.Integer, nullable=False),
    sa.Index("ix_rounds_company", "company_id", "id"),
)

round_participants = sa.Table(
    "round_participants",
    metadata,
    sa.Column("round_id", big_id, sa.ForeignKey("rounds.id"), primary_key=True),
    sa.Column("firm_id", big_id, sa.ForeignKey("firms.id"), primary_key=True),
    sa.Column("amount_krw", sa.BigInteger, nullable=False),
    sa.Index("ix_round_participants_firm", "firm_id"),
)

for _table in runtime_metadata.sorted_tables:
    _table.to_metadata(metadata)


async def _save(conn: AsyncConnection, table: sa.Table, row_id: int, version: int, values: dict[str, Any]) -> None:
    result = await conn.execute(table.update().where(table.c.id == row_id, table.c.version == version).values(values))
    if result.rowcount != 1:
        raise errors.StaleWrite(f"{table.name}/{row_id}")


# Firms


def to_firm(row: Any) -> Firm:
    theses = tuple(
        Thesis(
            title=t["title"],
            sectors=tuple(t["sectors"]),
            stages=tuple(t["stages"]),
            ticket_min=t["ticket_min"],
            ticket_max=t["ticket_max"],
            geographies=tuple(t["geographies"]),
        )
        for t in json.loads(row.theses)
    )
    return Firm(
        id=row.id,
        korean_name=row.korean_name,
        english_name=row.english_name,
        type=row.type,
        website=row.website,
        description=row.description,
        theses=theses,
        created_at=as_utc(row.created_at),
        updated_at=as_utc(row.updated_at),
        version=row.version,
    )


def _firm_values(firm: Firm) -> dict[str, Any]:
    return {
        "korean_name": firm.korean_name,
        "english_name": firm.english_name,
        "type": firm.type,
        "website": firm.website,
        "description": firm.description,
        "theses": json.dumps([asdict(t) for t in firm.theses], ensure_ascii=False),
        "search_text": firm.search_text,
        "version": firm.version,
    }


async def get_firm(conn: AsyncConnection, firm_id: int) -> Firm | None:
    row = (await conn.execute(sa.select(firms).where(firms.c.id == firm_id))).first()
    return to_firm(row) if row else None


async def firms_by_id(conn: AsyncConnection, ids: Iterable[int]) -> dict[int, Firm]:
    rows = await conn.execute(sa.select(firms).where(firms.c.id.in_(set(ids))))
    return {r.id: to_firm(r) for r in rows}


async def all_firms(conn: AsyncConnection) -> list[Firm]:
    return [to_firm(r) for r in await conn.execute(sa.select(firms).order_by(firms.c.id))]


async def insert_firm(conn: AsyncConnection, firm: Firm) -> Firm:
    stamp = now()
    values = _firm_values(firm) | {"created_at": stamp, "updated_at": stamp}
    firm_id = (await conn.execute(firms.insert().values(values).returning(firms.c.id))).scalar_one()
    return replace(firm, id=firm_id, created_at=stamp, updated_at=stamp)


async def save_firm(conn: AsyncConnection, firm: Firm, *, expected_version: int) -> Firm:
    stamp = now()
    await _save(conn, firms, firm.id, expected_version, _firm_values(firm) | {"updated_at": stamp})
    return replace(firm, updated_at=stamp)


# Partners


def to_partner(row: Any) -> Partner:
    return Partner(
        id=row.id,
        firm_id=row.firm_id,
        korean_name=row.korean_name,
        english_name=row.english_name,
        title=row.title,
        email=row.email,
        phone=row.phone,
        focus=tuple(json.loads(row.focus)),
        created_at=as_utc(row.created_at),
        updated_at=as_utc(row.updated_at),
        version=row.version,
    )


def _partner_values(partner: Partner) -> dict[str, Any]:
    return {
        "firm_id": partner.firm_id,
        "korean_name": partner.korean_name,
        "english_name": partner.english_name,
        "title": partner.title,
        "email": partner.email,
        "phone": partner.phone,
        "focus": json.dumps(list(partner.focus), ensure_ascii=False),
        "version": partner.version,
    }


async def get_partner(conn: AsyncConnection, partner_id: int) -> Partner | None:
    row = (await conn.execute(sa.select(partners).where(partners.c.id == partner_id))).first()
    return to_partner(row) if row else None


async def insert_partner(conn: AsyncConnection, partner: Partner) -> Partner:
    stamp = now()
    values = _partner_values(partner) | {"created_at": stamp, "updated_at": stamp}
    partner_id = (await conn.execute(partners.insert().values(values).returning(partners.c.id))).scalar_one()
    return replace(partner, id=partner_id, created_at=stamp, updated_at=stamp)


async def save_partner(conn: AsyncConnection, partner: Partner, *, expected_version: int) -> Partner:
    stamp = now()
    await _save(conn, partners, partner.id, expected_version, _partner_values(partner) | {"updated_at": stamp})
    return replace(partner, updated_at=stamp)


# API keys and the audit log


def to_api_key(row: Any) -> ApiKey:
    return ApiKey(
        id=row.id,
        partner_id=row.partner_id,
        firm_id=row.firm_id,
        prefix=row.prefix,
        description=row.description,
        created_at=as_utc(row.created_at),
        expire_at=as_utc(row.expire_at),
        revoked_at=as_utc(row.revoked_at) if row.revoked_at else None,
    )


async def get_api_key(conn: AsyncConnection, key_id: int) -> ApiKey | None:
    row = (await conn.execute(sa.select(api_keys).where(api_keys.c.id == key_id))).first()
    return to_api_key(row) if row else None


async def api_key_by_hash(conn: AsyncConnection, key_hash: str) -> ApiKey | None:
    row = (await conn.execute(sa.select(api_keys).where(api_keys.c.key_hash == key_hash))).first()
    return to_api_key(row) if row else None


async def insert_api_key(conn: AsyncConnection, key: ApiKey, key_hash: str) -> ApiKey:
    stamp = now()
    values = {
        "partner_id": key.partner_id,
        "firm_id": key.firm_id,
        "key_hash": key_hash,
        "prefix": key.prefix,
        "description": key.description,
        "created_at": stamp,
        "expire_at": key.expire_at,
    }
    key_id = (await conn.execute(api_keys.insert().values(values).returning(api_keys.c.id))).scalar_one()
    return replace(key, id=key_id, created_at=stamp)


async def revoke_api_key(conn: AsyncConnection, key: ApiKey) -> None:
    await conn.execute(
        api_keys.update()
        .where(api_keys.c.id == key.id, api_keys.c.revoked_at.is_(None))
        .values(revoked_at=key.revoked_at)
    )


async def insert_partner_call(conn: AsyncConnection, **values: Any) -> None:
    await conn.execute(partner_calls.insert().values(values))


async def add_partner_refusals(conn: AsyncConnection, counts: dict[tuple[str, datetime], tuple[int, int]]) -> None:
    """Adds refused calls to their (peer, minute) rows: another replica may have written the same rows."""
    dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
    insert = dialect.insert(partner_refusals)
    c = partner_refusals.c
    upsert = insert.on_conflict_do_update(
        index_elements=[c.peer, c.minute],
        set_={
            "unauthenticated": c.unauthenticated + insert.excluded.unauthenticated,
            "rate_limited": c.rate_limited + insert.excluded.rate_limited,
        },
    )
    rows = [
        {"peer": peer, "minute": minute, "unauthenticated": unauthenticated, "rate_limited": limited}
        for (peer, minute), (unauthenticated, limited) in counts.items()
    ]
    if rows:
        await conn.execute(upsert, rows)


# The company directory


def to_directory_company(row: Any) -> DirectoryCompany:
    return DirectoryCompany(
        id=row.id,
        korean_name=row.korean_name,
        english_name=row.english_name,
        sector=row.sector,
        stage=row.stage,
        status=row.status,
        tags=tuple(json.loads(row.tags)),
        website=row.website,
        archived=row.archived,
        version=row.version,
    )


async def get_directory_company(conn: AsyncConnection, company_id: int) -> DirectoryCompany | None:
    row = (await conn.execute(sa.select(directory).where(directory.c.id == company_id))).first()
    return to_directory_company(row) if row else None


async def directory_by_id(conn: AsyncConnection, ids: Iterable[int]) -> dict[int, DirectoryCompany]:
    rows = await conn.execute(sa.select(directory).where(directory.c.id.in_(set(ids))))
    return {r.id: to_directory_company(r) for r in rows}


async def live_directory(conn: AsyncConnection) -> list[DirectoryCompany]:
    rows = await conn.execute(sa.select(directory).where(directory.c.archived.is_(False)).order_by(directory.c.id))
    return [to_directory_company(r) for r in rows]


async def upsert_directory_company(conn: AsyncConnection, company: DirectoryCompany) -> bool:
    """Applies a snapshot if it is newer than what the directory holds; returns whether it did."""
    current = (
        await conn.execute(sa.select(directory.c.version).where(directory.c.id == company.id))
    ).scalar_one_or_none()
    values = {
        "korean_name": company.korean_name,
        "english_name": company.english_name,
        "sector": company.sector,
        "stage": company.stage,
        "status": company.status,
        "tags": json.dumps(list(company.tags), ensure_ascii=False),
        "website": company.website,
        "archived": company.archived,
        "version": company.version,
    }
    if current is None:
        await conn.execute(directory.insert().values(id=company.id, **values))
        return True
    if company.version > current:
        await conn.execute(directory.update().where(directory.c.id == company.id).values(values))
        return True
    return False


# Introductions


def to_introduction(row: Any, history: tuple[Transition, ...] = ()) -> Introduction:
    return Introduction(
        id=row.id,
        company_id=row.company_id,
        firm_id=row.firm_id,
        partner_id=row.partner_id,
        state=row.state,
        note=row.note,
        shared_fields=tuple(json.loads(row.shared_fields)),
        meeting_at=as_utc(row.meeting_at) if row.meeting_at else None,
        shared_at=as_utc(row.shared_at) if row.shared_at else None,
        closed_at=as_utc(row.closed_at) if row.closed_at else None,
        created_at=as_utc(row.created_at),
        updated_at=as_utc(row.updated_at),
        version=row.version,
        history=history,
    )


def _introduction_values(intro: Introduction) -> dict[str, Any]:
    return {
        "company_id": intro.company_id,
        "firm_id": intro.firm_id,
        "partner_id": intro.partner_id,
        "state": intro.state,
        "note": intro.note,
        "shared_fields": json.dumps(list(intro.shared_fields)),
        "meeting_at": intro.meeting_at,
        "shared_at": intro.shared_at,
        "closed_at": intro.closed_at,
        "version": intro.version,
    }


async def histories(conn: AsyncConnection, ids: list[int]) -> dict[int, tuple[Transition, ...]]:
    h = introduction_history.c
    rows = await conn.execute(
        sa.select(introduction_history).where(h.introduction_id.in_(ids)).order_by(h.introduction_id, h.id)
    )
    found: dict[int, list[Transition]] = {}
    for r in rows:
        found.setdefault(r.introduction_id, []).append(
            Transition(r.from_state, r.to_state, r.actor, r.reason, as_utc(r.at))
        )
    return {k: tuple(v) for k, v in found.items()}


async def get_introduction(conn: AsyncConnection, intro_id: int) -> Introduction | None:
    row = (await conn.execute(sa.select(introductions).where(introductions.c.id == intro_id))).first()
    if row is None:
        return None
    return to_introduction(row, (await histories(conn, [intro_id])).get(intro_id, ()))


async def open_introduction(conn: AsyncConnection, company_id: int, firm_id: int) -> int | None:
    c = introductions.c
    query = sa.select(c.id).where(c.company_id == company_id, c.firm_id == firm_id, c.closed_at.is_(None))
    return (await conn.execute(query)).scalar_one_or_none()


async def list_introductions(conn: AsyncConnection, query: sa.Select[Any]) -> list[Introduction]:
    rows = (await conn.execute(query)).all()
    found = await histories(conn, [r.id for r in rows]) if rows else {}
    return [to_introduction(r, found.get(r.id, ())) for r in rows]


async def _write_history(conn: AsyncConnection, intro_id: int, steps: Iterable[Transition]) -> None:
    rows = [
        {
            "introduction_id": intro_id,
            "from_state": s.from_state,
            "to_state": s.to_state,
            "actor": s.actor,
            "reason": s.reason,
            "at": s.at,
        }
        for s in steps
    ]
    if rows:
        await conn.execute(introduction_history.insert(), rows)


async def insert_introduction(conn: AsyncConnection, intro: Introduction) -> Introduction:
    stamp = now()
    values = _introduction_values(intro) | {"created_at": stamp, "updated_at": stamp}
    intro_id = (await conn.execute(introductions.insert().values(values).returning(introductions.c.id))).scalar_one()
    await _write_history(conn, intro_id, intro.history)
    return replace(intro, id=intro_id, created_at=stamp, updated_at=stamp)


async def save_introduction(
    conn: AsyncConnection, intro: Introduction, step: Transition, *, expected_version: int
) -> Introduction:
    stamp = now()
    await _save(conn, introductions, intro.id, expected_version, _introduction_values(intro) | {"updated_at": stamp})
    await _write_history(conn, intro.id, [step])
    return replace(intro, updated_at=stamp)


# Rounds


def to_round(row: Any, participants: tuple[tuple[int, int], ...]) -> Round:
    return Round(
        id=row.id,
        company_id=row.company_id,
        round_type=row.round_type,
        amount=row.amount_krw,
        pre_money=row.pre_money_krw,
        lead_firm_id=row.lead_firm_id,
        participants=participants,
        announced_on=row.announced_on,
        closed_on=row.closed_on,
        status=row.status,
        reporter=row.reporter,
        created_at=as_utc(row.created_at),
        updated_at=as_utc(row.updated_at),
        version=row.version,
    )


async def list_rounds(conn: AsyncConnection, query: sa.Select[Any]) -> list[Round]:
    rows = (await conn.execute(query)).all()
    if not rows:
        return []
    p = round_participants.c
    found: dict[int, list[tuple[int, int]]] = {}
    for r in await conn.execute(
        sa.select(round_participants).where(p.round_id.in_([r.id for r in rows])).order_by(p.round_id, p.firm_id)
    ):
        found.setdefault(r.round_id, []).append((r.firm_id, r.amount_krw))
    return [to_round(r, tuple(found.get(r.id, ()))) for r in rows]


async def get_round(conn: AsyncConnection, round_id: int) -> Round | None:
    found = await list_rounds(conn, sa.select(rounds).where(rounds.c.id == round_id))
    return found[0] if found else None


def _round_values(found: Round) -> dict[str, Any]:
    return {
        "company_id": found.company_id,
        "round_type": found.round_type,
        "amount_krw": found.amount,
        "pre_money_krw": found.pre_money,
        "lead_firm_id": found.lead_firm_id,
        "announced_on": found.announced_on,
        "closed_on": found.closed_on,
        "status": found.status,
        "reporter": found.reporter,
        "version": found.version,
    }


async def insert_round(conn: AsyncConnection, new: Round) -> Round:
    stamp = now()
    values = _round_values(new) | {"created_at": stamp, "updated_at": stamp}
    round_id = (await conn.execute(rounds.insert().values(values).returning(rounds.c.id))).scalar_one()
    if new.participants:
        await conn.execute(
            round_participants.insert(),
            [{"round_id": round_id, "firm_id": f, "amount_krw": a} for f, a in new.participants],
        )
    return replace(new, id=round_id, created_at=stamp, updated_at=stamp)


async def save_round(conn: AsyncConnection, changed: Round, *, expected_version: int) -> Round:
    stamp = now()
    await _save(conn, rounds, changed.id, expected_version, _round_values(changed) | {"updated_at": stamp})
    return replace(changed, updated_at=stamp)


async def open_round_amounts(conn: AsyncConnection, company_ids: Iterable[int]) -> dict[int, int]:
    """Each company's current round: the latest OPEN one's amount."""
    c = rounds.c
    query = sa.select(c.company_id, c.amount_krw).where(c.company_id.in_(set(company_ids)), c.status == "OPEN")
    rows = await conn.execute(query.order_by(c.id))
    return {company_id: amount for company_id, amount in rows}


async def firm_knows_company(conn: AsyncConnection, firm_id: int, company_id: int) -> bool:
    """The firm was introduced to the company (the company consented) or took part in one of its rounds."""
    i, r, p = introductions.c, rounds.c, round_participants.c
    introduced = sa.select(i.id).where(i.firm_id == firm_id, i.company_id == company_id, i.shared_at.is_not(None))
    invested = (
        sa.select(r.id)
        .join(round_participants, p.round_id == r.id)
        .where(r.company_id == company_id, p.firm_id == firm_id, r.status != "CANCELLED")
    )
    found = await conn.execute(sa.select(sa.exists(introduced) | sa.exists(invested)))
    return bool(found.scalar())
