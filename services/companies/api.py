"""CompanyService: proto <-> domain, the use cases' transactions, and the events they emit."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import date, datetime
from typing import Any, TypeAlias
from zoneinfo import ZoneInfo

import grpc
import sqlalchemy as sa
from google.protobuf import empty_pb2
from google.type import money_pb2
from hub.companies.v1 import companies_pb2 as pb
from hub.companies.v1 import companies_pb2_grpc
from hub.events.v1 import companies_pb2 as ev

from hubcore import errors
from hubcore.db import Database, UnitOfWork, cursor_value, keyset_after, now, remember, timestamp
from hubcore.requests import (
    Check,
    PageTokens,
    Rules,
    calendar_date,
    check_etag,
    date_message,
    e164,
    email,
    enum_number,
    enum_short,
    length,
    max_items,
    normalize_text,
    page_size,
    parse_filter,
    parse_name,
    parse_order_by,
    required,
    short_enum_name,
    short_value,
    url,
)
from hubcore.server import ADMIN, SERVICE, caller
from services.companies import domain, privacy, store

Context: TypeAlias = grpc.aio.ServicerContext
SUBJECT = "hub.companies"
SEOUL = ZoneInfo("Asia/Seoul")


def today() -> date:
    """The hub's date (Asia/Seoul): move-in and move-out days, round dates, milestones."""
    return datetime.now(SEOUL).date()


COMPANY_FIELDS: dict[str, list[Check]] = {
    "company.korean_name": [required, length(1, 100)],
    "company.english_name": [length(1, 100)],
    "company.sector": [required],
    "company.website": [url],
    "company.tags": [max_items(domain.MAX_TAGS, length(1, 30))],
    "company.description": [length(0, 2000)],
}
PERSON_FIELDS: dict[str, list[Check]] = {
    "person.korean_name": [required, length(1, 100)],
    "person.english_name": [length(1, 100)],
    "person.role": [required],
    "person.title": [length(0, 100)],
    "person.email": [email, length(3, 200)],
    "person.phone": [e164],
}
COMPANY_MUTABLE = frozenset(
    {"korean_name", "english_name", "sector", "stage", "website", "tags", "founded_on", "description"}
)
PERSON_MUTABLE = frozenset({"korean_name", "english_name", "company", "role", "title", "email", "phone"})

RULES: dict[type, Rules] = {
    pb.CreateCompanyRequest: Rules({**COMPANY_FIELDS, "request_id": [length(1, 100)]}),
    pb.GetCompanyRequest: Rules({"name": [required]}),
    pb.UpdateCompanyRequest: Rules(
        {"company.name": [required], **COMPANY_FIELDS}, "update_mask", "company", COMPANY_MUTABLE
    ),
    pb.DeleteCompanyRequest: Rules({"name": [required]}),
    pb.ChangeCompanyStatusRequest: Rules({"name": [required], "status": [required], "reason": [length(0, 500)]}),
    pb.ListCompaniesRequest: Rules({"query": [length(0, 100)], "filter": [length(0, 500)]}),
    pb.CreatePersonRequest: Rules({**PERSON_FIELDS, "request_id": [length(1, 100)]}),
    pb.GetPersonRequest: Rules({"name": [required]}),
    pb.UpdatePersonRequest: Rules(
        {"person.name": [required], **PERSON_FIELDS}, "update_mask", "person", PERSON_MUTABLE
    ),
    pb.DeletePersonRequest: Rules({"name": [required]}),
    pb.ListPeopleRequest: Rules({"query": [length(0, 100)], "filter": [length(0, 500)]}),
    pb.ErasePersonRequest: Rules(
        {"name": [required], "reason": [required, length(1, 500)], "request_id": [length(1, 100)]}
    ),
    pb.EraseCompanyRequest: Rules(
        {"name": [required], "reason": [required, length(1, 500)], "request_id": [length(1, 100)]}
    ),
}
# Program managers do everything; other services may read.
READ = frozenset({ADMIN, SERVICE})
ROLES = {
    "GetCompany": READ,
    "ListCompanies": READ,
    "GetCompanyStats": READ,
    "GetPerson": READ,
    "ListPeople": READ,
}
DEFAULT_ROLES = frozenset({ADMIN})

ORDER_COLUMNS = {
    "create_time": store.companies.c.created_at,
    "update_time": store.companies.c.updated_at,
    "korean_name": store.companies.c.korean_name,
    "english_name": store.companies.c.english_name,
}


