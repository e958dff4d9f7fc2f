"""Webhooks' rules without I/O: who hears an event, endpoints, event types, back-off and the retry window,
rotation, and the signature header with one or two secrets (hubcore.signing)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from hubcore import signing
from hubcore.errors import InvalidArgument
from services.investors.domain import introductions as intros
from services.investors.domain import webhooks as hooks

AT = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)


def event(type_: str = hooks.ROUND_REPORTED, company: int = 7, firms: set[int] | None = None) -> hooks.WebhookEvent:
    return hooks.WebhookEvent(type_, "e-1", AT, None, company, frozenset(firms or set()))


def subscription(**fields: object) -> hooks.Subscription:
    values: dict[str, object] = {
        "id": 1,
        "firm_id": None,
        "url": "https://x.example/h",
        "event_types": hooks.EVENT_TYPES,
    }
    return hooks.Subscription(**(values | fields))  # type: ignore[arg-type]


def test_a_firm_hears_only_events_that_concern_it_and_the_hub_hears_all() -> None:
    firm_a, hub = subscription(firm_id=1), subscription()
    assert firm_a.hears(event(firms={1, 2})) and not firm_a.hears(event(firms={2})) and not firm_a.hears(event())
    assert hub.hears(event(firms={2})) and hub.hears(event())
    assert not subscription(state=hooks.PAUSED).hears(event())
    assert not subscription(event_types=(hooks.ROUND_CLOSED,)).hears(event())
    assert subscription(companies=(7,)).hears(event()) and not subscription(companies=(8,)).hears(event())
    assert subscription(firms=(2,)).hears(event(firms={2})) and not subscription(firms=(3,)).hears(event(firms={2}))


def test_a_firm_is_told_of_an_introduction_once_consented_or_when_it_asked() -> None:
    proposed = intros.new_introduction(
        company_id=7, firm_id=1, note="소개", partner_id=None, shared=(), actor="admin:x", at=AT
    )
    assert hooks.firms_told_of(proposed) == frozenset()
    consented, _ = proposed.transition(intros.COMPANY_CONSENTED, role="admin", actor="admin:x", reason="r", at=AT)
    assert hooks.firms_told_of(consented) == {1}
    asked = intros.new_introduction(
        company_id=7, firm_id=1, note="소개", partner_id=None, shared=(), actor="partner:apiKeys/3", at=AT
    )
    assert hooks.firms_told_of(asked) == {1}


@pytest.mark.parametrize(
    ("url", "allowed", "ok"),
    [
        ("https://hooks.fund.kr/hub", False, True),
        ("http://hooks.fund.kr/hub", True, False),
        ("http://127.0.0.1:8080/hook", False, False),
        ("http://127.0.0.1:8080/hook", True, True),
        ("https://user:pw@hooks.fund.kr/", False, False),
        ("ftp://hooks.fund.kr/", False, False),
        ("https:///nohost", False, False),
    ],
)
def test_endpoints(url: str, allowed: bool, ok: bool) -> None:
    assert (hooks.endpoint_problem(url, allow_http_loopback=allowed) is None) is ok


def test_event_types_are_known_and_at_least_one() -> None:
    assert hooks.event_types(["round.reported", "introduction.proposed"], "f") == (
        "introduction.proposed", "round.reported",
    )  # fmt: skip
    for bad in (["deal.won"], [], [hooks.TEST]):
        with pytest.raises(InvalidArgument) as caught:
            hooks.event_types(bad, "f")
        assert caught.value.violations[0][0] == "f"


def test_back_off_doubles_with_jitter_within_its_bounds_and_stops_at_the_window() -> None:
    assert hooks.backoff(0, 1, 3600, lambda: 1.0) == 1
    assert hooks.backoff(100, 1, 3600, lambda: 0.0) == 50
    assert hooks.backoff(10**6, 1, 3600, lambda: 1.0) == 3600
    delivery = hooks.Delivery(1, "d", 1, "t", "e", AT, "{}", retry_from=AT)
    day = timedelta(hours=24)
    assert hooks.after_failure(delivery, AT + timedelta(hours=1), 60, day) == (
        hooks.PENDING, AT + timedelta(hours=1, seconds=60),
    )  # fmt: skip
    assert hooks.after_failure(delivery, AT + timedelta(hours=23, minutes=59), 3600, day) == (hooks.PENDING, AT + day)
    assert hooks.after_failure(delivery, AT + day, 1, day) == (hooks.FAILED, None)


def test_rotation_signs_with_both_secrets_during_the_overlap_only() -> None:
    s = subscription(secret="old")
    rotated = s.rotated("new", timedelta(hours=1), AT)
    assert rotated.secrets_at(AT) == ("new", "old")
    assert rotated.secrets_at(AT + timedelta(hours=1)) == ("new",)
    with pytest.raises(InvalidArgument):
        s.rotated("new", timedelta(days=8), AT)
    body, stamp = b'{"id":"x"}', "1796100000"
    headers = {
        signing.TIMESTAMP_HEADER: stamp,
        signing.SIGNATURE_HEADER: signing.signatures(rotated.secrets_at(AT), stamp, body),
    }
    assert signing.verify("new", headers, body, now=1796100001) and signing.verify("old", headers, body, now=1796100001)
    assert not signing.verify("other", headers, body, now=1796100001)
    assert not signing.verify("new", headers, body + b" ", now=1796100001)
    assert not signing.verify("new", headers, body, now=1796100000 + signing.SIGNATURE_TOLERANCE + 1)
