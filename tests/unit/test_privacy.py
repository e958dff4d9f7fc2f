"""The erasure helpers every service shares: finding an erased person in free text by the event's digests,
replacing values, and scrubbing or blanking fields of event payloads (no I/O)."""

from __future__ import annotations

from google.protobuf import any_pb2
from hub.events.v1 import companies_pb2 as ev
from hub.events.v1 import consulting_pb2 as consulting_ev
from hub.events.v1 import envelope_pb2

from hubcore.privacy import (
    ERASED,
    blank_fields,
    contact_digest,
    distinct_values,
    find_by_digest,
    mentions,
    replace_values,
    scrub_json,
    scrub_message,
    subject_name,
)


def test_a_person_is_found_in_free_text_by_digest_only() -> None:
    salt = "5a1t"
    digests = {contact_digest(salt, v) for v in ("김서연", "Seoyeon Kim", "kim@medi.kr", "+821012345678")}
    text = "김서연님(kim@medi.kr, +82 10-1234-5678)과 Seoyeon Kim 대표 미팅; 김서영은 다른 사람"
    assert set(find_by_digest(text, salt, digests)) == {"김서연", "kim@medi.kr", "+821012345678", "Seoyeon Kim"}
    assert find_by_digest(text, "other-salt", digests) == []
    assert find_by_digest("", salt, digests) == []


def test_values_are_replaced_whatever_their_case_longest_first() -> None:
    values = distinct_values("Kim", "kim@medi.kr", "", "x", " 김서연 ")
    assert values == ["kim@medi.kr", "Kim", "김서연"]
    assert replace_values("KIM@medi.kr 김서연 kim", values) == f"{ERASED} {ERASED} {ERASED}"
    assert (
        scrub_json('{"to": ["김서연"], "김서연": 1, "n": 2}', values)
        == f'{{"to": ["{ERASED}"], "{ERASED}": 1, "n": 2}}'
    )


def test_scrub_message_reaches_nested_repeated_and_any_fields() -> None:
    person = ev.PersonSnapshot(name="people/7", korean_name="김서연", email="kim@medi.kr", company="companies/3")
    packed = any_pb2.Any()
    packed.Pack(ev.PersonRegistered(person=person))
    envelope = envelope_pb2.Envelope(id="e1", subject_id="people/7", payload=packed, trace_context={"k": "김서연"})
    assert scrub_message(envelope, ["김서연", "kim@medi.kr"])
    inner = ev.PersonRegistered()
    envelope.payload.Unpack(inner)
    assert (inner.person.korean_name, inner.person.email, inner.person.name) == (ERASED, ERASED, "people/7")
    assert envelope.trace_context["k"] == ERASED
    assert not scrub_message(envelope, ["없는 이름"])


def test_blank_fields_and_mentions() -> None:
    session = consulting_ev.SessionSnapshot(name="sessions/4", company="companies/3", agenda="메디비전 김서연 대표")
    completed = consulting_ev.SessionCompleted(session=session, notes="GPU", action_items=["actionItems/1"])
    assert mentions(completed, ["companies/3"]) and not mentions(completed, ["companies/30"])
    assert mentions(ev.KpiReported(report="companies/3/kpi/2026-Q1"), ["companies/3"])
    assert blank_fields(completed, ["agenda", "notes"])
    assert (completed.session.agenda, completed.notes, completed.session.company) == ("", "", "companies/3")


def test_subject_names() -> None:
    assert subject_name("people/007") == "people/7" and subject_name("companies/3") == "companies/3"
    for wrong in ("firms/1", "people/", "people/-1", "companies/1/kpi", ""):
        try:
            subject_name(wrong)
        except Exception as exc:
            assert "must be" in str(exc), wrong
        else:
            raise AssertionError(wrong)
