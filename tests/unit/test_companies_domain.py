"""The companies domain: lifecycle rules and input rules, no I/O."""

from __future__ import annotations

import unicodedata
from datetime import UTC, date, datetime, timedelta

import pytest

from hubcore.errors import FailedPrecondition, InvalidArgument
from services.companies.registry import domain
from services.companies.registry.domain import APPLICANT, GRADUATED, RESIDENT, SELECTED, WITHDRAWN


def company(**fields: object) -> domain.Company:
    return domain.Company(id=7, **{"korean_name": "메디비전", "sector": "MEDICAL"} | fields)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("start", "target"),
    [(APPLICANT, SELECTED), (SELECTED, RESIDENT), (RESIDENT, GRADUATED), (APPLICANT, WITHDRAWN),
     (SELECTED, WITHDRAWN), (RESIDENT, WITHDRAWN)],
)  # fmt: skip
def test_allowed_transitions_move_and_bump_the_version(start: str, target: str) -> None:
    moved = company(status=start, version=3).transition(target)
    assert (moved.status, moved.version) == (target, 4)


@pytest.mark.parametrize(
    ("start", "target"),
    [(APPLICANT, RESIDENT), (APPLICANT, GRADUATED), (SELECTED, GRADUATED), (GRADUATED, RESIDENT),
     (WITHDRAWN, APPLICANT), (GRADUATED, WITHDRAWN), (RESIDENT, APPLICANT)],
)  # fmt: skip
def test_other_transitions_are_refused(start: str, target: str) -> None:
    with pytest.raises(FailedPrecondition, match=f"cannot go from {start} to {target}"):
        company(status=start).transition(target)


def test_every_status_has_a_rule_and_final_states_are_final() -> None:
    assert set(domain.TRANSITIONS) == {APPLICANT, SELECTED, RESIDENT, GRADUATED, WITHDRAWN}
    assert domain.TRANSITIONS[GRADUATED] == domain.TRANSITIONS[WITHDRAWN] == frozenset()


def test_same_status_and_archived_are_refused() -> None:
    with pytest.raises(FailedPrecondition, match="already"):
        company(status=SELECTED).transition(SELECTED)
    archived = company().archive(datetime.now(UTC))
    with pytest.raises(FailedPrecondition, match="archived"):
        archived.transition(SELECTED)
    with pytest.raises(FailedPrecondition, match="archived"):
        archived.archive(datetime.now(UTC))


def test_new_company_normalizes_names_and_tags() -> None:
    decomposed = unicodedata.normalize("NFD", "메디비전")
    made = domain.new_company(
        korean_name=f"  {decomposed} ", sector="MEDICAL", tags=["Vision", "vision", " AI "], today=date.today()
    )
    assert made.korean_name == "메디비전" and made.korean_name != decomposed
    assert made.tags == ["vision", "ai"]
    assert "메디비전" in made.search_text


def test_new_company_requires_name_and_sector_and_a_past_founding_date() -> None:
    with pytest.raises(InvalidArgument) as caught:
        domain.new_company(korean_name="  ", sector="", founded_on=date.today() + timedelta(days=1), today=date.today())
    fields = [f for f, _ in caught.value.violations]
    assert fields == ["company.korean_name", "company.sector", "company.founded_on"]


def test_update_reports_only_real_changes() -> None:
    current = company(english_name="MediVision", version=2)
    same, changed = domain.update_company(current, {"english_name": " MediVision "}, today=date.today())
    assert changed == [] and same is current
    updated, changed = domain.update_company(
        current, {"english_name": "Medi Vision", "sector": "MEDICAL"}, today=date.today()
    )
    assert changed == ["english_name"] and updated.version == 3


def test_person_company_rules() -> None:
    with pytest.raises(InvalidArgument, match=r"person\.company"):
        domain.new_person(korean_name="김서연", role="FOUNDER")
    with pytest.raises(InvalidArgument, match=r"person\.company"):
        domain.new_person(korean_name="김서연", role="INDIVIDUAL", company_id=3)
    person = domain.new_person(korean_name="김서연", role="FOUNDER", company_id=3, email=" Seoyeon@MediVision.kr ")
    assert person.email == "seoyeon@medivision.kr"


def test_a_saved_views_query_is_stored_normalized_or_refused_saying_why() -> None:
    assert domain.view_query("?tag=AI&sector=sector_medical&q=+메디+&status=resident&stage=&tag=ai") == (
        "q=%EB%A9%94%EB%94%94&status=RESIDENT&sector=MEDICAL&tag=ai"
    )
    assert domain.view_query("") == ""
    assert domain.view_query("tag=b&cohort=rounds/3&tag=a") == "cohort=rounds%2F3&tag=b&tag=a"
    for bad, said in [
        ("page=2", "unknown key 'page'"),
        ("cohort=companies/1", "cohort: 'companies/1' is not a round's name"),
        ("status=ASLEEP", "status: unknown value 'ASLEEP'"),
        ("stage=SEED&stage=PRE_A", "stage is given more than once"),
        ("q=" + "가" * 101, "q: at most 100 characters"),
        ("&".join(f"tag=t{n}" for n in range(21)), "at most 20 tags"),
    ]:
        with pytest.raises(ValueError, match=said):
            domain.view_query(bad)
    with pytest.raises(InvalidArgument) as caught:
        domain.new_saved_view(list="people", title=" ", query="x=1", creator="admin:x", creator_display_name="")
    assert [f for f, _ in caught.value.violations] == ["saved_view.list", "saved_view.title", "saved_view.query"]


def test_an_individual_resident_has_the_companies_lifecycle_and_keeps_its_role() -> None:
    from dataclasses import replace

    person = replace(domain.new_person(korean_name="김서연", role="INDIVIDUAL"), id=7)
    assert person.residency == "APPLICANT"
    selected = person.transition("SELECTED")
    assert (selected.residency, selected.version) == ("SELECTED", person.version + 1)
    assert selected.transition("RESIDENT").transition("GRADUATED").residency == "GRADUATED"
    with pytest.raises(FailedPrecondition, match="cannot go from APPLICANT to RESIDENT"):
        person.transition("RESIDENT")
    with pytest.raises(FailedPrecondition, match="the role cannot change"):
        domain.update_person(selected, {"role": "FOUNDER", "company_id": 3})
    founder = replace(domain.new_person(korean_name="최민준", role="FOUNDER", company_id=3), id=8)
    assert founder.residency == ""
    with pytest.raises(FailedPrecondition, match="the company holds the space"):
        founder.transition("SELECTED")
