"""hubctl identities against the real companies service: a program manager invites a founder and a mentor,
lists them, reads the sign-in log and ends an identity, in Korean first."""

from __future__ import annotations

import json

import grpc
import pytest
from hub.ops.v1 import identities_pb2 as ipb
from hub.ops.v1 import identities_pb2_grpc

from tests.conftest import Running
from tests.e2e.test_hubctl import hubctl


async def test_invite_list_log_and_end_identities(companies: Running) -> None:
    assert (await hubctl(companies, "companies", "add", "--ko", "메디비전", "--sector", "medical")).exit_code == 0
    person = await hubctl(
        companies, "people", "add", "--ko", "김서연", "--role", "founder", "--company", "1", "--email", "kim@medi.kr"
    )
    assert person.exit_code == 0, person.output

    invited = await hubctl(companies, "identities", "invite", "--person", "1")
    assert invited.exit_code == 0, invited.output
    assert "초대함 (invited) identities/1: 김서연 <kim@medi.kr>" in invited.stdout and "companies/1" in invited.stdout
    mentor = await hubctl(
        companies, "identities", "invite", "--mentor", "3", "--email", "park@kaist.ac.kr", "--name", "박교수"
    )
    assert mentor.exit_code == 0 and "identities/2" in mentor.stdout, mentor.output
    unclear = await hubctl(companies, "identities", "invite", "--mentor", "4")
    assert unclear.exit_code == 2 and "--email" in unclear.output
    twice = await hubctl(companies, "identities", "invite", "--person", "1")
    assert twice.exit_code != 0 and "already" in twice.output

    listed = await hubctl(companies, "identities", "list")
    assert (
        listed.exit_code == 0 and "김서연" in listed.stdout and "박교수" in listed.stdout and "창업자" in listed.stdout
    )
    founders = json.loads((await hubctl(companies, "--json", "identities", "list", "--company", "1")).stdout)
    assert [f["email"] for f in founders] == ["kim@medi.kr"]

    # A wrong code from somebody, then the log shows it beside the invitation's code.
    stub = identities_pb2_grpc.IdentityServiceStub(companies.channel)
    with pytest.raises(grpc.aio.AioRpcError) as wrong:
        await stub.SignIn(ipb.SignInRequest(email="kim@medi.kr", code="000000"))
    assert wrong.value.code() == grpc.StatusCode.UNAUTHENTICATED
    log = await hubctl(companies, "identities", "log", "--email", "kim@medi.kr")
    assert log.exit_code == 0 and "코드 발송" in log.stdout, log.output
    outcomes = [e["outcome"] for e in json.loads((await hubctl(companies, "--json", "identities", "log")).stdout)]
    assert outcomes == ["WRONG_CODE", "CODE_SENT", "CODE_SENT"]  # newest first: the mentor's code, the founder's

    ended = await hubctl(companies, "identities", "end", "1", "--reason", "퇴사")
    assert ended.exit_code == 0 and "종료함 (ended) identities/1" in ended.stdout, ended.output
    still = json.loads((await hubctl(companies, "--json", "identities", "list")).stdout)
    assert [i["name"] for i in still] == ["identities/2"]
    every = json.loads((await hubctl(companies, "--json", "identities", "list", "--ended")).stdout)
    assert [(i["name"], i["state"]) for i in every] == [
        ("identities/1", "IDENTITY_STATE_REVOKED"),
        ("identities/2", "IDENTITY_STATE_ACTIVE"),
    ]
