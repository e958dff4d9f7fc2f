"""Personal data in the companies service: what it holds about a company or a person (the export), and the
erasure use cases (ErasePerson, EraseCompany).

Erasure keeps a tombstone: the row with its id, so that references (a person's company, applications,
spaces, KPI reports, ledgers) and the hub's aggregate figures stay consistent. What identifies the subject
goes: names (replaced by ERASED), email, phone, title, website, tags, description, founding date, and the
free text of its records (application answers and attachments, review comments and conflict reasons about
it, KPI report notes, support notes, milestone evidence). What stays is anonymous: sector, stage, status,
dates of the lifecycle, KPI figures, funding, support amounts, milestone kinds and dates.
"""

from __future__ import annotations

import secrets
from dataclasses import replace

import sqlalchemy as sa
from hub.companies.v1 import companies_pb2, program_pb2
from hub.events.v1 import companies_pb2 as ev
from hub.ops.v1 import tokens_pb2
from sqlalchemy.ext.asyncio import AsyncConnection

from hubcore.db import UnitOfWork, now
from hubcore.privacy import (
    ERASED,
    PersonalData,
    Record,
    contact_digest,
    distinct_values,
    rows,
    rows_with_children,
    subject_id,
)
from hubcore.text import email_address
from services.companies import tables
from services.companies.access import store as access_store
from services.companies.access import usecases as access
from services.companies.registry import store as registry_store
from services.companies.registry.convert import company_snapshot
from services.companies.registry.domain import Company, Person

# The free text emptied with the subject, in its rows and in the events and stored responses about it.
PERSON_TEXT = ("title", "reason", "text", "attachment_urls", "comment")
COMPANY_TEXT = ("description", "reason", "text", "attachment_urls", "comment", "note", "override_reason",
                "evidence", "evidence_url")  # fmt: skip


async def export(conn: AsyncConnection, name: str, match: list[str]) -> list[Record]:
    number = subject_id(name)
    found: list[Record] = []
    if name.startswith("people/"):
        found += await rows(conn, tables.people, tables.people.c.id == number)
        found += await rows(conn, tables.assignments, tables.assignments.c.person_id == number)  # a resident's stays
    else:
        found += await rows(conn, tables.companies, tables.companies.c.id == number)
        found += await rows(conn, tables.people, tables.people.c.company_id == number)
        for table in (tables.assignments, tables.kpi_reports, tables.kpi_requests, tables.support_quotas,
                      tables.support_grants, tables.milestones):  # fmt: skip
            found += await rows(conn, table, table.c.company_id == number)
        found += await rows(conn, tables.company_rounds, tables.company_rounds.c.company_id == number)
        found += await rows(conn, tables.stats_companies, tables.stats_companies.c.company == name)
    found += await rows_with_children(
        conn, tables.applications, tables.applications.c.applicant == name, tables.scores.c.application_id
    )
    found += await rows(conn, tables.conflicts, tables.conflicts.c.applicant == name)
    found += await rows(conn, tables.erasures, tables.erasures.c.subject == name)
    return found


async def is_erased(conn: AsyncConnection, name: str) -> bool:
    table = tables.people if name.startswith("people/") else tables.companies
    row = (await conn.execute(sa.select(table.c.erased_at).where(table.c.id == subject_id(name)))).first()
    return bool(row and row.erased_at)


PERSONAL_DATA = PersonalData(
    export=export,
    services=[
        companies_pb2.DESCRIPTOR.services_by_name["CompanyService"],
        program_pb2.DESCRIPTOR.services_by_name["ProgramService"],
        tokens_pb2.DESCRIPTOR.services_by_name["AccessTokenService"],
    ],
    is_erased=is_erased,
)


