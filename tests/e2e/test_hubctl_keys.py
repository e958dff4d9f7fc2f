"""hubctl investors keys against the real investors service, Korean first: a key made with scopes, shown once;
the partner API honours its scopes; a rotation prints the new secret and when the old one stops; list shows
scopes, expiry and the rotation; a bad scope or overlap is refused naming it."""

from __future__ import annotations

import json

import grpc
import pytest
from hub.investors.v1 import investors_pb2 as pb
from hub.investors.v1 import partner_keys_pb2 as kpb
from hub.investors.v1 import partner_pb2 as ppb
from typer.testing import Result

from tests.conftest import ADMIN, RunningInvestors
from tests.e2e.test_hubctl import hubctl
from tests.integration.test_partner_api import bearer


def secret_of(result: Result) -> str:
    return result.stdout.split("shown once): ", 1)[1].split()[0]


async def test_create_rotate_list_keys_with_scopes(investors: RunningInvestors) -> None:
    firm = await investors.investors.CreateFirm(
        pb.CreateFirmRequest(firm=pb.Firm(korean_name="한빛벤처스", type=pb.FIRM_TYPE_VC)), metadata=ADMIN
    )
    await investors.investors.CreatePartner(
        pb.CreatePartnerRequest(partner=pb.Partner(firm=firm.name, korean_name="정우성")), metadata=ADMIN
    )
    env = {"HUB_INVESTORS_ADDRESS": investors.address}

    async def run(*args: str) -> Result:
        return await hubctl(None, *args, env=env)

    made = await run(
        "investors", "keys", "create", "--partner", "1", "--scope", "introductions:read", "--scope", "rounds:write",
        "--expires", "30d", "--description", "딜 플로 스크립트",
    )  # fmt: skip
    assert made.exit_code == 0 and "만듦 (created) apiKeys/1" in made.stdout, made.output
    assert "권한 introductions:read rounds:write" in made.stdout
    first = secret_of(made)
    listing = ppb.PartnerServiceListIntroductionsRequest()
    await investors.partner.ListIntroductions(listing, metadata=bearer(first))
    with pytest.raises(grpc.aio.AioRpcError) as caught:  # read-only on introductions
        await investors.partner.RespondToIntroduction(
            ppb.RespondToIntroductionRequest(name="introductions/1", accept=True), metadata=bearer(first)
        )
    assert caught.value.code() == grpc.StatusCode.PERMISSION_DENIED

    rotated = await run("investors", "keys", "rotate", "1", "--overlap", "2h")
    assert rotated.exit_code == 0 and "교체함 (rotated) apiKeys/1" in rotated.stdout, rotated.output
    second = secret_of(rotated)
    assert second != first
    for secret in (first, second):  # both work during the overlap
        mine = await investors.partner.GetMyApiKey(kpb.GetMyApiKeyRequest(), metadata=bearer(secret))
        assert mine.name == "apiKeys/1"

    listed = json.loads((await run("--json", "investors", "keys", "list")).stdout)
    assert [(k["name"], k["scopes"]) for k in listed] == [("apiKeys/1", ["introductions:read", "rounds:write"])]
    assert listed[0]["rotate_time"] and listed[0]["previous_secret_expire_time"] and listed[0]["expire_time"]
    table = await run("investors", "keys", "list")
    assert "권한 scopes" in table.stdout and "introductions:read" in table.stdout, table.output

    bad = await run("investors", "keys", "create", "--partner", "1", "--scope", "deals:read")
    assert bad.exit_code == 3 and "api_key.scopes[0]" in bad.output, bad.output
    again = await run("investors", "keys", "rotate", "1")
    assert again.exit_code == 5 and "previous secret works until" in again.output, again.output
    wrong = await run("investors", "keys", "rotate", "1", "--overlap", "soon")
    assert wrong.exit_code == 3 and "--overlap" in wrong.output
    revoked = await run("investors", "keys", "revoke", "1")
    assert revoked.exit_code == 0 and "폐기함 (revoked) apiKeys/1" in revoked.stdout
