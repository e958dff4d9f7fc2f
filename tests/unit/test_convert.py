"""The services' converters (hubcore.convert Writer and Reader): every proto field is mapped or declared as not
mapped, and representative objects survive the round trip domain -> message -> domain values."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

import pytest

from hubcore.convert import CONVERTERS, Reader, Writer, fields_of
from services.companies.access import convert as access_convert  # noqa: F401  (builds its converters)
from services.companies.program import convert as program_convert  # noqa: F401
from services.companies.registry import convert as registry
from services.companies.registry.domain import Company, Person
from services.consulting import convert as consulting
from services.consulting import domain as consulting_domain
from services.investors import convert as investors
from services.investors import domain as investors_domain
from services.notifications import convert as notifications_convert  # noqa: F401

T = datetime(2026, 3, 2, 9, tzinfo=UTC)


def _label(converter: Writer[Any, Any] | Reader[Any]) -> str:
    return f"{type(converter).__name__}({converter.message.__name__})"


@pytest.mark.parametrize("converter", CONVERTERS, ids=_label)
def test_every_field_is_mapped_or_declared_not_mapped(converter: Writer[Any, Any] | Reader[Any]) -> None:
    fields = {f.name for f in fields_of(converter.message)}
    if isinstance(converter, Writer):
        mapped, unmapped = set(converter.sources), set(converter.skipped)
    else:
        mapped, unmapped = set(converter.keys), set(converter.ignored)
    assert mapped | unmapped == fields, f"neither mapped nor declared: {sorted(fields - mapped - unmapped)}"
    assert not mapped & unmapped, f"both mapped and declared not mapped: {sorted(mapped & unmapped)}"


def test_every_service_has_converters() -> None:
    modules = {c.message.__module__.split(".")[1] for c in CONVERTERS}
    assert {"companies", "consulting", "investors", "notifications", "ops", "events"} <= modules


ROUND_TRIPS = [
    (
        registry.company_pb,
        registry.company_fields,
        Company(1, "한빛", "MEDICAL", "Hanbit", "SEED", "RESIDENT", "https://a.kr", ["ai"], date(2020, 1, 2), "d"),
    ),
    (registry.company_pb, registry.company_fields, Company(2, "한빛", "MEDICAL")),
    (registry.person_pb, registry.person_fields, Person(3, "김", "FOUNDER", "Kim", 1, "CEO", "k@a.kr", "010", T, T)),
    (registry.person_pb, registry.person_fields, Person(4, "김", "FOUNDER")),
    (
        investors.partner_pb,
        investors.partner_fields,
        investors_domain.Partner(5, 3, "김", "Kim", "Partner", "k@vc.kr", "010", ("AI",), T, T, 2),
    ),
    (investors.firm_pb, investors.firm_fields, investors_domain.Firm(6, "한빛", "VC", "Hanbit", "w", "d", (), T, T)),
]


@pytest.mark.parametrize("write, read, entity", ROUND_TRIPS)
def test_round_trip(write: Writer[Any, Any], read: Reader[Any], entity: object) -> None:
    values = read(write(entity))
    assert dict(values) == {key: getattr(entity, key) for key in values}


def test_round_trip_mentor() -> None:
    mentor = consulting_domain.Mentor(
        7, "김", "EXPERT", "Kim", "KAIST", "k@a.kr", ["ai"], "Asia/Seoul", [consulting_domain.Window(0, 540, 600)]
    )
    values = consulting.mentor_fields(consulting.mentor_pb(mentor))
    assert values == {key: getattr(mentor, key) for key in values}
    assert consulting.mentor_changes(consulting.mentor_pb(mentor), ["weekly_availability"]) == {
        "windows": mentor.windows
    }


def test_writer_refuses_a_field_it_cannot_map() -> None:
    from hub.companies.v1 import companies_pb2 as pb

    with pytest.raises(TypeError, match=r"Company\.sector: Person has no such attribute"):
        Writer(pb.Company, Person)