async def _erase_applications(conn: AsyncConnection, name: str) -> int:
    """The applicant's answers, attachments, decision reasons, review comments and conflict reasons."""
    a = tables.applications.c
    ids = list((await conn.execute(sa.select(a.id).where(a.applicant == name))).scalars())
    changed = 0
    if ids:
        changed += (
            await conn.execute(
                tables.applications.update()
                .where(a.id.in_(ids))
                .values(answers="[]", attachment_urls="[]", decision_reason="")
            )
        ).rowcount
        changed += (
            await conn.execute(tables.scores.update().where(tables.scores.c.application_id.in_(ids)).values(comment=""))
        ).rowcount
    changed += (
        await conn.execute(tables.conflicts.update().where(tables.conflicts.c.applicant == name).values(reason=""))
    ).rowcount
    return changed


async def _log(uow: UnitOfWork, name: str, reason: str, changed: int) -> None:
    await uow.conn.execute(
        tables.erasures.insert().values(
            subject=name, reason=reason, actor=uow.actor[:100], erased_at=now(), rows_changed=changed
        )
    )


async def erase_person(uow: UnitOfWork, person: Person, reason: str) -> Person:
    """Empties the person's row (a tombstone stays), their applications' free text, and the personal values
    in this service's stored events and responses; emits hub.companies.person.erased."""
    values = distinct_values(person.korean_name, person.english_name, person.email, person.phone)
    tombstone = replace(
        person, korean_name=ERASED, english_name="", title="", email="", phone="",
        erased_at=now(), version=person.version + 1,
    )  # fmt: skip
    saved = await registry_store.save_person(uow.conn, tombstone, expected_version=person.version)
    await access.person_gone(uow, person.id, f"{person.name} was erased on request")
    if person.email:
        await access_store.forget_address(uow.conn, email_address(person.email))
    changed = 1 + await _erase_applications(uow.conn, person.name)
    salt = secrets.token_hex(16)
    digests = [contact_digest(salt, v) for v in values]
    await uow.emit(
        "hub.companies.person.erased",
        saved.name,
        saved.version,
        ev.PersonErased(
            person=ev.PersonSnapshot(
                name=saved.name,
                korean_name=ERASED,
                company=f"companies/{saved.company_id}" if saved.company_id else "",
                role=saved.role,
            ),
            salt=salt,
            contact_digests=digests,
        ),
    )
    changed += await PERSONAL_DATA.scrub(
        uow.conn, names=(person.name,), values=values, fields=PERSON_TEXT, everywhere=True
    )
    await _log(uow, person.name, reason, changed)
    return saved


async def erase_company(uow: UnitOfWork, company: Company, reason: str) -> Company:
    """Empties the company's identifying fields (the tombstone stays with its anonymous figures) and the free
    text of its records; emits hub.companies.company.erased with the tombstone's snapshot, as every company
    event carries one."""
    values = distinct_values(company.korean_name, company.english_name, company.website)
    saved = await registry_store.save_company(uow.conn, company_tombstone(company), expected_version=company.version)
    number, name = saved.id, saved.name
    changed = 1 + await _erase_applications(uow.conn, name)
    for table, emptied in (
        (tables.kpi_reports, {"note": "", "reason": ""}),
        (tables.kpi_requests, {"reason": ""}),
        (tables.support_grants, {"note": "", "override_reason": ""}),
        (tables.milestones, {"evidence": "", "evidence_url": ""}),
    ):
        changed += (await uow.conn.execute(table.update().where(table.c.company_id == number).values(emptied))).rowcount
    await uow.emit(
        "hub.companies.company.erased", name, saved.version, ev.CompanyErased(company=company_snapshot(saved))
    )
    changed += await PERSONAL_DATA.scrub(uow.conn, names=(name,), values=values, fields=COMPANY_TEXT)
    await _log(uow, name, reason, changed)
    return saved


def company_tombstone(company: Company) -> Company:
    return replace(
        company, korean_name=ERASED, english_name="", website="", tags=[], founded_on=None, description="",
        erased_at=now(), version=company.version + 1,
    )  # fmt: skip
