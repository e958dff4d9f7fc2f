"""InvestorService (program managers), thin: each method parses its request, calls one use case and converts
the result (the founders' methods: sharing_servicer.py).
Rules and roles: policy.py; the work: usecases/; proto <-> domain: convert.py."""

from __future__ import annotations

from functools import partial
from typing import TypeAlias

import grpc
from hub.investors.v1 import investors_pb2 as pb
from hub.investors.v1 import investors_pb2_grpc
from hub.investors.v1 import partner_keys_pb2 as kpb

from hubcore.convert import seoul_today
from hubcore.requests import parse_name
from hubcore.server import caller
from hubcore.servicing import listed
from services.investors import convert, policy
from services.investors.sharing_servicer import SharingApi
from services.investors.usecases import firms, introductions, keys, rounds
from services.investors.webhook_servicer import WebhookApi

Context: TypeAlias = grpc.aio.ServicerContext


class InvestorApi(SharingApi, WebhookApi, investors_pb2_grpc.InvestorServiceServicer):
    """The program managers' methods; the founders' (introductions, grants, the access log): SharingApi; the
    webhooks, hub-wide and any firm's: WebhookApi."""

    def _owner(self) -> None:
        return None

    # Firms

    async def CreateFirm(self, request: pb.CreateFirmRequest, context: Context) -> pb.Firm:
        make = lambda uow: firms.create_firm(uow, convert.firm_fields(request.firm))  # noqa: E731
        return await self._once("CreateFirm", request, pb.Firm, make, convert.firm_pb)

    async def GetFirm(self, request: pb.GetFirmRequest, context: Context) -> pb.Firm:
        return await self._get(request.name, "firms", firms.get_firm, convert.firm_pb)

    async def ListFirms(self, request: pb.ListFirmsRequest, context: Context) -> pb.ListFirmsResponse:
        fetch = partial(firms.list_firms, self.db, query=request.query)
        found, token = await listed(request, policy.FIRM_FILTER, fetch)
        return pb.ListFirmsResponse(firms=[convert.firm_pb(f) for f in found], next_page_token=token)

    async def UpdateFirm(self, request: pb.UpdateFirmRequest, context: Context) -> pb.Firm:
        return await self._update(request, "firm", "firms", convert.firm_changes, firms.update_firm, convert.firm_pb)

    # Partners

    async def CreatePartner(self, request: pb.CreatePartnerRequest, context: Context) -> pb.Partner:
        firm = request.partner.firm
        firm_id = parse_name(firm, "firms", "partner.firm")
        make = lambda uow: firms.create_partner(uow, firm_id, firm, convert.partner_fields(request.partner))  # noqa: E731
        return await self._once("CreatePartner", request, pb.Partner, make, convert.partner_pb)

    async def GetPartner(self, request: pb.GetPartnerRequest, context: Context) -> pb.Partner:
        return await self._get(request.name, "partners", firms.get_partner, convert.partner_pb)

    async def ListPartners(self, request: pb.ListPartnersRequest, context: Context) -> pb.ListPartnersResponse:
        found, token = await listed(request, policy.PARTNER_FILTER, partial(firms.list_partners, self.db))
        return pb.ListPartnersResponse(partners=[convert.partner_pb(p) for p in found], next_page_token=token)

    async def UpdatePartner(self, request: pb.UpdatePartnerRequest, context: Context) -> pb.Partner:
        update = firms.update_partner
        return await self._update(request, "partner", "partners", convert.partner_changes, update, convert.partner_pb)

    # API keys and the audit log

    async def CreateApiKey(self, request: pb.CreateApiKeyRequest, context: Context) -> pb.ApiKey:
        message = request.api_key
        partner_id = parse_name(message.partner, "partners", "api_key.partner")
        expire_at = convert.time_of(message.expire_time, message.HasField("expire_time"))
        async with self._write() as uow:
            key, secret = await keys.issue_api_key(
                uow, partner_id, message.partner, expire_at=expire_at, description=message.description,
                scopes=message.scopes,
            )  # fmt: skip
        return convert.api_key_pb(key, secret)  # the secret is shown once: only its hash is stored

    async def ListApiKeys(self, request: pb.ListApiKeysRequest, context: Context) -> pb.ListApiKeysResponse:
        fetch = partial(keys.list_api_keys, self.db, show_revoked=request.show_revoked)
        found, token = await listed(request, policy.API_KEY_FILTER, fetch)
        return pb.ListApiKeysResponse(api_keys=[convert.api_key_pb(k) for k in found], next_page_token=token)

    async def RotateApiKey(self, request: kpb.RotateApiKeyRequest, context: Context) -> pb.ApiKey:
        key_id = parse_name(request.name, "apiKeys")
        overlap = request.overlap.ToTimedelta() if request.HasField("overlap") else None
        async with self._write() as uow:
            key, secret = await keys.rotate_api_key(uow, key_id, request.name, overlap)
        return convert.api_key_pb(key, secret)  # the new secret is shown once

    async def RevokeApiKey(self, request: pb.RevokeApiKeyRequest, context: Context) -> pb.ApiKey:
        key_id = parse_name(request.name, "apiKeys")
        return convert.api_key_pb(await self._in_write(lambda uow: keys.revoke_api_key(uow, key_id, request.name)))

    async def ListPartnerCalls(
        self, request: pb.ListPartnerCallsRequest, context: Context
    ) -> pb.ListPartnerCallsResponse:
        found, token = await listed(request, policy.PARTNER_CALL_FILTER, partial(firms.list_partner_calls, self.db))
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
        make = lambda uow: introductions.create_introduction(uow, new)  # noqa: E731
        return await self._once("CreateIntroduction", request, pb.Introduction, make, convert.introduction_pb)

    async def GetIntroduction(self, request: pb.GetIntroductionRequest, context: Context) -> pb.Introduction:
        intro_id = parse_name(request.name, "introductions")
        found = await introductions.get_introduction(self.db, intro_id, request.name)
        [answer] = await firms.with_firm_names(self.db, [found], convert.introduction_pb)
        return answer

    async def ListIntroductions(
        self, request: pb.ListIntroductionsRequest, context: Context
    ) -> pb.ListIntroductionsResponse:
        fetch = partial(introductions.list_introductions, self.db)
        found, token = await listed(request, policy.INTRODUCTION_FILTER, fetch)
        named = await firms.with_firm_names(self.db, found, convert.introduction_pb)
        return pb.ListIntroductionsResponse(introductions=named, next_page_token=token)

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
        make = lambda uow: rounds.record_round(uow, new)  # noqa: E731
        return await self._once("CreateRound", request, pb.Round, make, convert.round_pb)

    async def GetRound(self, request: pb.GetRoundRequest, context: Context) -> pb.Round:
        return await self._get(request.name, "rounds", rounds.get_round, convert.round_pb)

    async def ListRounds(self, request: pb.ListRoundsRequest, context: Context) -> pb.ListRoundsResponse:
        found, token = await listed(request, policy.ROUND_FILTER, partial(rounds.list_rounds, self.db))
        return pb.ListRoundsResponse(rounds=[convert.round_pb(r) for r in found], next_page_token=token)

    async def CloseRound(self, request: pb.CloseRoundRequest, context: Context) -> pb.Round:
        on = convert.close_date(request.close_date, seoul_today())
        round_id = parse_name(request.name, "rounds")
        async with self._write() as uow:
            closed = await rounds.close_round(uow, round_id, request.name, request.etag, on)
        return convert.round_pb(closed)

    async def CancelRound(self, request: pb.CancelRoundRequest, context: Context) -> pb.Round:
        round_id = parse_name(request.name, "rounds")
        cancel = lambda uow: rounds.cancel_round(uow, round_id, request.name, request.etag, request.reason)  # noqa: E731
        return convert.round_pb(await self._in_write(cancel))

    async def GetInvestorStats(self, request: pb.GetInvestorStatsRequest, context: Context) -> pb.InvestorStats:
        year = request.year or seoul_today().year
        return convert.stats_pb(await rounds.investor_stats(self.db, year))
