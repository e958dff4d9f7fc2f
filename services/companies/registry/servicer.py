"""CompanyService: parse the request, call one use case (usecases.py), convert the result (convert.py). The
input rules and roles are in policy.py."""

from __future__ import annotations

from functools import partial
from typing import TypeAlias

import grpc
from google.protobuf import empty_pb2
from hub.companies.v1 import companies_pb2 as pb
from hub.companies.v1 import companies_pb2_grpc

from hubcore import errors
from hubcore.convert import calendar_date, seoul_today
from hubcore.months import DEFAULT_MONTHS, last_months
from hubcore.requests import names, page_size, parse_filter, parse_name, parse_order_by, short_enum_name, short_value
from hubcore.servicing import Api, listed
from hubcore.text import clean
from services.companies.registry import convert, usecases
from services.companies.registry.convert import company_pb, person_pb, saved_view_pb

Context: TypeAlias = grpc.aio.ServicerContext


class CompanyApi(Api, companies_pb2_grpc.CompanyServiceServicer):
    # Companies

    async def CreateCompany(self, request: pb.CreateCompanyRequest, context: Context) -> pb.Company:
        fields = convert.company_fields(request.company)
        make = lambda uow: usecases.create_company(uow, fields, today=seoul_today())  # noqa: E731
        return await self._once("CreateCompany", request, pb.Company, make, company_pb)

    async def GetCompany(self, request: pb.GetCompanyRequest, context: Context) -> pb.Company:
        return await self._get(request.name, "companies", usecases.get_company, company_pb)

    async def ListCompanies(self, request: pb.ListCompaniesRequest, context: Context) -> pb.ListCompaniesResponse:
        size = page_size(request.page_size)
        terms = parse_filter(
            request.filter,
            {
                "status": short_value(pb.CompanyStatus, "COMPANY_STATUS"),
                "sector": short_value(pb.Sector, "SECTOR"),
                "stage": short_value(pb.Stage, "STAGE"),
                "tag": lambda v: clean(v).casefold(),
                "cohort": names("rounds"),
            },
        )
        order, descending = parse_order_by(request.order_by, usecases.COMPANY_ORDERS, "create_time")
        query = usecases.CompanyQuery(terms, request.query, request.show_deleted, order, descending, size)
        found, token = await usecases.list_companies(self.db, query, request.page_token)
        return pb.ListCompaniesResponse(companies=[company_pb(c) for c in found], next_page_token=token)

    async def UpdateCompany(self, request: pb.UpdateCompanyRequest, context: Context) -> pb.Company:
        update = partial(usecases.update_company, today=seoul_today())
        return await self._update(request, "company", "companies", convert.company_changes, update, company_pb)

    async def DeleteCompany(self, request: pb.DeleteCompanyRequest, context: Context) -> pb.Company:
        company_id = parse_name(request.name, "companies")
        archive = lambda uow: usecases.archive_company(uow, company_id, request.name, request.etag)  # noqa: E731
        return company_pb(await self._in_write(archive))

    async def ChangeCompanyStatus(self, request: pb.ChangeCompanyStatusRequest, context: Context) -> pb.Company:
        company_id = parse_name(request.name, "companies")
        target = short_enum_name(pb.CompanyStatus, "COMPANY_STATUS", request.status)
        async with self._write() as uow:
            moved = await usecases.change_company_status(
                uow, company_id, request.name, target, request.reason.strip(), request.etag, today=seoul_today()
            )
        return company_pb(moved)

    async def CloseCompany(self, request: pb.CloseCompanyRequest, context: Context) -> pb.Company:
        company_id = parse_name(request.name, "companies")
        closed_on = calendar_date(request.close_date, "close_date")
        if closed_on is None:
            raise errors.invalid("close_date", "is required")
        async with self._write() as uow:
            closed = await usecases.close_company(
                uow, company_id, request.name, closed_on, request.reason.strip(), today=seoul_today()
            )
        return company_pb(closed)

    async def GetCompanyStats(self, request: pb.GetCompanyStatsRequest, context: Context) -> pb.CompanyStats:
        months = last_months(request.months or DEFAULT_MONTHS, seoul_today())
        by_status, by_sector, discovered = await usecases.company_stats(self.db, months)
        count = pb.CompanyStats.Count
        return pb.CompanyStats(
            by_status=[count(key=k, count=v) for k, v in sorted(by_status.items())],
            by_sector=[count(key=k, count=v) for k, v in sorted(by_sector.items())],
            total=sum(by_status.values()),
            discovered_by_month=[pb.MonthCount(month=m, count=n) for m, n in discovered],
        )

    # People

    async def CreatePerson(self, request: pb.CreatePersonRequest, context: Context) -> pb.Person:
        make = lambda uow: usecases.create_person(uow, convert.person_fields(request.person))  # noqa: E731
        return await self._once("CreatePerson", request, pb.Person, make, person_pb)

    async def GetPerson(self, request: pb.GetPersonRequest, context: Context) -> pb.Person:
        return await self._get(request.name, "people", usecases.get_person, person_pb)

    async def ListPeople(self, request: pb.ListPeopleRequest, context: Context) -> pb.ListPeopleResponse:
        allowed = {
            "company": names("companies"),
            "role": short_value(pb.PersonRole, "PERSON_ROLE"),
        }
        fetch = lambda terms, size, token: usecases.list_people(self.db, terms, request.query, size, token)  # noqa: E731
        found, token = await listed(request, allowed, fetch)
        return pb.ListPeopleResponse(people=[person_pb(p) for p in found], next_page_token=token)

    async def UpdatePerson(self, request: pb.UpdatePersonRequest, context: Context) -> pb.Person:
        update = usecases.update_person
        return await self._update(request, "person", "people", convert.person_changes, update, person_pb)

    async def DeletePerson(self, request: pb.DeletePersonRequest, context: Context) -> empty_pb2.Empty:
        person_id = parse_name(request.name, "people")
        async with self._write() as uow:
            await usecases.delete_person(uow, person_id, request.name, request.etag)
        return empty_pb2.Empty()

    # Personal data (services/companies/privacy.py). An erasure that lost a race (the row changed between its
    # read and its write: an update, or the same erasure on another replica) is ABORTED, never INTERNAL; a retry
    # of the same erasure gets the stored response.

    async def ErasePerson(self, request: pb.ErasePersonRequest, context: Context) -> pb.Person:
        person_id = parse_name(request.name, "people")
        make = lambda uow: usecases.erase_person(uow, person_id, request.name, request.reason.strip())  # noqa: E731
        return await self._once("ErasePerson", request, pb.Person, make, person_pb)

    async def EraseCompany(self, request: pb.EraseCompanyRequest, context: Context) -> pb.Company:
        company_id = parse_name(request.name, "companies")
        make = lambda uow: usecases.erase_company(uow, company_id, request.name, request.reason.strip())  # noqa: E731
        return await self._once("EraseCompany", request, pb.Company, make, company_pb)

    # Saved views

    async def CreateSavedView(self, request: pb.CreateSavedViewRequest, context: Context) -> pb.SavedView:
        make = lambda uow: usecases.create_saved_view(uow, convert.saved_view_fields(request.saved_view))  # noqa: E731
        return await self._once("CreateSavedView", request, pb.SavedView, make, saved_view_pb)

    async def ListSavedViews(self, request: pb.ListSavedViewsRequest, context: Context) -> pb.ListSavedViewsResponse:
        fetch = lambda terms, size, token: usecases.list_saved_views(self.db, terms, size, token)  # noqa: E731
        found, token = await listed(request, {"list": str.strip}, fetch)
        return pb.ListSavedViewsResponse(saved_views=[saved_view_pb(v) for v in found], next_page_token=token)

    async def DeleteSavedView(self, request: pb.DeleteSavedViewRequest, context: Context) -> empty_pb2.Empty:
        view_id = parse_name(request.name, "savedViews")
        await self._in_write(lambda uow: usecases.delete_saved_view(uow, view_id, request.name))
        return empty_pb2.Empty()
