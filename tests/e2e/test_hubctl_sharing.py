"""hubctl sharing against the real investors service, Korean first: a program manager records a company's
consent on its behalf (only with a reason), then lists the company's grants and its access log after a
partner's reads."""

from __future__ import annotations

import asyncio
import json

from hub.investors.v1 import investors_pb2 as pb
from hub.investors.v1 import partner_pb2 as ppb
from typer.testing import Result

from hubctl.cli import app
from tests.conftest import ADMIN, ADMIN_TOKEN, RunningInvestors
from tests.e2e.test_hubctl import runner
from tests.integration.test_investors_api import add_company, create_firm, introduce
from tests.integration.test_partner_api import bearer, issue_key


async def test_consent_on_behalf_then_grants_and_access_log(investors: RunningInvestors) -> None:
    async def run(*args: str) -> Result:
        env = {"HUB_INVESTORS_ADDRESS": investors.address, "HUB_TOKEN": ADMIN_TOKEN, "HUB_DATA_DIR": "/nonexistent"}
        return await asyncio.to_thread(runner.invoke, app, ["--config", "/nonexistent/c.toml", *args], env=env)

    await add_company(investors, 7, korean_name="메디비전", website="https://medi.kr")
    firm = await create_firm(investors)
    partner = await investors.investors.CreatePartner(
        pb.CreatePartnerRequest(partner=pb.Partner(firm=firm.name, korean_name="정우성")), metadata=ADMIN
    )
    _, key = await issue_key(investors, partner.name)
    intro = await introduce(investors, "companies/7", firm.name)

    no_reason = await run("sharing", "consent", "1")
    assert no_reason.exit_code == 2, no_reason.output  # --reason is required
    blank = await run("sharing", "consent", "1", "--reason", " ")
    assert blank.exit_code == 3 and "reason" in blank.output, blank.output  # the service says why
    consented = await run("sharing", "consent", "1", "--reason", "대표가 전화로 동의")
    assert consented.exit_code == 0, consented.output
    assert "동의 기록함 (consent recorded) introductions/1" in consented.stdout and "companies/7" in consented.stdout
    shown = json.loads((await run("--json", "intros", "show", "1")).stdout)
    assert shown["history"][-1]["on_behalf_of"] == "companies/7" and shown["history"][-1]["actor"].startswith("admin:")
    assert (await run("sharing", "decline", "1", "--reason", "늦은 거절")).exit_code == 5  # already answered

    grants = await run("sharing", "grants", "7")
    assert grants.exit_code == 0 and "이름 names, 프로필 profile" in grants.stdout, grants.output
    [grant] = json.loads((await run("--json", "sharing", "grants", "companies/7")).stdout)
    assert grant["firm"] == firm.name and grant["introduction"] == intro.name

    got = await investors.partner.GetIntroduction(
        ppb.PartnerServiceGetIntroductionRequest(name=intro.name), metadata=bearer(key)
    )
    assert got.company.korean_name == "메디비전" and got.company.website == ""  # website is not shared
    log = await run("sharing", "log", "7")
    assert log.exit_code == 0 and "열람 기록 access log (1)" in log.stdout and "GetIntroduction" in log.stdout, (
        log.output
    )
    [read] = json.loads((await run("--json", "sharing", "log", "7", "--firm", "1")).stdout)
    assert read["partner"] == partner.name and read["introductions"] == [intro.name]
    assert json.loads((await run("--json", "sharing", "log", "7", "--firm", "2")).stdout) == []