def company_pb(company: domain.Company) -> pb.Company:
    message = pb.Company(
        name=company.name,
        korean_name=company.korean_name,
        english_name=company.english_name,
        sector=enum_number(pb.Sector, "SECTOR", company.sector),
        stage=enum_number(pb.Stage, "STAGE", company.stage),
        status=enum_number(pb.CompanyStatus, "COMPANY_STATUS", company.status),
        website=company.website,
        tags=company.tags,
        description=company.description,
        create_time=timestamp(company.created_at),
        update_time=timestamp(company.updated_at),
        delete_time=timestamp(company.deleted_at),
        etag=company.etag,
        funding_raised=money_pb2.Money(currency_code="KRW", units=company.funding_raised),
        last_round=company.last_round,
        erase_time=timestamp(company.erased_at),
    )
    if company.founded_on:
        message.founded_on.CopyFrom(date_message(company.founded_on))
    return message


def company_fields(message: pb.Company) -> dict[str, Any]:
    """The writable fields of a Company message, as domain values."""
    return {
        "korean_name": message.korean_name,
        "english_name": message.english_name,
        "sector": enum_short(pb.Sector, "SECTOR", message.sector),
        "stage": enum_short(pb.Stage, "STAGE", message.stage),
        "website": message.website.strip(),
        "tags": list(message.tags),
        "founded_on": calendar_date(message.founded_on, "company.founded_on"),
        "description": message.description.strip(),
    }


def company_snapshot(company: domain.Company) -> ev.CompanySnapshot:
    return ev.CompanySnapshot(
        name=company.name,
        korean_name=company.korean_name,
        english_name=company.english_name,
        sector=company.sector,
        stage=company.stage,
        status=company.status,
        tags=company.tags,
        website=company.website,
        delete_time=timestamp(company.deleted_at),
    )


def person_pb(person: domain.Person) -> pb.Person:
    return pb.Person(
        name=person.name,
        korean_name=person.korean_name,
        english_name=person.english_name,
        company=f"companies/{person.company_id}" if person.company_id else "",
        role=enum_number(pb.PersonRole, "PERSON_ROLE", person.role),
        title=person.title,
        email=person.email,
        phone=person.phone,
        create_time=timestamp(person.created_at),
        update_time=timestamp(person.updated_at),
        etag=person.etag,
        erase_time=timestamp(person.erased_at),
    )


def person_fields(message: pb.Person) -> dict[str, Any]:
    return {
        "korean_name": message.korean_name,
        "english_name": message.english_name,
        "company_id": parse_name(message.company, "companies", "person.company") if message.company else None,
        "role": enum_short(pb.PersonRole, "PERSON_ROLE", message.role),
        "title": message.title.strip(),
        "email": message.email,
        "phone": message.phone.strip(),
    }


def person_snapshot(person: domain.Person) -> ev.PersonSnapshot:
    message = person_pb(person)
    return ev.PersonSnapshot(
        name=message.name,
        korean_name=message.korean_name,
        english_name=message.english_name,
        company=message.company,
        role=person.role,
        title=person.title,
        email=person.email,
        phone=person.phone,
    )


async def _load_company(uow_or_conn: Any, company_id: int, name: str) -> domain.Company:
    conn = uow_or_conn.conn if isinstance(uow_or_conn, UnitOfWork) else uow_or_conn
    company = await store.get_company(conn, company_id)
    if company is None:
        raise errors.NotFound("Company", name)
    return company


async def _save_company(uow: UnitOfWork, company: domain.Company, expected_version: int) -> domain.Company:
    return await store.save_company(uow.conn, company, expected_version=expected_version)


def residency_event(row: Any) -> ev.ResidencyChanged:
    """An assignment row (with its space's label and kind) as hub.companies.residency.moved_in|moved_out."""
    message = ev.ResidencyChanged(
        assignment=f"assignments/{row.id}",
        space=f"spaces/{row.space_id}",
        space_label=row.label,
        space_kind=row.kind,
        company=f"companies/{row.company_id}",
        move_in_date=date_message(row.move_in),
        move_out_reason=row.move_out_reason,
    )
    if row.move_out:
        message.move_out_date.CopyFrom(date_message(row.move_out))
    return message


