"""InvestorService (program managers), thin: each method parses its request, calls one use case and converts
the result. Rules and roles: policy.py; the work: usecases/; proto <-> domain: convert.py."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from contextlib import AbstractAsyncContextManager
from typing import TypeAlias, TypeVar

import grpc
from google.protobuf.message import Message
from hub.investors.v1 import investors_pb2 as pb
from hub.investors.v1 import investors_pb2_grpc

from hubcore.convert import seoul_today
from hubcore.db import Database, UnitOfWork
from hubcore.requests import page_size, parse_filter, parse_name
from hubcore.server import caller
from services.investors import convert, policy
from services.investors.usecases import firms, introductions, rounds

Context: TypeAlias = grpc.aio.ServicerContext
R = TypeVar("R", bound=Message)


class InvestorApi(investors_pb2_grpc.InvestorServiceServicer):
    def __init__(self, db: Database) -> None:
        self.db = db

    def _write(self) -> AbstractAsyncContextManager[UnitOfWork]:
        return self.db.write(actor=caller().actor)

    async def _once(
        self, method: str, request: Message, response_type: type[R], build: Callable[[UnitOfWork], Awaitable[R]]
    ) -> R:
        """An idempotent create (request_id): build(uow) runs once per key, its response kept with the change."""
        return await self.db.create_once(method, request, response_type, build, actor=caller().actor)

    # Firms

    async def CreateFirm(self, request: pb.CreateFirmRequest, context: Context) -> pb.Firm:
        async def build(uow: UnitOfWork) -> pb.Firm:
            return convert.firm_pb(await firms.create_firm(uow, convert.firm_fields(request.firm)))

        return await self._once("CreateFirm", request, pb.Firm, build)

    async def GetFirm(self, request: pb.GetFirmRequest, context: Context) -> pb.Firm:
        firm_id = parse_name(request.name, "firms")
        return convert.firm_pb(await firms.get_firm(self.db, firm_id, request.name))

    async def ListFirms(self, request: pb.ListFirmsRequest, context: Context) -> pb.ListFirmsResponse:
        size = page_size(request.page_size)
        terms = parse_filter(request.filter, policy.FIRM_FILTER)
        found, token = await firms.list_firms(self.db, terms, request.query, size=size, token=request.page_token)
        return pb.ListFirmsResponse(firms=[convert.firm_pb(f) for f in found], next_page_token=token)

    async def UpdateFirm(self, request: pb.UpdateFirmRequest, context: Context) -> pb.Firm:
        message = request.firm
        firm_id = parse_name(message.name, "firms", "firm.name")
        changes = convert.masked(convert.firm_fields(message), list(request.update_mask.paths))
        async with self._write() as uow:
            firm = await firms.update_firm(uow, firm_id, message.name, message.etag, changes)
        return convert.firm_pb(firm)

    # Partners

    async def CreatePartner(self, request: pb.CreatePartnerRequest, context: Context) -> pb.Partner:
        firm = request.partner.firm
        firm_id = parse_name(firm, "firms", "partner.firm")

        async def build(uow: UnitOfWork) -> pb.Partner:
            fields = convert.partner_fields(request.partner)
            return convert.partner_pb(await firms.create_partner(uow, firm_id, firm, fields))

        return await self._once("CreatePartner", request, pb.Partner, build)

    async def GetPartner(self, request: pb.GetPartnerRequest, context: Context) -> pb.Partner:
        partner_id = parse_name(request.name, "partners")
        return convert.partner_pb(await firms.get_partner(self.db, partner_id, request.name))

    async def ListPartners(self, request: pb.ListPartnersRequest, context: Context) -> pb.ListPartnersResponse:
        size = page_size(request.page_size)
        terms = parse_filter(request.filter, policy.PARTNER_FILTER)
        found, token = await firms.list_partners(self.db, terms, size=size, token=request.page_token)
        return pb.ListPartnersResponse(partners=[convert.partner_pb(p) for p in found], next_page_token=token)

    async def UpdatePartner(self, request: pb.UpdatePartnerRequest, context: Context) -> pb.Partner:
        message = request.partner
        partner_id = parse_name(message.name, "partners", "partner.name")
        changes = convert.masked(convert.partner_fields(message), list(request.update_mask.paths))
        async with self._write() as uow:
            partner = await firms.update_partner(uow, partner_id, message.name, message.etag, changes)
        return convert.partner_pb(partner)

    # API keys and the audit log

    async def CreateApiKey(self, request: pb.CreateApiKeyRequest, context: Context) -> pb.ApiKey:
        message = request.api_key
        partner_id = parse_name(message.partner, "partners", "api_key.partner")
        expire_at = convert.time_of(message.expire_time, message.HasField("expire_time"))
        async with self._write() as uow:
            key, secret = await firms.issue_api_key(
                uow, partner_id, message.partner, expire_at=expire_at, description=message.description
            )
        return convert.api_key_pb(key, secret)  # the secret is shown once: only its hash is stored

    async def ListApiKeys(self, request: pb.ListApiKeysRequest, context: Context) -> pb.ListApiKeysResponse:
        size = page_size(request.page_size)
        terms = parse_filter(request.filter, policy.API_KEY_FILTER)
        found, token = await firms.list_api_keys(
            self.db, terms, request.show_revoked, size=size, token=request.page_token
        )
        return pb.ListApiKeysResponse(api_keys=[convert.api_key_pb(k) for k in found], next_page_token=token)

    async def RevokeApiKey(self, request: pb.RevokeApiKeyRequest, context: Context) -> pb.ApiKey:
        key_id = parse_name(request.name, "apiKeys")
        async with self._write() as uow:
            key = await firms.revoke_api_key(uow, key_id, request.name)
        return convert.api_key_pb(key)

    async def ListPartnerCalls(
        self, request: pb.ListPartnerCallsRequest, context: Context
    ) -> pb.ListPartnerCallsResponse:
        size = page_size(request.page_size)
        terms = parse_filter(request.filter, policy.PARTNER_CALL_FILTER)
        found, token = await firms.list_partner_calls(self.db, terms, size=size, token=request.page_token)
        return pb.ListPartnerCallsResponse(
            partner_calls=[convert.partner_call_pb(c) for c in found], next_page_token=token
        )

    # Matching

    async def MatchInvestors(self, request: pb.MatchInvestorsRequest, context: Context) -> pb.MatchInvestorsResponse:
        company_id = parse_name(request.company, "companies", "company")
        limit = policy.max_results(request.max_results)
        fits = await introductions.match_investors(self.db, company_id, request.company, limit)
        return pb.MatchInvestorsResponse(matches=[convert.investor_match_pb(fit, firm) for fit, firm in fits])

    async def MatchCompanies(self, request: pb.MatchCompaniesRequest, context: Context) -> pb.MatchCompaniesResponse:
        firm_id = parse_name(request.firm, "firms", "firm")
        limit = policy.max_results(request.max_results)
        fits = await introductions.match_companies(self.db, firm_id, request.firm, limit)
        return pb.MatchCompaniesResponse(matches=[convert.company_match_pb(fit, c) for fit, c in fits])

    # Introductions

    async def CreateIntroduction(self, request: pb.CreateIntroductionRequest, context: Context) -> pb.Introduction:
        message = request.introduction
        new = introductions.NewIntroduction(
            company_id=parse_name(message.company, "companies", "introduction.company"),
            company=message.company,
            firm_id=parse_name(message.firm, "firms", "introduction.firm"),
            firm=message.firm,
            partner_id=convert.id_of(message.partner, "partners", "introduction.partner"),
            partner=message.partner,
            note=message.note,
            shared=convert.shared_fields(message),
        )

        async def build(uow: UnitOfWork) -> pb.Introduction:
            return convert.introduction_pb(await introductions.create_introduction(uow, new))

        return await self._once("CreateIntroduction", request, pb.Introduction, build)

    async def GetIntroduction(self, request: pb.GetIntroductionRequest, context: Context) -> pb.Introduction:
        intro_id = parse_name(request.name, "introductions")
        return convert.introduction_pb(await introductions.get_introduction(self.db, intro_id, request.name))

    async def ListIntroductions(
        self, request: pb.ListIntroductionsRequest, context: Context
    ) -> pb.ListIntroductionsResponse:
        size = page_size(request.page_size)
        terms = parse_filter(request.filter, policy.INTRODUCTION_FILTER)
        found, token = await introductions.list_introductions(self.db, terms, size=size, token=request.page_token)
        return pb.ListIntroductionsResponse(
            introductions=[convert.introduction_pb(i) for i in found], next_page_token=token
        )

    async def ChangeIntroductionState(
        self, request: pb.ChangeIntroductionStateRequest, context: Context
    ) -> pb.Introduction:
        target = convert.state_short(request.state)
        meeting_at = convert.time_of(request.meeting_time, request.HasField("meeting_time"))
        async with self._write() as uow:
            intro = await introductions.change_introduction_state(
                uow,
                request.name,
                target,
                role=caller().role,
                reason=request.reason,
                etag=request.etag,
                meeting_at=meeting_at,
            )
        return convert.introduction_pb(intro)

    # Rounds

    async def CreateRound(self, request: pb.CreateRoundRequest, context: Context) -> pb.Round:
        new = convert.round_of(request.round, reporter=caller().actor, today=seoul_today())

        async def build(uow: UnitOfWork) -> pb.Round:
            return convert.round_pb(await rounds.record_round(uow, new))

        return await self._once("CreateRound", request, pb.Round, build)

    async def GetRound(self, request: pb.GetRoundRequest, context: Context) -> pb.Round:
        round_id = parse_name(request.name, "rounds")
        return convert.round_pb(await rounds.get_round(self.db, round_id, request.name))

    async def ListRounds(self, request: pb.ListRoundsRequest, context: Context) -> pb.ListRoundsResponse:
        size = page_size(request.page_size)
        terms = parse_filter(request.filter, policy.ROUND_FILTER)
        found, token = await rounds.list_rounds(self.db, terms, size=size, token=request.page_token)
        return pb.ListRoundsResponse(rounds=[convert.round_pb(r) for r in found], next_page_token=token)

    async def CloseRound(self, request: pb.CloseRoundRequest, context: Context) -> pb.Round:
        on = convert.close_date(request.close_date, seoul_today())
        round_id = parse_name(request.name, "rounds")
        async with self._write() as uow:
            closed = await rounds.close_round(uow, round_id, request.name, request.etag, on)
        return convert.round_pb(closed)

    async def CancelRound(self, request: pb.CancelRoundRequest, context: Context) -> pb.Round:
        round_id = parse_name(request.name, "rounds")
        async with self._write() as uow:
            cancelled = await rounds.cancel_round(uow, round_id, request.name, request.etag, request.reason)
        return convert.round_pb(cancelled)

    async def GetInvestorStats(self, request: pb.GetInvestorStatsRequest, context: Context) -> pb.InvestorStats:
        year = request.year or seoul_today().year
        return convert.stats_pb(await rounds.investor_stats(self.db, year))
