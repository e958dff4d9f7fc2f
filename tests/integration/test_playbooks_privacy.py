"""The playbooks service's personal data: an export names what it holds about a company (its facts, the firings
about it), and an erased company's names leave every table of the service while its figures stay."""

from __future__ import annotations

import json

import sqlalchemy as sa
from hub.companies.v1 import companies_pb2 as cpb

from hubcore.privacy import ERASED
from services.playbooks.tables import facts
from tests.conftest import ADMIN, Running, RunningPlaybooks, eventually
from tests.integration.test_privacy import export, scan, text_of

COMPANY_KO = "쀏뛞메디"


async def test_export_names_the_company_facts_and_erasure_leaves_no_name(
    companies: Running, playbooks: RunningPlaybooks
) -> None:
    made = await companies.companies.CreateCompany(
        cpb.CreateCompanyRequest(company=cpb.Company(korean_name=COMPANY_KO, sector=cpb.SECTOR_MEDICAL)),
        metadata=ADMIN,
    )

    async def known() -> bool:
        return bool(await scan(playbooks.runtime.db, [COMPANY_KO]))

    await eventually(known, timeout=20)
    exported = await export(playbooks.channel, made.name)
    assert {r.table for r in exported.records} >= {"facts"} and COMPANY_KO in text_of(exported)
    assert not (await export(playbooks.channel, "companies/999")).records

    erase = cpb.EraseCompanyRequest(name=made.name, reason="정보주체 삭제 요청 2026-077", request_id="erase-pb")
    await companies.companies.EraseCompany(erase, metadata=ADMIN)

    async def clean() -> bool:
        return not await scan(playbooks.runtime.db, [COMPANY_KO])

    await eventually(clean, timeout=20)
    async with playbooks.runtime.db.read() as conn:
        kept = (await conn.execute(sa.select(facts.c.data).where(facts.c.company == made.name))).scalars().all()
    # The facts stay (the hub's figures), their name erased.
    assert kept and any(json.loads(data).get("korean_name") == ERASED for data in kept)
