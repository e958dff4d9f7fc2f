"""The playbooks' pure rules: when a condition holds, episodes in a replay of history, the checks of a rule's
definition, and the deterministic request ids."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest

from hubcore import errors
from services.playbooks import domain
from services.playbooks.domain import Action, Fact, Playbook, Trigger

T0 = datetime(2026, 9, 1, tzinfo=UTC)
RUNWAY = Trigger(domain.KPI_THRESHOLD, metric="runway_months", comparison=domain.BELOW, threshold=6)


def report(company: str, days: int, runway: float | None, n: int = 0) -> Fact:
    values: dict[str, Any] = {"headcount": 5} | ({"runway_months": runway} if runway is not None else {})
    return Fact(domain.KPI_REPORT, f"kpiReports/{n or days}", company, T0 + timedelta(days=days), values, f"e{n}{days}")


def test_a_threshold_fires_once_per_episode_and_again_only_after_it_cleared() -> None:
    history = [
        report("companies/1", 0, 8.0), report("companies/1", 10, 4.0), report("companies/1", 20, 3.0),
        report("companies/1", 30, None),  # no runway in this report: the condition stays as it was
        report("companies/1", 40, 9.0), report("companies/1", 50, 2.5), report("companies/2", 5, 12.0),
    ]  # fmt: skip
    fired = domain.replay(RUNWAY, history, T0 - timedelta(days=1), T0 + timedelta(days=60))
    assert [(w.subject, w.episode, w.at) for w in fired] == [
        ("companies/1", 1, T0 + timedelta(days=10)),
        ("companies/1", 2, T0 + timedelta(days=50)),
    ]
    assert fired[0].facts[0].values["runway_months"] == 4.0
    # a window that starts while it holds fires at its start; facts after the window's end are not read
    late = domain.replay(RUNWAY, history, T0 + timedelta(days=15), T0 + timedelta(days=45))
    assert [(w.episode, w.at) for w in late] == [(1, T0 + timedelta(days=15))]


def test_no_session_counts_from_residency_and_from_the_last_session() -> None:
    trigger = Trigger(domain.NO_SESSION, days=60)
    resident = Fact(domain.COMPANY_FACT, "companies/1", "companies/1", T0, {"status": "RESIDENT", "became": True})
    session = Fact(domain.SESSION, "sessions/1", "companies/1", T0 + timedelta(days=30),
                   {"state": "SCHEDULED", "start": (T0 + timedelta(days=40)).isoformat()})  # fmt: skip
    assert domain.holds(trigger, [resident], T0 + timedelta(days=59))[0] is False
    assert domain.holds(trigger, [resident], T0 + timedelta(days=60))[0] is True
    assert domain.holds(trigger, [resident, session], T0 + timedelta(days=99))[0] is False
    assert domain.holds(trigger, [resident, session], T0 + timedelta(days=100))[0] is True
    fired = domain.replay(trigger, [resident, session], T0, T0 + timedelta(days=120))
    assert [w.at for w in fired] == [T0 + timedelta(days=100)]


def test_an_introduction_waits_for_the_partner_and_a_request_is_overdue_after_its_days() -> None:
    intro = Trigger(domain.INTRODUCTION_UNANSWERED, days=14)
    consented = Fact(domain.INTRODUCTION, "introductions/1", "companies/1", T0, {"state": "COMPANY_CONSENTED"})
    answered = Fact(domain.INTRODUCTION, "introductions/1", "companies/1", T0 + timedelta(days=20),
                    {"state": "PARTNER_ACCEPTED"})  # fmt: skip
    assert domain.holds(intro, [consented], T0 + timedelta(days=14))[0] is True
    assert domain.holds(intro, [consented, answered], T0 + timedelta(days=21))[0] is False
    overdue = Trigger(domain.KPI_REQUEST_OVERDUE, days=7)
    opened = Fact(domain.KPI_REQUEST, "kpiRequests/1", "companies/1", T0, {"state": "OPEN", "due_date": "2026-09-10"})
    assert domain.overdue_from(date(2026, 9, 10), 7).isoformat() == "2026-09-18T00:00:00+09:00"
    assert domain.holds(overdue, [opened], datetime(2026, 9, 17, 14, 59, tzinfo=UTC))[0] is False
    assert domain.holds(overdue, [opened], datetime(2026, 9, 17, 15, 0, tzinfo=UTC))[0] is True


def test_a_low_rating_or_not_a_fit() -> None:
    trigger = Trigger(domain.SESSION_RATED_LOW, max_rating=1, not_a_fit=True)

    def feedback(rating: int, fit: str) -> list[Fact]:
        return [Fact(domain.FEEDBACK, "sessions/1", "companies/1", T0, {"rating": rating, "fit": fit})]

    assert domain.holds(trigger, feedback(1, "GOOD_FIT"), T0)[0] is True
    assert domain.holds(trigger, feedback(3, "NOT_A_FIT"), T0)[0] is True
    assert domain.holds(trigger, feedback(2, "STILL_DECIDING"), T0)[0] is False


@pytest.mark.parametrize(
    ("trigger", "actions", "field"),
    [
        (Trigger("SOMETHING"), (Action(domain.NOTIFY, audience=domain.COMPANY),), "playbook.trigger.kind"),
        (
            Trigger(domain.KPI_THRESHOLD, metric="mood", comparison=domain.BELOW),
            (Action(domain.NOTIFY, audience=domain.COMPANY),),
            "playbook.trigger.metric",
        ),
        (
            Trigger(domain.NO_SESSION, days=0),
            (Action(domain.NOTIFY, audience=domain.COMPANY),),
            "playbook.trigger.days",
        ),
        (RUNWAY, (), "playbook.actions"),
        (
            RUNWAY,
            (Action(domain.BOOK_CONSULTATION, expertise="growth", within_days=14),),
            "playbook.actions[0].session_type",
        ),
        (RUNWAY, (Action(domain.NOTIFY),), "playbook.actions[0].audience"),
        (RUNWAY, (Action(domain.CHASE_PARTNER),), "playbook.actions[0].kind"),
        (RUNWAY, (Action(domain.PROPOSE_INTRODUCTIONS, top=0),), "playbook.actions[0].top"),
    ],
)
def test_a_rule_that_cannot_work_names_its_field(trigger: Trigger, actions: tuple[Action, ...], field: str) -> None:
    with pytest.raises(errors.InvalidArgument) as caught:
        domain.check_playbook(Playbook(id=0, display_name="x", trigger=trigger, actions=actions))
    assert field in [name for name, _ in caught.value.violations]


def test_request_ids_are_deterministic_and_distinct_per_action_and_part() -> None:
    assert domain.request_id(7, 0) == domain.request_id(7, 0)
    ids = {
        domain.request_id(7, 0),
        domain.request_id(7, 1),
        domain.request_id(8, 0),
        domain.request_id(7, 1, "firms/2"),
    }
    assert len(ids) == 4 and all(len(i) <= 64 for i in ids)
