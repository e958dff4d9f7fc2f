"""CompanyService's input rules and roles, declared once; the runtime's interceptor enforces both before a
method runs. The rules of a company's and a person's fields, and of the writes that carry them, are in
hubcore.directory (the domain checks entities with them, an import's preview rows), so that a field has one
place."""

from __future__ import annotations

from hub.companies.v1 import companies_pb2 as pb

from hubcore.directory import REQUEST_ID, WRITES
from hubcore.months import MAX_MONTHS
from hubcore.requests import Rules, at_most, length, required
from hubcore.server import ADMIN, FOUNDER, Bound, also_for_services

ERASURE = Rules({"name": [required], "reason": [required, length(1, 500)], "request_id": REQUEST_ID})

RULES: dict[type, Rules] = {
    **WRITES,  # the writes' rules, which an import's preview applies too
    pb.GetCompanyRequest: Rules({"name": [required]}),
    pb.DeleteCompanyRequest: Rules({"name": [required]}),
    pb.ChangeCompanyStatusRequest: Rules({"name": [required], "status": [required], "reason": [length(0, 500)]}),
    pb.CloseCompanyRequest: Rules({"name": [required], "reason": [length(0, 500)]}),
    pb.ListCompaniesRequest: Rules({"query": [length(0, 100)], "filter": [length(0, 500)]}),
    pb.GetPersonRequest: Rules({"name": [required]}),
    pb.DeletePersonRequest: Rules({"name": [required]}),
    pb.ListPeopleRequest: Rules({"query": [length(0, 100)], "filter": [length(0, 500)]}),
    pb.ErasePersonRequest: ERASURE,
    pb.EraseCompanyRequest: ERASURE,
    pb.GetCompanyStatsRequest: Rules({"months": [at_most(MAX_MONTHS)]}),
    pb.CreateSavedViewRequest: Rules(
        {
            "saved_view.list": [required],
            "saved_view.title": [required, length(1, 100)],
            "saved_view.query": [length(0, 1000)],
            "request_id": REQUEST_ID,
        }
    ),
    pb.ListSavedViewsRequest: Rules({"filter": [length(0, 200)]}),
    pb.DeleteSavedViewRequest: Rules({"name": [required]}),
}
# Program managers do everything; other services may read.
ROLES = also_for_services("GetCompany", "ListCompanies", "GetCompanyStats", "GetPerson", "ListPeople")
# Founders read their own company: the one their token is bound to (hubcore.calls.Bound).
ROLES["GetCompany"] |= {Bound(FOUNDER, "name")}
# Founders read their company's people: people/N is not under the scope, so the use cases keep them to their own.
ROLES["GetPerson"] |= {FOUNDER}
ROLES["ListPeople"] |= {FOUNDER}
DEFAULT_ROLES = frozenset({ADMIN})
