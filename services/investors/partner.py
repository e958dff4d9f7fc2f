"""PartnerService, the external API for VC partners, on its own port: API keys, what a partner may see and
do (checked here, in the use case, not only at the door), and the audit log of every call."""

from __future__ import annotations

import asyncio
from collections import defaultdict
from datetime import UTC, datetime
from typing import Any

import grpc
import sqlalchemy as sa
from hub.investors.v1 import investors_pb2 as pb
from hub.investors.v1 import partner_pb2 as ppb
from hub.investors.v1 import partner_pb2_grpc

from hubcore import errors
from hubcore.db import Database, now, remember, timestamp
from hubcore.requests import (
    PageTokens,
    Rules,
    enum_number,
    enum_short,
    length,
    page_size,
    parse_filter,
    parse_name,
    required,
    short_value,
)
from hubcore.server import PARTNER, Caller, CallRecord, caller, peer_address
from hubcore.settings import token_hash
from services.investors import api, domain, store

RULES: dict[type, Rules] = {
    ppb.PartnerServiceListIntroductionsRequest: Rules({"filter": [length(0, 200)]}),
    ppb.PartnerServiceGetIntroductionRequest: Rules({"name": [required]}),
    ppb.RespondToIntroductionRequest: Rules({"name": [required], "reason": [length(0, 500)]}),
    ppb.RecordMeetingRequest: Rules({"name": [required], "reason": [length(0, 500)]}),
    ppb.RecordOutcomeRequest: Rules({"name": [required], "outcome": [required], "reason": [length(0, 500)]}),
    ppb.ReportRoundRequest: Rules(
        {"round.company": [required], "round.round_type": [required], "request_id": [length(1, 100)]}
    ),
}
# Every method: partners only (an admin token is PERMISSION_DENIED here; admins use InvestorService).
ROLES: dict[str, frozenset[str]] = {}
DEFAULT_ROLES = frozenset({PARTNER})


def partner_firm() -> int:
    """The caller's firm. The door admits only partners; the use case checks again, so that a servicer
    wired to another policy can never serve a firm's data to someone without one."""
    who = caller()
    if who.role != PARTNER or not who.scope:
        raise errors.PermissionDenied("only a partner of a firm may use the partner API")
    return parse_name(who.scope, "firms", "caller")


def shared_pb(intro: domain.Introduction, company: domain.DirectoryCompany | None) -> ppb.SharedIntroduction:
    """What the firm sees: the fields the program manager shared, nothing else of the company or the hub
    (no status, no history actors, no other firm)."""
    shared = ppb.SharedCompany(name=intro.company)
    if company:
        for name in intro.shared_fields:
            value = getattr(company, name)
            if name == "tags":
                shared.tags.extend(value)
            else:
                setattr(shared, name, value)
    return ppb.SharedIntroduction(
        name=intro.name,
        company=shared,
        partner=api.ref("partners", intro.partner_id),
        state=enum_number(pb.IntroductionState, "INTRODUCTION_STATE", intro.state),
        note=intro.note,
        meeting_time=timestamp(intro.meeting_at),
        share_time=timestamp(intro.shared_at),
        update_time=timestamp(intro.updated_at),
        etag=intro.etag,
    )


