"""The rule that joins an introduction's shared fields and the firm's grant, who may act for a company, and a
grant's life: pure domain."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from hubcore.errors import FailedPrecondition, InvalidArgument
from services.investors import domain

AT = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def test_a_partner_sees_the_shared_fields_whose_group_was_granted() -> None:
    shared = ("korean_name", "english_name", "sector", "stage")
    assert domain.visible_fields(shared, ("NAMES", "PROFILE")) == shared
    assert domain.visible_fields(shared, ("NAMES", "WEBSITE")) == ("korean_name", "english_name")
    assert domain.visible_fields(shared, ()) == ()
    assert domain.visible_fields(("korean_name", "sector"), ("NAMES", "PROFILE", "WEBSITE")) == (
        "korean_name",
        "sector",
    )
    assert domain.groups_of(shared) == ("NAMES", "PROFILE")
    assert domain.groups_of(("website", "korean_name")) == ("NAMES", "WEBSITE")


def test_grant_groups_are_known_and_at_least_one() -> None:
    assert domain.field_groups(["WEBSITE", "NAMES", "NAMES"], "f") == ("NAMES", "WEBSITE")
    for bad in ([], ["KPIS"]):
        with pytest.raises(InvalidArgument):
            domain.field_groups(bad, "f")


def test_a_program_manager_acts_for_a_company_only_with_a_reason() -> None:
    assert domain.acting_for("companies/7", actor="founder:ab", role="founder", reason="") == domain.Acting(
        "founder:ab", "founder"
    )
    with pytest.raises(InvalidArgument):
        domain.acting_for("companies/7", actor="admin:cd", role="admin", reason="  ")
    by = domain.acting_for("companies/7", actor="admin:cd", role="admin", reason=" 전화 동의 ")
    assert (by.reason, by.on_behalf_of) == ("전화 동의", "companies/7")


def test_a_grant_is_changed_revoked_and_granted_again() -> None:
    founder = domain.Acting("founder:ab", "founder")
    grant = domain.new_grant(7, 3, ("NAMES",), founder, "introductions/5")
    assert (grant.name, grant.version, grant.granted, grant.introduction) == (
        "companies/7/sharingGrants/3", 1, ("NAMES",), "introductions/5",
    )  # fmt: skip
    revoked = grant.revoked(founder, AT)
    assert revoked.granted == () and revoked.revoked_at == AT and revoked.version == 2
    with pytest.raises(FailedPrecondition):
        revoked.revoked(founder, AT)
    again = revoked.changed(("PROFILE",), domain.Acting("admin:cd", "admin", "요청", "companies/7"))
    assert again.active and again.granted == ("PROFILE",) and again.on_behalf_of == "companies/7"


def test_one_call_is_one_read_per_company() -> None:
    shown = [
        domain.Shown(5, 7, ("korean_name",)),
        domain.Shown(6, 8, ()),
        domain.Shown(9, 7, ("sector", "website")),
    ]
    assert domain.reads_of(shown) == {
        7: (("introductions/5", "introductions/9"), ("NAMES", "PROFILE", "WEBSITE")),
        8: (("introductions/6",), ()),
    }


def test_the_company_answers_its_introductions() -> None:
    intro = domain.new_introduction(
        company_id=7,
        firm_id=3,
        note="소개",
        partner_id=None,
        shared=domain.DEFAULT_SHARED_FIELDS,
        actor="admin:x",
        at=AT,
    )
    moved, step = intro.transition(domain.COMPANY_CONSENTED, role="founder", actor="founder:ab", reason="", at=AT)
    assert moved.shared_at == AT and step.on_behalf_of == ""
    declined = intro.transition(
        domain.COMPANY_DECLINED, role="admin", actor="admin:x", reason="전화", at=AT, on_behalf_of="companies/7"
    )[1]
    assert declined.on_behalf_of == "companies/7"
    with pytest.raises(Exception, match="founder may not"):
        moved.transition(domain.PARTNER_ACCEPTED, role="founder", actor="founder:ab", reason="", at=AT)
