"""Companies and people: proto <-> domain. The servicer, the erasure (privacy.py) and the program's use cases
import it; nothing here touches the database."""

from __future__ import annotations

from datetime import date
from typing import Protocol, TypedDict

from hub.companies.v1 import companies_pb2 as pb
from hub.events.v1 import companies_pb2 as ev

from hubcore.convert import Reader, Writer, date_message
from services.companies.registry.domain import Company, Person, SavedView


class CompanyFields(TypedDict):
    korean_name: str
    english_name: str
    sector: str
    stage: str
    website: str
    tags: list[str]
    founded_on: date | None
    description: str
    reporting_consent: bool


class PersonFields(TypedDict):
    korean_name: str
    english_name: str
    company_id: int | None
    role: str
    title: str
    email: str
    phone: str


company_pb = Writer(pb.Company, Company)
company_fields = Reader(pb.Company, CompanyFields, "company", strip=("website", "description"))
company_changes = company_fields.changes  # the masked fields of an UpdateCompany, as domain values
company_snapshot = Writer(ev.CompanySnapshot, Company)


person_pb = Writer(pb.Person, Person, refs={"company": "companies"}, rename={"status": "residency"})
# The API's company is the domain's company_id.
person_fields = Reader(pb.Person, PersonFields, "person", refs={"company": "companies"}, strip=("title", "phone"))
person_changes = person_fields.changes
person_snapshot = Writer(ev.PersonSnapshot, Person, refs={"company": "companies"}, rename={"status": "residency"})

saved_view_pb = Writer(pb.SavedView, SavedView)
saved_view_changed = Writer(ev.SavedViewChanged, SavedView)


def saved_view_fields(view: pb.SavedView) -> dict[str, str]:
    """What a CreateSavedView gives; the creator and the time are the service's."""
    return {"list": view.list, "title": view.title, "query": view.query}


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
    def company_id(self) -> int | None: ...
    @property
    def holder(self) -> str: ...
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
        company=f"companies/{assignment.company_id}" if assignment.company_id is not None else "",
        holder=assignment.holder,
        move_in_date=date_message(assignment.move_in),
        move_out_reason=assignment.move_out_reason,
    )
    if assignment.move_out:
        message.move_out_date.CopyFrom(date_message(assignment.move_out))
    return message
