"""CompanyService's input rules and roles, declared once; the runtime's interceptor enforces both before a
method runs. The rules of a company's and a person's fields are the domain's (registry/domain.py), so that a
field has one place."""

from __future__ import annotations

from hub.companies.v1 import companies_pb2 as pb

from hubcore.requests import Check, Rules, length, required
from hubcore.server import ADMIN, FOUNDER, Bound, also_for_services
from services.companies.registry.domain import COMPANY_FIELDS, PERSON_FIELDS


def _under(resource: str, fields: dict[str, list[Check]]) -> dict[str, list[Check]]:
    return {f"{resource}.{name}": checks for name, checks in fields.items()}


COMPANY = _under("company", COMPANY_FIELDS)
PERSON = _under("person", PERSON_FIELDS)
COMPANY_MUTABLE = frozenset(
    {"korean_name", "english_name", "sector", "stage", "website", "tags", "founded_on", "description"}
)
PERSON_MUTABLE = frozenset({"korean_name", "english_name", "company", "role", "title", "email", "phone"})
REQUEST_ID = [length(1, 100)]
ERASURE = Rules({"name": [required], "reason": [required, length(1, 500)], "request_id": REQUEST_ID})

RULES: dict[type, Rules] = {
    pb.CreateCompanyRequest: Rules({**COMPANY, "request_id": REQUEST_ID}),
    pb.GetCompanyRequest: Rules({"name": [required]}),
    pb.UpdateCompanyRequest: Rules({"company.name": [required], **COMPANY}, "update_mask", "company", COMPANY_MUTABLE),
    pb.DeleteCompanyRequest: Rules({"name": [required]}),
    pb.ChangeCompanyStatusRequest: Rules({"name": [required], "status": [required], "reason": [length(0, 500)]}),
    pb.ListCompaniesRequest: Rules({"query": [length(0, 100)], "filter": [length(0, 500)]}),
    pb.CreatePersonRequest: Rules({**PERSON, "request_id": REQUEST_ID}),
    pb.GetPersonRequest: Rules({"name": [required]}),
    pb.UpdatePersonRequest: Rules({"person.name": [required], **PERSON}, "update_mask", "person", PERSON_MUTABLE),
    pb.DeletePersonRequest: Rules({"name": [required]}),
    pb.ListPeopleRequest: Rules({"query": [length(0, 100)], "filter": [length(0, 500)]}),
    pb.ErasePersonRequest: ERASURE,
    pb.EraseCompanyRequest: ERASURE,
}
# Program managers do everything; other services may read.
ROLES = also_for_services("GetCompany", "ListCompanies", "GetCompanyStats", "GetPerson", "ListPeople")
# Founders read their own company: the one their token is bound to (hubcore.calls.Bound).
ROLES["GetCompany"] |= {Bound(FOUNDER, "name")}
# Founders read their company's people: people/N is not under the scope, so the use cases keep them to their own.
ROLES["GetPerson"] |= {FOUNDER}
ROLES["ListPeople"] |= {FOUNDER}
DEFAULT_ROLES = frozenset({ADMIN})
