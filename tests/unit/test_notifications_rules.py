"""Each rule with a controllable clock: events in, the follow-ups they plan or cancel out."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hub.events.v1 import companies_pb2 as companies_ev

from services.notifications import domain, rules
from services.notifications.config import Config

NOW = datetime(2026, 12, 1, 1, 0, tzinfo=UTC)  # 10:00 in Seoul
CFG = Config()
COMPANY = companies_ev.CompanySnapshot(name="companies/3", korean_name="메디비전", english_name="MediVision")


def status_change(before: str, after: str) -> companies_ev.CompanyStatusChanged:
    company = companies_ev.CompanySnapshot()
    company.CopyFrom(COMPANY)
    company.status = after
    return companies_ev.CompanyStatusChanged(company=company, from_status=before, to_status=after, reason="심사")


def plans(actions: list[domain.Action]) -> dict[str, domain.Plan]:
    return {a.key: a for a in actions if isinstance(a, domain.Plan)}


def test_selection_congratulates_the_company_and_notes_it_for_the_managers() -> None:
    found = plans(rules.company_status_changed(status_change("APPLICANT", "SELECTED"), contacts=[], now=NOW, cfg=CFG))
    assert set(found) == {"company.status_note:companies/3:SELECTED", "company.selected:companies/3:SELECTED"}
    selected = found["company.selected:companies/3:SELECTED"]
    assert selected.audience == ("company:companies/3",) and selected.due_at == NOW
    assert selected.expires_at == NOW + timedelta(hours=CFG.expire_after_hours)
    assert selected.context["company_ko"] == "메디비전"
    note = found["company.status_note:companies/3:SELECTED"]
    assert note.audience == (domain.MANAGERS,) and note.context["reason"] == "심사"


def test_moving_in_welcomes_each_person_once() -> None:
    change = status_change("SELECTED", "RESIDENT")
    found = plans(rules.company_status_changed(change, contacts=["people/1", "people/2"], now=NOW, cfg=CFG))
    welcomes = {k: p for k, p in found.items() if p.rule == rules.COMPANY_WELCOME}
    assert set(welcomes) == {"company.welcome:companies/3:people/1", "company.welcome:companies/3:people/2"}
    assert welcomes["company.welcome:companies/3:people/1"].audience == ("recipient:people/1",)
    # The same event again (a redelivery) plans the same keys: the store keeps one of each.
    again = plans(rules.company_status_changed(change, contacts=["people/1", "people/2"], now=NOW, cfg=CFG))
    assert set(again) == set(found)


def test_graduation_only_notes_it_for_the_managers() -> None:
    found = plans(rules.company_status_changed(status_change("RESIDENT", "GRADUATED"), contacts=["people/1"],
                                               now=NOW, cfg=CFG))  # fmt: skip
    assert [p.rule for p in found.values()] == [rules.COMPANY_STATUS_NOTE]


def test_a_person_joining_a_resident_company_is_welcomed_but_not_elsewhere() -> None:
    person = companies_ev.PersonSnapshot(name="people/9", company="companies/3")
    resident = companies_ev.CompanySnapshot(name="companies/3", korean_name="메디비전", status="RESIDENT")
    [welcome] = rules.person_joined(person, resident, now=NOW, cfg=CFG)
    assert isinstance(welcome, domain.Plan) and welcome.key == "company.welcome:companies/3:people/9"
    selected = companies_ev.CompanySnapshot(name="companies/3", status="SELECTED")
    assert rules.person_joined(person, selected, now=NOW, cfg=CFG) == []
    assert rules.person_joined(person, None, now=NOW, cfg=CFG) == []
    archived = companies_ev.CompanySnapshot(name="companies/3", status="RESIDENT")
    archived.delete_time.GetCurrentTime()
    assert rules.person_joined(person, archived, now=NOW, cfg=CFG) == []
