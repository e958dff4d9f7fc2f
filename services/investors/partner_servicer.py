"""PartnerService (VC partners, on its own port), thin: each method parses its request, calls one use case
and converts the result. Every method first asks for the caller's firm (partner_firm) and hands it to the use
case, which scopes what it reads and changes to that firm: the door admits only partners, and the use case
checks again. What an answer shows of companies goes to their access log (`showed`). The door itself (API
keys, rate limits, the audit log and the access log): partner_access.py."""

from __future__ import annotations

from datetime import datetime
from typing import TypeAlias

import grpc
from hub.investors.v1 import investors_pb2 as pb
from hub.investors.v1 import partner_dealflow_pb2 as dpb
from hub.investors.v1 import partner_keys_pb2 as kpb
from hub.investors.v1 import partner_pb2 as ppb
from hub.investors.v1 import partner_pb2_grpc

from hubcore import errors
from hubcore.convert import seoul_today
from hubcore.db import UnitOfWork
from hubcore.requests import page_size, parse_filter, parse_name
from hubcore.server import PARTNER, caller
from services.investors import convert, domain, policy
from services.investors.partner_access import current_key, showed, showed_companies
from services.investors.usecases import dealflow, introductions, rounds
from services.investors.webhook_servicer import WebhookApi

Context: TypeAlias = grpc.aio.ServicerContext


def partner_firm() -> int:
    """The caller's firm. The door admits only partners; this checks again, so that a servicer wired to
    another policy can never serve a firm's data to someone without one."""
    who = caller()
    if who.role != PARTNER or not who.scope:
        raise errors.PermissionDenied("only a partner of a firm may use the partner API")
    return parse_name(who.scope, "firms", "caller")


class PartnerApi(WebhookApi, partner_pb2_grpc.PartnerServiceServicer):
    """The partner's methods; its webhooks (CreateWebhookSubscription, …): WebhookApi, scoped by _owner."""

    def _owner(self) -> int:
        return partner_firm()

    async def GetMyApiKey(self, request: kpb.GetMyApiKeyRequest, context: Context) -> kpb.MyApiKey:
        partner_firm()
        key, usage = current_key()  # as the door found it for this call, this call counted
        return convert.my_api_key_pb(key, *(usage or (None, None)))

    async def ListIntroductions(
        self, request: ppb.PartnerServiceListIntroductionsRequest, context: Context
    ) -> ppb.PartnerServiceListIntroductionsResponse:
        firm_id = partner_firm()
        size = page_size(request.page_size)
        terms = parse_filter(request.filter, policy.SHARED_FILTER)
        found, token = await introductions.list_shared_introductions(
            self.db, firm_id, terms, size=size, token=request.page_token
        )
        showed(found)
        return ppb.PartnerServiceListIntroductionsResponse(
            introductions=[convert.shared_pb(*shared) for shared in found], next_page_token=token
        )

    async def GetIntroduction(
        self, request: ppb.PartnerServiceGetIntroductionRequest, context: Context
    ) -> ppb.SharedIntroduction:
        firm_id = partner_firm()
        intro_id = parse_name(request.name, "introductions")
        shared = await introductions.get_shared_introduction(self.db, firm_id, intro_id, request.name)
        showed([shared])
        return convert.shared_pb(*shared)

    async def _move(
        self, name: str, target: str, *, reason: str, etag: str, meeting_at: datetime | None = None
    ) -> ppb.SharedIntroduction:
        firm_id = partner_firm()
        async with self.db.write(actor=caller().actor) as uow:
            intro = await introductions.change_introduction_state(
                uow, name, target, role=PARTNER, reason=reason, etag=etag, meeting_at=meeting_at, firm_id=firm_id
            )
        shared = await introductions.shared_with(self.db, intro)
        showed([shared])
        return convert.shared_pb(*shared)

    async def RespondToIntroduction(
        self, request: ppb.RespondToIntroductionRequest, context: Context
    ) -> ppb.SharedIntroduction:
        target = domain.PARTNER_ACCEPTED if request.accept else domain.PARTNER_DECLINED
        return await self._move(request.name, target, reason=request.reason, etag=request.etag)

    async def RecordMeeting(self, request: ppb.RecordMeetingRequest, context: Context) -> ppb.SharedIntroduction:
        meeting_at = convert.time_of(request.meeting_time, request.HasField("meeting_time"))
        return await self._move(
            request.name, domain.MEETING_HELD, reason=request.reason, etag=request.etag, meeting_at=meeting_at
        )

    async def RecordOutcome(self, request: ppb.RecordOutcomeRequest, context: Context) -> ppb.SharedIntroduction:
        outcome = convert.state_short(request.outcome)
        if outcome not in domain.OUTCOMES:
            raise errors.invalid("outcome", f"must be one of {', '.join(domain.OUTCOMES)}")
        return await self._move(request.name, outcome, reason=request.reason, etag=request.etag)

    async def ReportRound(self, request: ppb.ReportRoundRequest, context: Context) -> pb.Round:
        firm_id = partner_firm()
        new = convert.round_of(request.round, reporter=caller().actor, today=seoul_today())

        async def build(uow: UnitOfWork) -> pb.Round:
            return convert.round_pb(await rounds.report_round(uow, firm_id, new))

        # Idempotency keys are per firm: another firm's request_id must neither collide nor replay its answer.
        method = f"ReportRound:firms/{firm_id}"
        return await self.db.create_once(method, request, pb.Round, build, actor=caller().actor)

    # Deal flow (partner_dealflow.proto)

    async def ListDealFlow(self, request: dpb.ListDealFlowRequest, context: Context) -> dpb.ListDealFlowResponse:
        firm_id = partner_firm()
        terms = parse_filter(request.filter, policy.DEAL_FLOW_FILTER)
        limit = policy.max_results(request.max_results)
        found = await dealflow.list_deal_flow(self.db, firm_id, terms, min_score=request.min_score, limit=limit)
        showed_companies(domain.Shown(0, e.company.id, e.fields, (domain.DEAL_FLOW,)) for e in found)
        return dpb.ListDealFlowResponse(companies=[convert.deal_flow_pb(e) for e in found])

    async def RequestIntroduction(
        self, request: dpb.RequestIntroductionRequest, context: Context
    ) -> ppb.SharedIntroduction:
        firm_id = partner_firm()
        company_id = parse_name(request.company, "companies", "company")
        key_id = parse_name(caller().id, "apiKeys", "caller")

        async def build(uow: UnitOfWork) -> ppb.SharedIntroduction:
            asked = await dealflow.request_introduction(uow, firm_id, key_id, company_id, request.company, request.note)
            return convert.shared_pb(*asked)

        # Per firm, as ReportRound: another firm's request_id neither collides nor replays this answer.
        answer = await self.db.create_once(
            f"RequestIntroduction:firms/{firm_id}", request, ppb.SharedIntroduction, build, actor=caller().actor
        )
        showed_companies([convert.shown_of(answer)])
        return answer

    async def ListCompanyUpdates(
        self, request: dpb.ListCompanyUpdatesRequest, context: Context
    ) -> dpb.ListCompanyUpdatesResponse:
        firm_id = partner_firm()
        terms = parse_filter(request.filter, policy.UPDATE_FILTER)
        found, token = await dealflow.list_company_updates(
            self.db, firm_id, terms, size=page_size(request.page_size), token=request.page_token
        )
        showed_companies(dealflow.updates_shown(found))
        return dpb.ListCompanyUpdatesResponse(
            company_updates=[convert.company_update_pb(*u) for u in found], next_page_token=token
        )
