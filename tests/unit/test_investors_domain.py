"""The investors domain: the introduction state machine (every legal and illegal transition), the fit
score and its explanations, theses, rounds and keys. No I/O."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from hubcore.errors import FailedPrecondition, InvalidArgument, PermissionDenied
from hubcore.server import TokenBuckets, is_loopback, peer_address
from services.investors import domain
from services.investors.domain import (
    CANCELLED,
    COMPANY_CONSENTED,
    COMPANY_DECLINED,
    FINAL_STATES,
    INVESTED,
    MEETING_HELD,
    ON_HOLD,
    PARTNER_ACCEPTED,
    PARTNER_DECLINED,
    PASSED,
    REQUESTED,
    STATES,
    TRANSITIONS,
)

NOW = datetime(2026, 11, 26, 9, 0, tzinfo=UTC)
LEGAL = [(start, target) for start, targets in TRANSITIONS.items() for target in targets]
ILLEGAL = [(start, target) for start in STATES for target in STATES if target not in TRANSITIONS[start]]


def intro(state: str = REQUESTED, **fields: object) -> domain.Introduction:
    return domain.Introduction(id=5, company_id=42, firm_id=3, note="만나보세요", state=state, **fields)  # type: ignore[arg-type]


def move(start: str, target: str, role: str = "admin", **extra: object) -> domain.Introduction:
    moved, _ = intro(start, version=4).transition(
        target,
        role=role,
        actor=f"{role}:x",
        reason="  why  ",
        at=NOW,
        **extra,  # type: ignore[arg-type]
    )
    return moved


# The state machine


def test_the_double_opt_in_path_and_its_branches() -> None:
    assert TRANSITIONS[REQUESTED].keys() == {COMPANY_CONSENTED, COMPANY_DECLINED, CANCELLED}
    assert TRANSITIONS[COMPANY_CONSENTED].keys() == {PARTNER_ACCEPTED, PARTNER_DECLINED, CANCELLED}
    assert TRANSITIONS[PARTNER_ACCEPTED].keys() == {MEETING_HELD, CANCELLED}
    assert TRANSITIONS[MEETING_HELD].keys() == {INVESTED, PASSED, ON_HOLD}
    assert TRANSITIONS[ON_HOLD].keys() == {INVESTED, PASSED}
    assert {COMPANY_DECLINED, PARTNER_DECLINED, INVESTED, PASSED, CANCELLED} == FINAL_STATES
    assert set(TRANSITIONS) == set(STATES)


@pytest.mark.parametrize(("start", "target"), LEGAL)
def test_every_legal_transition_moves_records_and_bumps_the_version(start: str, target: str) -> None:
    moved = move(start, target)
    assert (moved.state, moved.version) == (target, 5)
    step = moved.history[-1]
    assert (step.from_state, step.to_state, step.actor, step.reason, step.at) == (start, target, "admin:x", "why", NOW)
    assert (moved.closed_at is not None) == (target in FINAL_STATES)
    assert moved.is_open == (target not in FINAL_STATES)


@pytest.mark.parametrize(("start", "target"), ILLEGAL)
def test_every_illegal_transition_is_a_failed_precondition(start: str, target: str) -> None:
    with pytest.raises(FailedPrecondition) as caught:
        move(start, target)
    assert ("already" if start == target else f"cannot go from {start} to {target}") in caught.value.message


@pytest.mark.parametrize(("start", "target"), [t for t in LEGAL if "partner" not in TRANSITIONS[t[0]][t[1]]])
def test_a_partner_cannot_speak_for_the_company_or_cancel(start: str, target: str) -> None:
    with pytest.raises(PermissionDenied):
        move(start, target, role="partner")


@pytest.mark.parametrize(("start", "target"), [t for t in LEGAL if "partner" in TRANSITIONS[t[0]][t[1]]])
def test_a_partner_answers_meets_and_decides(start: str, target: str) -> None:
    assert move(start, target, role="partner").state == target


def test_consent_shares_it_with_the_firm_and_only_that_firm() -> None:
    requested = intro()
    assert not requested.visible_to_firm(3)
    consented = move(REQUESTED, COMPANY_CONSENTED)
    assert consented.shared_at == NOW and consented.visible_to_firm(3) and not consented.visible_to_firm(4)
    declined = move(REQUESTED, COMPANY_DECLINED)
    assert not declined.visible_to_firm(3)


def test_a_meeting_is_recorded_once_it_took_place() -> None:
    earlier = NOW - timedelta(days=2)
    assert move(PARTNER_ACCEPTED, MEETING_HELD, meeting_at=earlier).meeting_at == earlier
    assert move(PARTNER_ACCEPTED, MEETING_HELD).meeting_at == NOW
    with pytest.raises(InvalidArgument, match="future"):
        move(PARTNER_ACCEPTED, MEETING_HELD, meeting_at=NOW + timedelta(days=1))


def test_new_introduction_needs_a_note_and_shares_the_defaults() -> None:
    with pytest.raises(InvalidArgument, match=r"introduction\.note"):
        domain.new_introduction(company_id=1, firm_id=2, note="  ", partner_id=None, shared=(), actor="a", at=NOW)
    assert domain.shared_fields([]) == ("korean_name", "english_name", "sector", "stage")
    assert domain.shared_fields(["website", "sector"]) == ("sector", "website")
    with pytest.raises(InvalidArgument, match="'status' cannot be shared"):
        domain.shared_fields(["status"])


# The fit score


COMPANY = domain.DirectoryCompany(id=42, korean_name="메디비전", sector="MEDICAL", stage="SEED")
THESIS = domain.Thesis(
    title="AI 헬스케어", sectors=("MEDICAL",), stages=("SEED", "PRE_A"), ticket_min=500_000_000,
    ticket_max=3_000_000_000, geographies=("KR",),
)  # fmt: skip


def points(fit: domain.Fit) -> dict[str, int]:
    return {c.component: c.points for c in fit.components}


def test_a_perfect_fit_scores_100_and_explains_every_component() -> None:
    fit = domain.score_fit(COMPANY, THESIS, 1_000_000_000)
    assert fit.score == 100 and fit.thesis == "AI 헬스케어"
    assert [(c.component, c.max_points) for c in fit.components] == [
        ("sector", 40), ("stage", 30), ("ticket", 20), ("geography", 10),
    ]  # fmt: skip
    explained = {c.component: c.explanation for c in fit.components}
    assert explained["sector"] == "MEDICAL is one of the thesis's sectors"
    assert (
        explained["ticket"] == "the open round of ₩1,000,000,000 is within the ticket range ₩500,000,000–₩3,000,000,000"
    )
    assert explained["geography"] == "the thesis includes KR"


def test_each_component_gives_full_half_or_nothing() -> None:
    other_sector = domain.DirectoryCompany(id=1, korean_name="x", sector="EDUCATION", stage="SEED")
    assert points(domain.score_fit(other_sector, THESIS, None))["sector"] == 0
    series_a = domain.DirectoryCompany(id=1, korean_name="x", sector="MEDICAL", stage="SERIES_A")
    assert points(domain.score_fit(series_a, THESIS, None))["stage"] == 15  # one stage from PRE_A
    series_c = domain.DirectoryCompany(id=1, korean_name="x", sector="MEDICAL", stage="SERIES_C_PLUS")
    fit = domain.score_fit(series_c, THESIS, None)
    assert points(fit)["stage"] == 0 and "3 stages from SEED, PRE_A" in fit.components[1].explanation
    unknown_stage = domain.DirectoryCompany(id=1, korean_name="x", sector="MEDICAL")
    assert points(domain.score_fit(unknown_stage, THESIS, None))["stage"] == 15
    tickets = {
        amount: points(domain.score_fit(COMPANY, THESIS, amount))["ticket"]
        for amount in (None, 200_000_000, 300_000_000, 3_000_000_000, 6_000_000_000, 7_000_000_000)
    }
    assert tickets == {
        None: 10,
        200_000_000: 0,
        300_000_000: 10,
        3_000_000_000: 20,
        6_000_000_000: 10,
        7_000_000_000: 0,
    }
    abroad = domain.Thesis(geographies=("US", "SG"))
    fit = domain.score_fit(COMPANY, abroad, None)
    assert points(fit) == {"sector": 40, "stage": 30, "ticket": 20, "geography": 0}
    assert fit.components[3].explanation == "the thesis covers US, SG, not KR"


def test_the_best_thesis_counts_and_a_firm_without_theses_is_not_ranked() -> None:
    firm = domain.Firm(id=1, korean_name="한빛벤처스", type="VC", theses=(domain.Thesis(sectors=("ENERGY",)), THESIS))
    best = domain.best_fit(COMPANY, firm, None)
    assert best is not None and best.thesis == "AI 헬스케어"
    assert domain.best_fit(COMPANY, domain.Firm(id=2, korean_name="빈", type="VC"), None) is None


# Theses, rounds, keys


def test_a_thesis_names_the_field_of_each_problem() -> None:
    with pytest.raises(InvalidArgument) as caught:
        domain.new_thesis(
            sectors=["medical", "SPACE"], stages=["SEED", "Z"], geographies=["KOR"], ticket_min=5, ticket_max=1,
            field="firm.theses[1]",
        )  # fmt: skip
    assert [f for f, _ in caught.value.violations] == [
        "firm.theses[1].sectors", "firm.theses[1].stages", "firm.theses[1].geographies", "firm.theses[1].ticket_max",
    ]  # fmt: skip
    thesis = domain.new_thesis(sectors=["medical", "MEDICAL"], geographies=["kr"])
    assert thesis.sectors == ("MEDICAL",) and thesis.geographies == ("KR",)


def test_round_rules() -> None:
    base: dict[str, object] = {"company_id": 42, "round_type": "SEED", "amount": 1_000, "today": date(2026, 11, 26)}
    fine = domain.new_round(**base, lead_firm_id=3, participants=[(4, 400)])  # type: ignore[arg-type]
    assert fine.participants == ((4, 400), (3, 0)) and fine.firm_ids == {3, 4} and fine.status == "OPEN"
    problems: dict[str, dict[str, object]] = {
        "round.participants": {"participants": [(4, 600), (5, 600)]},
        "round.amount": {"amount": 0},
        "round.status": {"status": "CANCELLED"},
        "round.close_date": {"closed_on": date(2026, 12, 1), "status": "CLOSED"},
    }
    for field, change in problems.items():
        with pytest.raises(InvalidArgument) as caught:
            domain.new_round(**(base | change))  # type: ignore[arg-type]
        assert field in [f for f, _ in caught.value.violations]
    closed = domain.new_round(**base, status="CLOSED")  # type: ignore[arg-type]
    assert closed.closed_on == date(2026, 11, 26)
    assert fine.close(date(2026, 11, 20)).status == "CLOSED"
    with pytest.raises(FailedPrecondition):
        closed.close(date(2026, 11, 26))
    with pytest.raises(FailedPrecondition):
        closed.cancel()


def test_a_key_is_refused_once_revoked_or_expired() -> None:
    key = domain.ApiKey(id=1, partner_id=2, firm_id=3, prefix="hubpk_abc", expire_at=NOW + timedelta(days=1))
    assert key.refusal(NOW) is None
    assert key.refusal(NOW + timedelta(days=1)) == "the API key has expired"
    revoked = key.revoke(NOW)
    assert revoked.refusal(NOW) == "the API key was revoked"
    with pytest.raises(FailedPrecondition):
        revoked.revoke(NOW)
    assert domain.key_expiry(None, NOW) == NOW + timedelta(days=90)
    for bad in (NOW - timedelta(seconds=1), NOW + timedelta(days=367)):
        with pytest.raises(InvalidArgument, match=r"api_key\.expire_time"):
            domain.key_expiry(bad, NOW)


# The runtime's pieces for the partner listener


def test_token_buckets_allow_a_burst_then_the_rate() -> None:
    clock = [0.0]
    buckets = TokenBuckets(rate=2.0, burst=3, clock=lambda: clock[0])
    assert [buckets.take("k") for _ in range(3)] == [0.0, 0.0, 0.0]
    assert buckets.take("k") == pytest.approx(0.5)
    assert buckets.take("other") == 0.0  # per key
    clock[0] = 0.5
    assert buckets.take("k") == 0.0
    clock[0] = 100.0  # refills up to the burst, not beyond
    assert [buckets.take("k") for _ in range(4)][-1] > 0


def test_token_buckets_forget_the_full_ones_when_there_are_many() -> None:
    clock = [0.0]
    buckets = TokenBuckets(rate=1.0, burst=2, clock=lambda: clock[0])
    buckets.MAX_KEYS = 3
    for peer in ("a", "b", "c", "d"):
        buckets.take(peer)
    clock[0] = 10.0  # every bucket has filled up again: forgetting them changes nothing
    buckets.take("e")
    assert list(buckets._buckets) == ["e"]


def test_peer_address_drops_the_port() -> None:
    assert peer_address("ipv4:10.0.0.7:51234") == "10.0.0.7"
    assert peer_address("ipv6:[::1]:5000") == "::1"
    assert peer_address("unix:/tmp/s") == "unix:/tmp/s"


def test_loopback_hosts() -> None:
    assert is_loopback("127.0.0.1") and is_loopback("localhost") and is_loopback("::1") and is_loopback("[::1]")
    assert not is_loopback("0.0.0.0") and not is_loopback("10.0.0.5") and not is_loopback("example.com")
