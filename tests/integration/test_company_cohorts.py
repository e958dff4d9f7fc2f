"""ListCompanies' cohort filter: the companies selected in a selection round (cohort=rounds/N), not those waitlisted,
rejected or only applying, nor those selected in another round; with the other terms and in pages; a bad round
name is INVALID_ARGUMENT on filter. On SQLite and PostgreSQL."""

from __future__ import annotations

import grpc
from hub.companies.v1 import companies_pb2 as cpb
from hub.companies.v1 import program_pb2 as pb

from tests.conftest import ADMIN, Running
from tests.integration.test_program_api import apply, bad_fields, company, new_round, refused, stub


async def decide(c: Running, application: str, state: pb.ApplicationState.ValueType) -> None:
    asked = pb.DecideApplicationRequest(name=application, decision=state, reason="심사 결과")
    await stub(c).DecideApplication(asked, metadata=ADMIN)


async def listed(c: Running, text: str, size: int = 0, token: str = "") -> cpb.ListCompaniesResponse:
    asked = cpb.ListCompaniesRequest(filter=text, order_by="korean_name", page_size=size, page_token=token)
    return await c.companies.ListCompanies(asked, metadata=ADMIN)


async def test_a_cohort_is_the_companies_selected_in_its_round(companies: Running) -> None:
    c = companies
    spring, autumn = (
        await new_round(c, desks=4, title="2026 봄 모집"),
        await new_round(c, desks=4, title="2026 가을 모집"),
    )
    names = ["닥터노트", "메디비전", "에듀마인드", "코딩하랑", "비전검사"]
    firms = {n: await company(c, n) for n in names}
    apps = {n: await apply(c, spring.name, firms[n]) for n in names[:4]}
    await decide(c, apps["닥터노트"].name, pb.APPLICATION_STATE_SELECTED)
    await decide(c, apps["메디비전"].name, pb.APPLICATION_STATE_SELECTED)
    await decide(c, apps["에듀마인드"].name, pb.APPLICATION_STATE_WAITLISTED)  # applied, not in the cohort
    later = await apply(c, autumn.name, firms["비전검사"])
    await decide(c, later.name, pb.APPLICATION_STATE_SELECTED)

    found = await listed(c, f"cohort={spring.name}")
    assert [x.korean_name for x in found.companies] == ["닥터노트", "메디비전"]
    both = await listed(c, f"cohort={spring.name} AND cohort={autumn.name}")  # a repeated field is either
    assert [x.korean_name for x in both.companies] == ["닥터노트", "메디비전", "비전검사"]
    untagged = await listed(c, f"cohort={spring.name} AND tag=none")
    assert list(untagged.companies) == []
    first = await listed(c, f"cohort={spring.name}", size=1)
    rest = await listed(c, f"cohort={spring.name}", size=1, token=first.next_page_token)
    assert [x.korean_name for x in [*first.companies, *rest.companies]] == ["닥터노트", "메디비전"]
    assert list((await listed(c, "cohort=rounds/99")).companies) == []
    for bad in ("cohort=companies/1", "cohort=rounds/x", "cohort=3"):
        status = await refused(listed(c, bad), grpc.StatusCode.INVALID_ARGUMENT)
        assert bad_fields(status) == ["filter"], bad
