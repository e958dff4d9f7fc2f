"""BatchCreateRegistrations on SQLite and PostgreSQL: each request its own outcome (a bad one refuses itself
alone), the program's capacity and unknown companies per request, validate_only writes nothing (not even its
request ids), a request id reused for another request is refused, a single CreateRegistration and a batch
item with one request id are one registration, and two imports of the same people at once register each once."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa
from hub.consulting.v1 import consulting_pb2 as pb

from hubcore.convert import interval_message
from hubcore.db import idempotency_keys
from tests.conftest import ADMIN, RunningConsulting
from tests.integration.consulting_world import know_company

Result = pb.RegistrationOutcome


async def program(c: RunningConsulting, capacity: int = 0) -> str:
    start = datetime.now(UTC) + timedelta(days=2)
    made = await c.consulting.CreateProgram(
        pb.CreateProgramRequest(program=pb.Program(display_name="창업 살롱", kind=pb.PROGRAM_KIND_SALON,
                                                   capacity=capacity,
                                                   interval=interval_message(start, start + timedelta(hours=2)))),
        metadata=ADMIN,
    )  # fmt: skip
    return made.name


def item(name: str, email: str = "", phone: str = "", company: str = "", key: str = "") -> pb.CreateRegistrationRequest:
    registration = pb.Registration(participant_name=name, email=email, phone=phone, company=company)
    return pb.CreateRegistrationRequest(registration=registration, request_id=key)


async def batch(c: RunningConsulting, parent: str, *items: pb.CreateRegistrationRequest, dry: bool = False
                ) -> list[pb.RegistrationOutcome]:  # fmt: skip
    asked = pb.BatchCreateRegistrationsRequest(parent=parent, requests=items, validate_only=dry)
    return list((await c.consulting.BatchCreateRegistrations(asked, metadata=ADMIN)).outcomes)


async def names(c: RunningConsulting, parent: str) -> list[str]:
    asked = pb.ListRegistrationsRequest(program=parent, page_size=500)
    return [r.participant_name for r in (await c.consulting.ListRegistrations(asked, metadata=ADMIN)).registrations]


async def keys(c: RunningConsulting) -> int:
    async with c.runtime.db.read() as conn:
        return int((await conn.execute(sa.select(sa.func.count()).select_from(idempotency_keys))).scalar_one())


async def test_outcomes_per_request(consulting: RunningConsulting) -> None:
    c = consulting
    await know_company(c, 1, "메디비전")
    parent = await program(c, capacity=3)
    asked = [
        item("김서연", "seoyeon@medivision.kr", company="companies/1", key="r1"),
        item("김 서연", "", "+82 10 1234 5678", key="r2"),  # another person: no email, no phone matched yet
        item("홍길동", "not-an-email", key="r3"),
        item("이준호", company="companies/9", key="r4"),  # not in the directory
        item("SeoYeon", "SEOYEON@medivision.kr", key="r5"),  # line 1's person
        item("박지민", "jimin@nuri.kr", key="r6"),
        item("최유나", "yuna@nuri.kr", key="r7"),  # a fourth place of three
    ]
    dry = await batch(c, parent, *asked, dry=True)
    assert [o.result for o in dry] == [Result.RESULT_CREATED, Result.RESULT_CREATED, Result.RESULT_REJECTED,
                                       Result.RESULT_REJECTED, Result.RESULT_SAME_PERSON, Result.RESULT_CREATED,
                                       Result.RESULT_REJECTED]  # fmt: skip
    assert (dry[2].field, dry[3].field) == ("registration.email", "registration.company")
    assert "full" in dry[6].reason and dry[4].same_as_request == 1 and "email" in dry[4].reason
    assert not dry[0].registration.name  # nothing was made
    assert await names(c, parent) == [] and await keys(c) == 0

    done = await batch(c, parent, *asked)
    assert [o.result for o in done] == [o.result for o in dry]
    assert await names(c, parent) == ["김서연", "김 서연", "박지민"]
    again = await batch(c, parent, *asked)
    assert [o.result for o in again][:2] == [Result.RESULT_ALREADY_DONE] * 2
    assert again[0].registration.name == done[0].registration.name
    assert again[4].result == Result.RESULT_SAME_PERSON and again[4].registration.name == done[0].registration.name
    assert await names(c, parent) == ["김서연", "김 서연", "박지민"]

    changed = await batch(c, parent, item("김서연", "other@medivision.kr", key="r1"))  # r1 for something else
    assert changed[0].result == Result.RESULT_REJECTED and changed[0].field == "request_id"
    # A single create and a batch item with one request id (the same request, program named) are one.
    parent_full = await program(c)  # parent is full by now
    jung = pb.CreateRegistrationRequest(
        registration=pb.Registration(program=parent_full, participant_name="정민수", email="minsu@medivision.kr"),
        request_id="r8",
    )
    made = await batch(c, parent_full, jung)
    single = await c.consulting.CreateRegistration(jung, metadata=ADMIN)
    assert made[0].result == Result.RESULT_CREATED and single.name == made[0].registration.name
    assert await names(c, parent_full) == ["정민수"]


async def test_suspects_and_same_people_against_those_registered(consulting: RunningConsulting) -> None:
    c = consulting
    await know_company(c, 2, "누리로봇")
    parent = await program(c)
    first = await batch(c, parent, item("박지민", "jimin@nuri.kr", company="companies/2", key="a"),
                        item("이준호", "", "010-2222-3333", key="b"))  # fmt: skip
    later = await batch(c, parent, item("박 지민", "", "", "companies/2", key="c"),
                        item("이준호", "", "01022223333", key="d"))  # fmt: skip
    assert later[0].result == Result.RESULT_CREATED  # a name and company with an email on one side: suspected
    assert [(s.registration, s.request_index) for s in later[0].suspects] == [(first[0].registration.name, 0)]
    assert later[1].result == Result.RESULT_SAME_PERSON and later[1].registration.name == first[1].registration.name
    assert later[1].same_as_request == 0


async def test_two_imports_of_the_same_people_at_once(consulting: RunningConsulting) -> None:
    """Each import holds the program: the second sees the first's people (other request ids, same emails)."""
    c = consulting
    parent = await program(c)
    people = [(f"참가자{n}", f"p{n}@hub.kr") for n in range(100)]
    one = [item(n, e, key=f"one-{e}") for n, e in people]
    two = [item(n, e.upper(), key=f"two-{e}") for n, e in people]
    results = await asyncio.gather(batch(c, parent, *one), batch(c, parent, *two))
    created = sum(o.result == Result.RESULT_CREATED for outcomes in results for o in outcomes)
    same = sum(o.result == Result.RESULT_SAME_PERSON for outcomes in results for o in outcomes)
    assert (created, same) == (100, 100)
    assert len(await names(c, parent)) == 100
    shown = await c.consulting.GetProgram(pb.GetProgramRequest(name=parent), metadata=ADMIN)
    assert shown.registered_count == 100


async def test_the_batch_itself_is_checked(consulting: RunningConsulting) -> None:
    import grpc
    import pytest

    c = consulting
    parent = await program(c)
    other = await program(c)
    wrong = pb.CreateRegistrationRequest(registration=pb.Registration(program=other, participant_name="김서연"))
    outcome = (await batch(c, parent, wrong))[0]
    assert outcome.result == Result.RESULT_REJECTED and outcome.field == "registration.program"
    with pytest.raises(grpc.aio.AioRpcError) as missing:
        await batch(c, "programs/999", item("김서연"))
    assert missing.value.code() == grpc.StatusCode.NOT_FOUND
    with pytest.raises(grpc.aio.AioRpcError) as too_many:
        await batch(c, parent, *[item(f"참가자{n}") for n in range(2001)])
    assert too_many.value.code() == grpc.StatusCode.INVALID_ARGUMENT and "requests" in str(too_many.value.details())