async def change_status(uow: UnitOfWork, company: domain.Company, target: str, reason: str) -> domain.Company:
    """The company's lifecycle, one path for ChangeCompanyStatus and the program's use cases: the transition and
    its event; at GRADUATED or WITHDRAWN, every space the company still holds is freed from today (Asia/Seoul),
    each with its moved_out event, in the same transaction."""
    moved = await _save_company(uow, company.transition(target), company.version)
    await uow.emit(
        f"{SUBJECT}.company.status_changed",
        moved.name,
        moved.version,
        ev.CompanyStatusChanged(
            company=company_snapshot(moved), from_status=company.status, to_status=target, reason=reason
        ),
    )
    if target in (domain.GRADUATED, domain.WITHDRAWN):
        day = today()
        for row in await store.open_assignments(uow.conn, company.id, day):
            # A booking that had not begun ends where it starts: it never holds its space.
            await store.end_assignment(uow.conn, row.id, max(day, row.move_in), target)
            ended = await store.get_assignment(uow.conn, row.id)
            await uow.emit(f"{SUBJECT}.residency.moved_out", f"assignments/{row.id}", 2, residency_event(ended))
    return moved


@asynccontextmanager
async def _erasing(name: str) -> AsyncIterator[None]:
    """An erasure that lost a race: the row changed between its read and its write (an update, or the same
    erasure on another replica, whose stored response idempotent() then returns). ABORTED, never INTERNAL."""
    yield


def _refuse_erased(name: str, erased_at: datetime | None) -> None:
    if erased_at is not None:
        raise errors.FailedPrecondition(f"{name} was erased on request; its data cannot be written again",
                                        type_="ERASED", subject=name)  # fmt: skip


