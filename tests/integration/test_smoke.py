from hub.companies.v1 import companies_pb2 as pb

from tests.conftest import ADMIN, Running


async def test_create_and_get(companies: Running) -> None:
    made = await companies.companies.CreateCompany(
        pb.CreateCompanyRequest(company=pb.Company(korean_name="메디비전", sector=pb.SECTOR_MEDICAL)), metadata=ADMIN
    )
    got = await companies.companies.GetCompany(pb.GetCompanyRequest(name=made.name), metadata=ADMIN)
    assert got.korean_name == "메디비전"
    assert got.status == pb.COMPANY_STATUS_APPLICANT
