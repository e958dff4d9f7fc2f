"""hubctl privacy against the real companies, consulting and investors services (notifications not running):
export writes one JSON document and names the service that did not answer; erase asks for a reason, erases
in the companies service, and the others follow from the event."""

from __future__ import annotations

import json
from pathlib import Path

from hub.companies.v1 import companies_pb2 as cpb

from hubcore.privacy import ERASED
from services.consulting import store as consulting_store
from tests.conftest import ADMIN, Running, RunningConsulting, RunningInvestors, eventually
from tests.e2e.test_hubctl import hubctl

EMAIL = "qiu.bwel@zyxcorp.example"


async def test_export_then_erase_with_hubctl(
    companies: Running, consulting: RunningConsulting, investors: RunningInvestors, tmp_path: Path
) -> None:
    company = await companies.companies.CreateCompany(
        cpb.CreateCompanyRequest(company=cpb.Company(korean_name="쀏뛞랩스", sector=cpb.SECTOR_EDUCATION)),
        metadata=ADMIN,
    )
    person = await companies.companies.CreatePerson(
        cpb.CreatePersonRequest(
            person=cpb.Person(korean_name="뿕휅영", company=company.name, role=cpb.PERSON_ROLE_FOUNDER, email=EMAIL)
        ),
        metadata=ADMIN,
    )

    async def in_directory() -> bool:
        async with consulting.runtime.db.read() as conn:
            row = await consulting_store.get_company(conn, company.name)
        return bool(row and row.korean_name == "쀏뛞랩스")

    assert await eventually(in_directory)
    env = {"HUB_CONSULTING_ADDRESS": consulting.address, "HUB_INVESTORS_ADDRESS": investors.address}

    # Export: one document; the silent services (notifications, playbooks: not started here) are named, the exit
    # code says so (7)
    path = tmp_path / "export.json"
    exported = await hubctl(companies, "privacy", "export", company.name, "-o", str(path), env=env)
    assert exported.exit_code == 7, exported.output
    document = json.loads(path.read_text(encoding="utf-8"))
    assert document["subject"] == company.name and set(document["not_answering"]) == {"notifications", "playbooks"}
    assert set(document["services"]) == {"companies", "consulting", "investors"}
    assert document["services"]["companies"]["tables"]["companies"][0]["korean_name"] == "쀏뛞랩스"
    assert document["services"]["consulting"]["tables"]["company_directory"][0]["korean_name"] == "쀏뛞랩스"
    to_stdout = await hubctl(companies, "privacy", "export", person.name, env=env)
    assert EMAIL in to_stdout.stdout and json.loads(to_stdout.stdout)["subject"] == person.name
    bad = await hubctl(companies, "privacy", "export", "firms/1", env=env)
    assert bad.exit_code == 3

    # Erase: a reason is required; then the person and the company are tombstones
    no_reason = await hubctl(companies, "privacy", "erase", person.name, "--yes", env=env)
    assert no_reason.exit_code == 2
    erased = await hubctl(companies, "privacy", "erase", person.name, "--reason", "삭제 요청 7", "--yes", env=env)
    assert erased.exit_code == 0, erased.output
    erased = await hubctl(companies, "--json", "privacy", "erase", "company/1", "--reason", "삭제 요청 8", "--yes",
                          env=env)  # fmt: skip
    assert erased.exit_code == 0 and json.loads(erased.stdout)["korean_name"] == ERASED
    after = json.loads((await hubctl(companies, "privacy", "export", person.name, env=env)).stdout)
    assert after["services"]["companies"]["erased"] is True and EMAIL not in json.dumps(after)

    async def directory_erased() -> bool:
        async with consulting.runtime.db.read() as conn:
            row = await consulting_store.get_company(conn, company.name)
        return bool(row and row.korean_name != "쀏뛞랩스")

    assert await eventually(directory_erased)