class CompanyApi(companies_pb2_grpc.CompanyServiceServicer):
    def __init__(self, db: Database) -> None:
        self.db = db

    def _write(self) -> Any:
        return self.db.write(actor=caller().actor)

    # Companies

    async def CreateCompany(self, request: pb.CreateCompanyRequest, context: Context) -> pb.Company:
        async def work() -> pb.Company:
            company = domain.new_company(**company_fields(request.company))
            async with self._write() as uow:
                company = await store.insert_company(uow.conn, company)
                await uow.emit(
                    f"{SUBJECT}.company.registered",
                    company.name,
                    company.version,
                    ev.CompanyRegistered(company=company_snapshot(company)),
                )
                response = company_pb(company)
                await remember(uow, "CreateCompany", request.request_id, request, response)
            return response

        result: pb.Company = await self.db.idempotent("CreateCompany", request.request_id, request, pb.Company, work)
        return result

    async def GetCompany(self, request: pb.GetCompanyRequest, context: Context) -> pb.Company:
        company_id = parse_name(request.name, "companies")
        async with self.db.read() as conn:
            return company_pb(await _load_company(conn, company_id, request.name))

    async def ListCompanies(self, request: pb.ListCompaniesRequest, context: Context) -> pb.ListCompaniesResponse:
        size = page_size(request.page_size)
        terms = parse_filter(
            request.filter,
            {
                "status": short_value(pb.CompanyStatus, "COMPANY_STATUS"),
                "sector": short_value(pb.Sector, "SECTOR"),
                "stage": short_value(pb.Stage, "STAGE"),
                "tag": lambda v: domain.clean(v).casefold(),
            },
        )
        order, descending = parse_order_by(request.order_by, ORDER_COLUMNS, "create_time")
        query_key = (
            f"{sorted(terms.items())}|{order}|{descending}|{normalize_text(request.query)}|{request.show_deleted}"
        )
        c = store.companies.c
        sort_columns: list[sa.ColumnElement[Any]] = [ORDER_COLUMNS[order], c.id]
        sort_type = datetime if isinstance(sort_columns[0].type, sa.DateTime) else str
        after = PageTokens.decode(request.page_token, query_key, (sort_type, int))
        query = sa.select(store.companies)
        for key in ("status", "sector", "stage"):
            if key in terms:
                query = query.where(c[key].in_(terms[key]))
        for tag in terms.get("tag", []):
            tagged = sa.select(store.company_tags.c.company_id).where(store.company_tags.c.tag == tag)
            query = query.where(c.id.in_(tagged))
        if request.query.strip():
            needle = normalize_text(request.query).replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
            query = query.where(c.search_text.like(f"%{needle}%", escape="\\"))
        if not request.show_deleted:
            query = query.where(c.deleted_at.is_(None))
        if after is not None:
            query = query.where(keyset_after(sort_columns, after, descending))
        query = query.order_by(*(col.desc() if descending else col.asc() for col in sort_columns)).limit(size + 1)
        async with self.db.read() as conn:
            rows = (await conn.execute(query)).all()
        found = [store.to_company(r) for r in rows[:size]]
        response = pb.ListCompaniesResponse(companies=[company_pb(x) for x in found])
        if len(rows) > size:
            last = rows[size - 1]
            response.next_page_token = PageTokens.encode(
                query_key, [cursor_value(last._mapping[sort_columns[0].name]), last.id]
            )
        return response

    async def UpdateCompany(self, request: pb.UpdateCompanyRequest, context: Context) -> pb.Company:
        company_id = parse_name(request.company.name, "companies", "company.name")
        wanted = company_fields(request.company)
        changes = {path: wanted[path] for path in request.update_mask.paths}
        async with self._write() as uow:
            company = await _load_company(uow, company_id, request.company.name)
            check_etag(request.company.etag, company.etag)
            _refuse_erased(company.name, company.erased_at)
            updated, changed = domain.update_company(company, changes)
            if not changed:
                return company_pb(company)
            updated = await _save_company(uow, updated, company.version)
            await uow.emit(
                f"{SUBJECT}.company.updated",
                updated.name,
                updated.version,
                ev.CompanyUpdated(company=company_snapshot(updated), changed_fields=changed),
            )
        return company_pb(updated)

    async def DeleteCompany(self, request: pb.DeleteCompanyRequest, context: Context) -> pb.Company:
        company_id = parse_name(request.name, "companies")
        async with self._write() as uow:
            company = await _load_company(uow, company_id, request.name)
            check_etag(request.etag, company.etag)
            archived = await _save_company(uow, company.archive(now()), company.version)
            await uow.emit(
                f"{SUBJECT}.company.archived",
                archived.name,
                archived.version,
                ev.CompanyArchived(company=company_snapshot(archived)),
            )
        return company_pb(archived)

    async def ChangeCompanyStatus(self, request: pb.ChangeCompanyStatusRequest, context: Context) -> pb.Company:
        company_id = parse_name(request.name, "companies")
        target = short_enum_name(pb.CompanyStatus, "COMPANY_STATUS", request.status)
        async with self._write() as uow:
            company = await _load_company(uow, company_id, request.name)
            check_etag(request.etag, company.etag)
            moved = await change_status(uow, company, target, request.reason.strip())
        return company_pb(moved)

    async def GetCompanyStats(self, request: pb.GetCompanyStatsRequest, context: Context) -> pb.CompanyStats:
        async with self.db.read() as conn:
            by_status, by_sector = await store.stats(conn)
        count = pb.CompanyStats.Count
        return pb.CompanyStats(
            by_status=[count(key=k, count=v) for k, v in sorted(by_status.items())],
            by_sector=[count(key=k, count=v) for k, v in sorted(by_sector.items())],
            total=sum(by_status.values()),
        )

    # People

    async def _check_company_reference(self, uow: UnitOfWork, company_id: int | None) -> None:
        if company_id is None:
            return
        name = f"companies/{company_id}"
        company = await _load_company(uow, company_id, name)
        if company.deleted_at is not None:
            raise errors.FailedPrecondition(f"{name} is archived", type_="ARCHIVED", subject=name)

    async def CreatePerson(self, request: pb.CreatePersonRequest, context: Context) -> pb.Person:
        async def work() -> pb.Person:
            person = domain.new_person(**person_fields(request.person))
            async with self._write() as uow:
                await self._check_company_reference(uow, person.company_id)
                person = await store.insert_person(uow.conn, person)
                await uow.emit(
                    f"{SUBJECT}.person.registered",
                    person.name,
                    person.version,
                    ev.PersonRegistered(person=person_snapshot(person)),
                )
                response = person_pb(person)
                await remember(uow, "CreatePerson", request.request_id, request, response)
            return response

        result: pb.Person = await self.db.idempotent("CreatePerson", request.request_id, request, pb.Person, work)
        return result

    async def GetPerson(self, request: pb.GetPersonRequest, context: Context) -> pb.Person:
        person_id = parse_name(request.name, "people")
        async with self.db.read() as conn:
            person = await store.get_person(conn, person_id)
        if person is None:
            raise errors.NotFound("Person", request.name)
        return person_pb(person)

    async def ListPeople(self, request: pb.ListPeopleRequest, context: Context) -> pb.ListPeopleResponse:
        size = page_size(request.page_size)
        terms = parse_filter(
            request.filter,
            {
                "company": lambda v: parse_name(v, "companies", "filter"),
                "role": short_value(pb.PersonRole, "PERSON_ROLE"),
            },
        )
        query_key = f"{sorted(terms.items())}|{normalize_text(request.query)}"
        after = PageTokens.decode(request.page_token, query_key, (int,))
        c = store.people.c
        query = sa.select(store.people).order_by(c.id).limit(size + 1)
        if "company" in terms:
            query = query.where(c.company_id.in_(terms["company"]))
        if "role" in terms:
            query = query.where(c.role.in_(terms["role"]))
        if request.query.strip():
            needle = normalize_text(request.query).replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
            query = query.where(c.search_text.like(f"%{needle}%", escape="\\"))
        if after is not None:
            query = query.where(c.id > after[0])
        async with self.db.read() as conn:
            rows = (await conn.execute(query)).all()
        response = pb.ListPeopleResponse(people=[person_pb(store.to_person(r)) for r in rows[:size]])
        if len(rows) > size:
            response.next_page_token = PageTokens.encode(query_key, [rows[size - 1].id])
        return response

    async def UpdatePerson(self, request: pb.UpdatePersonRequest, context: Context) -> pb.Person:
        person_id = parse_name(request.person.name, "people", "person.name")
        wanted = person_fields(request.person)
        fields = {"company": "company_id"}  # the API's resource name -> the domain's id
        changes = {fields.get(p, p): wanted[fields.get(p, p)] for p in request.update_mask.paths}
        async with self._write() as uow:
            person = await store.get_person(uow.conn, person_id)
            if person is None:
                raise errors.NotFound("Person", request.person.name)
            check_etag(request.person.etag, person.etag)
            _refuse_erased(person.name, person.erased_at)
            updated, changed = domain.update_person(person, changes)
            if not changed:
                return person_pb(person)
            if "company_id" in changed:
                await self._check_company_reference(uow, updated.company_id)
            updated = await store.save_person(uow.conn, updated, expected_version=person.version)
            await uow.emit(
                f"{SUBJECT}.person.updated",
                updated.name,
                updated.version,
                ev.PersonUpdated(
                    person=person_snapshot(updated), changed_fields=[c.removesuffix("_id") for c in changed]
                ),
            )
        return person_pb(updated)

    async def DeletePerson(self, request: pb.DeletePersonRequest, context: Context) -> empty_pb2.Empty:
        person_id = parse_name(request.name, "people")
        async with self._write() as uow:
            person = await store.get_person(uow.conn, person_id)
            if person is None:
                raise errors.NotFound("Person", request.name)
            check_etag(request.etag, person.etag)
            await store.delete_person(uow.conn, person_id)
            # Personal data leaves with the person: the event names them, nothing more.
            await uow.emit(
                f"{SUBJECT}.person.deleted",
                person.name,
                person.version + 1,
                ev.PersonDeleted(person=ev.PersonSnapshot(name=person.name)),
            )
        return empty_pb2.Empty()

    # Personal data (services/companies/privacy.py)

    async def ErasePerson(self, request: pb.ErasePersonRequest, context: Context) -> pb.Person:
        person_id = parse_name(request.name, "people")

        async def work() -> pb.Person:
            async with _erasing(request.name), self._write() as uow:
                person = await store.get_person(uow.conn, person_id)
                if person is None:
                    raise errors.NotFound("Person", request.name)
                if person.erased_at is None:
                    person = await privacy.erase_person(uow, person, request.reason.strip())
                response = person_pb(person)
                await remember(uow, "ErasePerson", request.request_id, request, response)
            return response

        result: pb.Person = await self.db.idempotent("ErasePerson", request.request_id, request, pb.Person, work)
        return result

    async def EraseCompany(self, request: pb.EraseCompanyRequest, context: Context) -> pb.Company:
        company_id = parse_name(request.name, "companies")

        async def work() -> pb.Company:
            async with _erasing(request.name), self._write() as uow:
                company = await _load_company(uow, company_id, request.name)
                if company.erased_at is None:
                    tombstone = privacy.company_tombstone(company)
                    company = await privacy.erase_company(
                        uow, company, tombstone, request.reason.strip(), company_snapshot(tombstone)
                    )
                response = company_pb(company)
                await remember(uow, "EraseCompany", request.request_id, request, response)
            return response

        result: pb.Company = await self.db.idempotent("EraseCompany", request.request_id, request, pb.Company, work)
        return result
