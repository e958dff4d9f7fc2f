"""The founders' part of InvestorService, thin: their company's introductions and answers, the sharing grants
that decide what each firm sees, and the access log. Founders are bound to their company by the policy (or,
for an introduction, by the use case); a program manager acts for the company only with a reason."""

from __future__ import annotations

from functools import partial
from typing import TypeAlias

import grpc
from hub.investors.v1 import investors_pb2 as pb

from hubcore.requests import page_size, parse_name
from hubcore.server import FOUNDER, caller
from hubcore.servicing import Api, listed
from services.investors import convert, domain, policy
from services.investors.usecases import firms, introductions, sharing

Context: TypeAlias = grpc.aio.ServicerContext


def acting(company: str, reason: str) -> domain.Acting:
    """The caller acting for the company: its founder, or a program manager with a reason (else INVALID_ARGUMENT)."""
    who = caller()
    return domain.acting_for(company, actor=who.actor, role=who.role, reason=reason)


def founders_company() -> int | None:
    """The founder's company, for the use cases' checks of what the request names; None for anyone else."""
    who = caller()
    return parse_name(who.scope, "companies", "caller") if who.role == FOUNDER else None


class SharingApi(Api):
    async def ListCompanyIntroductions(
        self, request: pb.ListCompanyIntroductionsRequest, context: Context
    ) -> pb.ListIntroductionsResponse:
        company_id = parse_name(request.parent, "companies", "parent")
        fetch = partial(introductions.list_company_introductions, self.db, company_id)
        found, token = await listed(request, policy.COMPANY_INTRODUCTION_FILTER, fetch)
        named = await firms.with_firm_names(self.db, found, convert.introduction_pb)
        return pb.ListIntroductionsResponse(introductions=named, next_page_token=token)

    async def AnswerIntroduction(self, request: pb.AnswerIntroductionRequest, context: Context) -> pb.Introduction:
        target = domain.COMPANY_CONSENTED if request.consent else domain.COMPANY_DECLINED
        company_id = founders_company()
        async with self._write() as uow:
            intro = await introductions.change_introduction_state(
                uow, request.name, target, role=caller().role, reason=request.reason, etag=request.etag,
                company_id=company_id,
            )  # fmt: skip
        return convert.introduction_pb(intro)

    async def ListSharingGrants(
        self, request: pb.ListSharingGrantsRequest, context: Context
    ) -> pb.ListSharingGrantsResponse:
        company_id = parse_name(request.parent, "companies", "parent")
        found, token = await sharing.list_grants(
            self.db, company_id, show_revoked=request.show_revoked, size=page_size(request.page_size),
            token=request.page_token,
        )  # fmt: skip
        named = await firms.with_firm_names(self.db, found, convert.sharing_grant_pb)
        return pb.ListSharingGrantsResponse(sharing_grants=named, next_page_token=token)

    async def CreateSharingGrant(self, request: pb.CreateSharingGrantRequest, context: Context) -> pb.SharingGrant:
        company_id = parse_name(request.parent, "companies", "parent")
        grant = request.sharing_grant
        firm_id = convert.grant_firm(grant.firm, "sharing_grant.firm")
        groups = convert.field_groups_of(grant.field_groups, "sharing_grant.field_groups")
        by = acting(request.parent, request.reason)
        make = lambda uow: sharing.create_grant(uow, company_id, firm_id, grant.firm, groups, by)  # noqa: E731
        return convert.sharing_grant_pb(await self._in_write(make))

    async def UpdateSharingGrant(self, request: pb.UpdateSharingGrantRequest, context: Context) -> pb.SharingGrant:
        grant = request.sharing_grant
        company_id, firm_id = convert.grant_key(grant.name, "sharing_grant.name")
        groups = convert.field_groups_of(grant.field_groups, "sharing_grant.field_groups")
        by = acting(f"companies/{company_id}", request.reason)
        change = lambda uow: sharing.update_grant(uow, company_id, firm_id, grant.name, groups, grant.etag, by)  # noqa: E731
        return convert.sharing_grant_pb(await self._in_write(change))

    async def RevokeSharingGrant(self, request: pb.RevokeSharingGrantRequest, context: Context) -> pb.SharingGrant:
        company_id, firm_id = convert.grant_key(request.name)
        by = acting(f"companies/{company_id}", request.reason)
        revoke = lambda uow: sharing.revoke_grant(uow, company_id, firm_id, request.name, request.etag, by)  # noqa: E731
        return convert.sharing_grant_pb(await self._in_write(revoke))

    async def ListCompanyReads(
        self, request: pb.ListCompanyReadsRequest, context: Context
    ) -> pb.ListCompanyReadsResponse:
        company_id = parse_name(request.parent, "companies", "parent")
        fetch = partial(sharing.list_reads, self.db, company_id)
        found, token = await listed(request, policy.COMPANY_READ_FILTER, fetch)
        reads = [convert.company_read_pb(r) for r in found]
        return pb.ListCompanyReadsResponse(company_reads=reads, next_page_token=token)