class PartnerApi(partner_pb2_grpc.PartnerServiceServicer):
    def __init__(self, db: Database) -> None:
        self.db = db

    async def _shared(self, intro: domain.Introduction) -> ppb.SharedIntroduction:
        async with self.db.read() as conn:
            company = await store.get_directory_company(conn, intro.company_id)
        return shared_pb(intro, company)

    async def ListIntroductions(
        self, request: ppb.PartnerServiceListIntroductionsRequest, context: grpc.aio.ServicerContext
    ) -> ppb.PartnerServiceListIntroductionsResponse:
        firm_id = partner_firm()
        size = page_size(request.page_size)
        terms = parse_filter(request.filter, {"state": short_value(pb.IntroductionState, "INTRODUCTION_STATE")})
        query_key = f"partner|{sorted(terms.items())}"
        after = api.after_id(request.page_token, query_key)
        c = store.introductions.c
        query = (
            sa.select(store.introductions)
            .where(c.firm_id == firm_id, c.shared_at.is_not(None))
            .order_by(c.id.desc())
            .limit(size + 1)
        )
        if "state" in terms:
            query = query.where(c.state.in_(terms["state"]))
        if after is not None:
            query = query.where(c.id < after)
        async with self.db.read() as conn:
            found = await store.list_introductions(conn, query)
            companies = await store.directory_by_id(conn, [i.company_id for i in found[:size]])
        response = ppb.PartnerServiceListIntroductionsResponse(
            introductions=[shared_pb(i, companies.get(i.company_id)) for i in found[:size]]
        )
        if len(found) > size:
            response.next_page_token = PageTokens.encode(query_key, [found[size - 1].id])
        return response

    async def GetIntroduction(
        self, request: ppb.PartnerServiceGetIntroductionRequest, context: grpc.aio.ServicerContext
    ) -> ppb.SharedIntroduction:
        firm_id = partner_firm()
        intro_id = parse_name(request.name, "introductions")
        async with self.db.read() as conn:
            intro = await store.get_introduction(conn, intro_id)
        if intro is None or not intro.visible_to_firm(firm_id):
            raise errors.NotFound("Introduction", request.name)
        return await self._shared(intro)

    async def _move(
        self, name: str, target: str, *, reason: str, etag: str, meeting_at: Any = None
    ) -> ppb.SharedIntroduction:
        firm_id = partner_firm()
        async with self.db.write(actor=caller().actor) as uow:
            intro = await api.change_introduction_state(
                uow, name, target, role=PARTNER, reason=reason, etag=etag, meeting_at=meeting_at, firm_id=firm_id
            )
        return await self._shared(intro)

    async def RespondToIntroduction(
        self, request: ppb.RespondToIntroductionRequest, context: grpc.aio.ServicerContext
    ) -> ppb.SharedIntroduction:
        target = domain.PARTNER_ACCEPTED if request.accept else domain.PARTNER_DECLINED
        return await self._move(request.name, target, reason=request.reason, etag=request.etag)

    async def RecordMeeting(
        self, request: ppb.RecordMeetingRequest, context: grpc.aio.ServicerContext
    ) -> ppb.SharedIntroduction:
        meeting_at = request.meeting_time.ToDatetime(UTC) if request.HasField("meeting_time") else None
        return await self._move(
            request.name, domain.MEETING_HELD, reason=request.reason, etag=request.etag, meeting_at=meeting_at
        )

    async def RecordOutcome(
        self, request: ppb.RecordOutcomeRequest, context: grpc.aio.ServicerContext
    ) -> ppb.SharedIntroduction:
        outcome = enum_short(pb.IntroductionState, "INTRODUCTION_STATE", request.outcome)
        if outcome not in domain.OUTCOMES:
            raise errors.invalid("outcome", f"must be one of {', '.join(domain.OUTCOMES)}")
        return await self._move(request.name, outcome, reason=request.reason, etag=request.etag)

    async def ReportRound(self, request: ppb.ReportRoundRequest, context: grpc.aio.ServicerContext) -> pb.Round:
        firm_id = partner_firm()
        new = api.round_of(request.round, reporter=caller().actor)
        # Idempotency keys are per firm: another firm's request_id must neither collide nor replay its answer.
        method = f"ReportRound:firms/{firm_id}"

        async def work() -> pb.Round:
            async with self.db.write(actor=caller().actor) as uow:
                if not await store.firm_knows_company(uow.conn, firm_id, new.company_id):
                    # The same answer whether or not the company exists: nothing leaks.
                    raise errors.PermissionDenied(
                        f"your firm was not introduced to {new.company} and took part in none of its rounds"
                    )
                response = api.round_pb(await api.record_round(uow, new))
                await remember(uow, method, request.request_id, request, response)
            return response

        result: pb.Round = await self.db.idempotent(method, request.request_id, request, pb.Round, work)
        return result


def _resource(request: Any) -> str:
    """The resource a partner call names, for the audit log."""
    if getattr(request, "name", ""):
        return str(request.name)[:100]
    if isinstance(request, ppb.ReportRoundRequest):
        return request.round.company[:100]
    return ""


class RefusedCalls:
    """Calls refused at the door, counted in memory per peer address and minute and written every few seconds
    in one transaction: a flood without a key costs no write per call, and at most one row per peer-minute.
    The counts of the last seconds before a process dies are lost; a count, not a record, can afford that."""

    def __init__(self, db: Database, flush_seconds: float = 5.0) -> None:
        self.db = db
        self.flush_seconds = flush_seconds
        self._counts: defaultdict[tuple[str, datetime], list[int]] = defaultdict(lambda: [0, 0])

    def count(self, call: CallRecord) -> None:
        minute = now().replace(second=0, microsecond=0)
        counts = self._counts[(peer_address(call.peer)[:200], minute)]
        counts[1 if call.code == grpc.StatusCode.RESOURCE_EXHAUSTED else 0] += 1

    async def flush(self) -> None:
        counts, self._counts = self._counts, defaultdict(lambda: [0, 0])
        if counts:
            async with self.db.begin() as conn:
                await store.add_partner_refusals(conn, {key: (n[0], n[1]) for key, n in counts.items()})

    async def run(self) -> None:
        while True:
            await asyncio.sleep(self.flush_seconds)
            await self.flush()


class PartnerAccess:
    """The partner listener's authenticator (API keys, stored hashed) and its audit hook."""

    def __init__(self, db: Database) -> None:
        self.db = db
        self._partner_of: dict[str, int] = {}  # key name -> partner id (a key never changes hands)
        self.refused = RefusedCalls(db)

    async def authenticate(self, token: str) -> Caller | None:
        if not token.startswith(api.KEY_PREFIX):
            return None
        async with self.db.read() as conn:
            key = await store.api_key_by_hash(conn, token_hash(token))
        if key is None:
            return None
        refusal = key.refusal(now())
        if refusal:
            raise errors.Unauthenticated(refusal)
        self._partner_of[key.name] = key.partner_id
        return Caller(role=PARTNER, id=key.name, scope=f"firms/{key.firm_id}")

    async def audit(self, call: CallRecord) -> None:
        """A call that reached the API is a row of the audit log, written before its answer leaves; a call
        refused at the door (no valid key, over a limit) is only counted."""
        if call.refused:
            self.refused.count(call)
            return
        who = call.caller
        key_id = firm_id = partner_id = None
        if who is not None and who.role == PARTNER:
            key_id = int(who.id.rsplit("/", 1)[1])
            firm_id = int(who.scope.rsplit("/", 1)[1])
            partner_id = self._partner_of.get(who.id)
        async with self.db.write(actor=who.actor if who else "anonymous") as uow:
            await store.insert_partner_call(
                uow.conn,
                api_key_id=key_id,
                partner_id=partner_id,
                firm_id=firm_id,
                method=call.method[:200],
                resource=_resource(call.request),
                code=call.code.name,
                called_at=now(),
                request_id=call.request_id,
                peer=call.peer[:200],
            )
