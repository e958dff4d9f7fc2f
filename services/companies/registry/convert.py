"""Companies and people: proto <-> domain. The servicer, the erasure (privacy.py) and the program's use cases
import it; nothing here touches the database."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date
from typing import Protocol, TypedDict

from hub.companies.v1 import companies_pb2 as pb
from hub.events.v1 import companies_pb2 as ev

from hubcore.convert import calendar_date, date_message, money, timestamp
from hubcore.requests import enum_number, enum_short, parse_name
from services.companies.registry.domain import Company, Person


class CompanyFields(TypedDict):
    korean_name: str
    english_name: str
    sector: str
    stage: str
    website: str
    tags: list[str]
    founded_on: date | None
    description: str


class PersonFields(TypedDict):
    korean_name: str
    english_name: str
    company_id: int | None
    role: str
    title: str
    email: str
    phone: str


def company_pb(company: Company) -> pb.Company:
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
        funding_raised=money(company.funding_raised),
        last_round=company.last_round,
        erase_time=timestamp(company.erased_at),
    )
    if company.founded_on:
        message.founded_on.CopyFrom(date_message(company.founded_on))
    return message


def company_fields(message: pb.Company) -> CompanyFields:
    """The writable fields of a Company message, as domain values."""
    return CompanyFields(
        korean_name=message.korean_name,
        english_name=message.english_name,
        sector=enum_short(pb.Sector, "SECTOR", message.sector),
        stage=enum_short(pb.Stage, "STAGE", message.stage),
        website=message.website.strip(),
        tags=list(message.tags),
        founded_on=calendar_date(message.founded_on, "company.founded_on"),
        description=message.description.strip(),
    )


def company_changes(message: pb.Company, paths: Iterable[str]) -> dict[str, object]:
    """The masked fields of an UpdateCompany, as domain values."""
    wanted = company_fields(message)
    return {path: wanted[path] for path in paths}  # type: ignore[literal-required]


def company_snapshot(company: Company) -> ev.CompanySnapshot:
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


def person_pb(person: Person) -> pb.Person:
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


def person_fields(message: pb.Person) -> PersonFields:
    return PersonFields(
        korean_name=message.korean_name,
        english_name=message.english_name,
        company_id=parse_name(message.company, "companies", "person.company") if message.company else None,
        role=enum_short(pb.PersonRole, "PERSON_ROLE", message.role),
        title=message.title.strip(),
        email=message.email,
        phone=message.phone.strip(),
    )


def person_changes(message: pb.Person, paths: Iterable[str]) -> dict[str, object]:
    """The masked fields of an UpdatePerson, as domain values: the API's company is the domain's company_id."""
    wanted = person_fields(message)
    fields = [{"company": "company_id"}.get(path, path) for path in paths]
    return {field: wanted[field] for field in fields}  # type: ignore[literal-required]


def person_snapshot(person: Person) -> ev.PersonSnapshot:
    return ev.PersonSnapshot(
        name=person.name,
        korean_name=person.korean_name,
        english_name=person.english_name,
        company=f"companies/{person.company_id}" if person.company_id else "",
        role=person.role,
        title=person.title,
        email=person.email,
        phone=person.phone,
    )


class Assignment(Protocol):
    """What residency_event reads of an assignment (a row of the program's store, with its space's kind and
    label, or the domain object that replaces it)."""

    @property
    def id(self) -> int: ...
    @property
    def space_id(self) -> int: ...
    @property
    def label(self) -> str: ...
    @property
    def kind(self) -> str: ...
    @property
    def company_id(self) -> int: ...
    @property
    def move_in(self) -> date: ...
    @property
    def move_out(self) -> date | None: ...
    @property
    def move_out_reason(self) -> str: ...


def residency_event(assignment: Assignment) -> ev.ResidencyChanged:
    """An assignment (with its space's label and kind) as hub.companies.residency.moved_in|moved_out."""
    message = ev.ResidencyChanged(
        assignment=f"assignments/{assignment.id}",
        space=f"spaces/{assignment.space_id}",
        space_label=assignment.label,
        space_kind=assignment.kind,
        company=f"companies/{assignment.company_id}",
        move_in_date=date_message(assignment.move_in),
        move_out_reason=assignment.move_out_reason,
    )
    if assignment.move_out:
        message.move_out_date.CopyFrom(date_message(assignment.move_out))
    return message
