"""InvestorService (program managers): proto <-> domain, the use cases' transactions, and their events.

The use cases the partner API shares (moving an introduction, recording a round) are functions here that
take a unit of work, so both servicers take the same path."""

from __future__ import annotations

import secrets
from datetime import UTC, date, datetime, timedelta, timezone
from typing import Any
from zoneinfo import ZoneInfo

import grpc
import sqlalchemy as sa
from google.type import money_pb2
from hub.events.v1 import investors_pb2 as ev
from hub.investors.v1 import investors_pb2 as pb
from hub.investors.v1 import investors_pb2_grpc
from sqlalchemy.exc import IntegrityError

from hubcore import errors
from hubcore.db import Database, UnitOfWork, now, remember, timestamp
from hubcore.requests import (
    Check,
    PageTokens,
    Rules,
    calendar_date,
    check_etag,
    date_message,
    e164,
    email,
    enum_number,
    enum_short,
    length,
    max_items,
    normalize_text,
    page_size,
    parse_filter,
    parse_name,
    required,
    short_value,
    url,
)
from hubcore.server import ADMIN, SERVICE, caller
from hubcore.settings import token_hash
from services.investors import domain, store

SUBJECT = "hub.investors"
KEY_PREFIX = "hubpk_"  # partner keys are recognizable (secret scanners, logs) and never confused with others
KST = timezone(timedelta(hours=9), "KST")  # the hub's calendar; Korea keeps no daylight saving time
DEFAULT_MATCHES, MAX_MATCHES = 20, 100
SEOUL = ZoneInfo("Asia/Seoul")  # the hub's calendar: a year of funding is a Korean year

FIRM_FIELDS: dict[str, list[Check]] = {
    "firm.korean_name": [required, length(1, 100)],
    "firm.english_name": [length(1, 100)],
    "firm.type": [required],
    "firm.website": [url],
    "firm.description": [length(0, 2000)],
    "firm.theses": [max_items(domain.MAX_THESES)],
}
PARTNER_FIELDS: dict[str, list[Check]] = {
    "partner.korean_name": [required, length(1, 100)],
    "partner.english_name": [length(1, 100)],
    "partner.title": [length(0, 100)],
    "partner.email": [email, length(3, 200)],
    "partner.phone": [e164],
    "partner.focus": [max_items(domain.MAX_LABELS, length(1, 50))],
}
FIRM_MUTABLE = frozenset({"korean_name", "english_name", "type", "website", "description", "theses"})
PARTNER_MUTABLE = frozenset({"korean_name", "english_name", "title", "email", "phone", "focus"})
LISTING: dict[str, list[Check]] = {"filter": [length(0, 500)]}


def year_range(value: int) -> str | None:
    return "must be 0 (this year) or between 2000 and 2100" if value and not 2000 <= value <= 2100 else None


RULES: dict[type, Rules] = {
    pb.CreateFirmRequest: Rules({**FIRM_FIELDS, "request_id": [length(1, 100)]}),
    pb.GetFirmRequest: Rules({"name": [required]}),
    pb.ListFirmsRequest: Rules({**LISTING, "query": [length(0, 100)]}),
    pb.UpdateFirmRequest: Rules({"firm.name": [required], **FIRM_FIELDS}, "update_mask", "firm", FIRM_MUTABLE),
    pb.CreatePartnerRequest: Rules({"partner.firm": [required], **PARTNER_FIELDS, "request_id": [length(1, 100)]}),
    pb.GetPartnerRequest: Rules({"name": [required]}),
    pb.ListPartnersRequest: Rules(LISTING),
    pb.UpdatePartnerRequest: Rules(
        {"partner.name": [required], **PARTNER_FIELDS}, "update_mask", "partner", PARTNER_MUTABLE
    ),
    pb.CreateApiKeyRequest: Rules({"api_key.partner": [required], "api_key.description": [length(0, 200)]}),
    pb.ListApiKeysRequest: Rules(LISTING),
    pb.RevokeApiKeyRequest: Rules({"name": [required]}),
    pb.ListPartnerCallsRequest: Rules(LISTING),
    pb.MatchInvestorsRequest: Rules({"company": [required]}),
    pb.MatchCompaniesRequest: Rules({"firm": [required]}),
    pb.CreateIntroductionRequest: Rules(
        {
            "introduction.company": [required],
            "introduction.firm": [required],
            "introduction.note": [required, length(1, 2000)],
            "introduction.shared_fields": [max_items(len(domain.SHAREABLE_FIELDS))],
            "request_id": [length(1, 100)],
        }
    ),
    pb.GetIntroductionRequest: Rules({"name": [required]}),
    pb.ListIntroductionsRequest: Rules(LISTING),
    pb.ChangeIntroductionStateRequest: Rules({"name": [required], "state": [required], "reason": [length(0, 500)]}),
    pb.CreateRoundRequest: Rules(
        {"round.company": [required], "round.round_type": [required], "request_id": [length(1, 100)]}
    ),
    pb.GetRoundRequest: Rules({"name": [required]}),
    pb.ListRoundsRequest: Rules(LISTING),
    pb.CloseRoundRequest: Rules({"name": [required]}),
    pb.CancelRoundRequest: Rules({"name": [required], "reason": [length(0, 500)]}),
    pb.GetInvestorStatsRequest: Rules({"year": [year_range]}),
}
# Program managers only, and other services for the dashboard's figures; partners have their own API (partner.py).
ROLES: dict[str, frozenset[str]] = {"GetInvestorStats": frozenset({ADMIN, SERVICE})}
DEFAULT_ROLES = frozenset({ADMIN})


# Values


def krw(value: money_pb2.Money, field: str, *, present: bool, needed: bool = False) -> int:
    """A google.type.Money as whole won. KRW only for now, and KRW has no minor unit."""
    if not present:
        if needed:
            raise errors.invalid(field, "is required")
        return 0
    if value.currency_code != domain.CURRENCY:
        raise errors.invalid(f"{field}.currency_code", "must be KRW (the only currency supported for now)")
    if value.nanos:
        raise errors.invalid(f"{field}.nanos", "must be 0: KRW has no minor unit")
    if value.units < 0:
        raise errors.invalid(f"{field}.units", "must not be negative")
    return int(value.units)


def money(amount: int) -> money_pb2.Money:
    return money_pb2.Money(currency_code=domain.CURRENCY, units=amount)


def today() -> date:
    return datetime.now(KST).date()


def id_of(name: str, collection: str, field: str) -> int | None:
    return parse_name(name, collection, field) if name else None


def ref(collection: str, number: int | None) -> str:
    return f"{collection}/{number}" if number else ""


# Firms


def thesis_pb(thesis: domain.Thesis) -> pb.Thesis:
    message = pb.Thesis(
        title=thesis.title, sectors=thesis.sectors, stages=thesis.stages, geographies=thesis.geographies
    )
    if thesis.ticket_min:
        message.ticket_min.CopyFrom(money(thesis.ticket_min))
    if thesis.ticket_max:
        message.ticket_max.CopyFrom(money(thesis.ticket_max))
    return message


def thesis_of(message: pb.Thesis, field: str) -> domain.Thesis:
    return domain.new_thesis(
        title=message.title,
        sectors=list(message.sectors),
        stages=list(message.stages),
        ticket_min=krw(message.ticket_min, f"{field}.ticket_min", present=message.HasField("ticket_min")),
        ticket_max=krw(message.ticket_max, f"{field}.ticket_max", present=message.HasField("ticket_max")),
        geographies=list(message.geographies),
        field=field,
    )


def firm_pb(firm: domain.Firm) -> pb.Firm:
    return pb.Firm(
        name=firm.name,
        korean_name=firm.korean_name,
        english_name=firm.english_name,
        type=enum_number(pb.FirmType, "FIRM_TYPE", firm.type),
        website=firm.website,
        description=firm.description,
        theses=[thesis_pb(t) for t in firm.theses],
        create_time=timestamp(firm.created_at),
        update_time=timestamp(firm.updated_at),
        etag=firm.etag,
    )


def firm_fields(message: pb.Firm) -> dict[str, Any]:
    return {
        "korean_name": message.korean_name,
        "english_name": message.english_name,
        "type": enum_short(pb.FirmType, "FIRM_TYPE", message.type),
        "website": message.website.strip(),
        "description": message.description.strip(),
        "theses": tuple(thesis_of(t, f"firm.theses[{i}]") for i, t in enumerate(message.theses)),
    }


def firm_snapshot(firm: domain.Firm) -> ev.FirmSnapshot:
    return ev.FirmSnapshot(name=firm.name, korean_name=firm.korean_name, english_name=firm.english_name, type=firm.type)


async def load_firm(conn: Any, firm_id: int, name: str) -> domain.Firm:
    firm = await store.get_firm(conn, firm_id)
    if firm is None:
        raise errors.NotFound("Firm", name)
    return firm


# Partners and keys


def partner_pb(partner: domain.Partner) -> pb.Partner:
    return pb.Partner(
        name=partner.name,
        firm=ref("firms", partner.firm_id),
        korean_name=partner.korean_name,
        english_name=partner.english_name,
        title=partner.title,
        email=partner.email,
        phone=partner.phone,
        focus=partner.focus,
        create_time=timestamp(partner.created_at),
        update_time=timestamp(partner.updated_at),
        etag=partner.etag,
    )


def partner_fields(message: pb.Partner) -> dict[str, Any]:
    return {
        "korean_name": message.korean_name,
        "english_name": message.english_name,
        "title": message.title.strip(),
        "email": message.email,
        "phone": message.phone.strip(),
        "focus": tuple(message.focus),
    }


def partner_snapshot(partner: domain.Partner) -> ev.PartnerSnapshot:
    return ev.PartnerSnapshot(
        name=partner.name,
        firm=ref("firms", partner.firm_id),
        korean_name=partner.korean_name,
        english_name=partner.english_name,
        email=partner.email,
    )


def api_key_pb(key: domain.ApiKey) -> pb.ApiKey:
    return pb.ApiKey(
        name=key.name,
        partner=ref("partners", key.partner_id),
        firm=ref("firms", key.firm_id),
        description=key.description,
        prefix=key.prefix,
        expire_time=timestamp(key.expire_at),
        create_time=timestamp(key.created_at),
        revoke_time=timestamp(key.revoked_at),
    )


# Introductions


def introduction_pb(intro: domain.Introduction) -> pb.Introduction:
    state = pb.IntroductionState

    def number(short: str) -> Any:
        return enum_number(state, "INTRODUCTION_STATE", short)

    return pb.Introduction(
        name=intro.name,
        company=intro.company,
        firm=ref("firms", intro.firm_id),
        partner=ref("partners", intro.partner_id),
        state=number(intro.state),
        note=intro.note,
        shared_fields=intro.shared_fields,
        meeting_time=timestamp(intro.meeting_at),
        history=[
            pb.IntroductionTransition(
                from_state=number(s.from_state),
                to_state=number(s.to_state),
                actor=s.actor,
                reason=s.reason,
                time=timestamp(s.at),
            )
            for s in intro.history
        ],
        create_time=timestamp(intro.created_at),
        update_time=timestamp(intro.updated_at),
        etag=intro.etag,
    )


def introduction_snapshot(intro: domain.Introduction) -> ev.IntroductionSnapshot:
    return ev.IntroductionSnapshot(
        name=intro.name,
        company=intro.company,
        firm=ref("firms", intro.firm_id),
        partner=ref("partners", intro.partner_id),
        state=intro.state,
    )


async def change_introduction_state(
    uow: UnitOfWork,
    name: str,
    target: str,
    *,
    role: str,
    reason: str,
    etag: str,
    meeting_at: datetime | None = None,
    firm_id: int | None = None,
) -> domain.Introduction:
    """Moves an introduction and emits hub.investors.introduction.<state>. A partner (firm_id set) acts only
    on its firm's introductions that were shared with it; any other is NOT_FOUND, as if it did not exist."""
    intro = await store.get_introduction(uow.conn, parse_name(name, "introductions"))
    if intro is None or (firm_id is not None and not intro.visible_to_firm(firm_id)):
        raise errors.NotFound("Introduction", name)
    check_etag(etag, intro.etag)
    moved, step = intro.transition(target, role=role, actor=uow.actor, reason=reason, at=now(), meeting_at=meeting_at)
    saved = await store.save_introduction(uow.conn, moved, step, expected_version=intro.version)
    await uow.emit(
        f"{SUBJECT}.introduction.{target.lower()}",
        saved.name,
        saved.version,
        ev.IntroductionStateChanged(
            introduction=introduction_snapshot(saved),
            from_state=intro.state,
            to_state=saved.state,
            actor=uow.actor,
            reason=step.reason,
            meeting_time=timestamp(saved.meeting_at) if target == domain.MEETING_HELD else None,
        ),
    )
    return saved


# Rounds


def round_pb(found: domain.Round) -> pb.Round:
    message = pb.Round(
        name=found.name,
        company=found.company,
        round_type=enum_number(pb.RoundType, "ROUND_TYPE", found.round_type),
        amount=money(found.amount),
        lead_firm=ref("firms", found.lead_firm_id),
        participants=[pb.Participant(firm=ref("firms", f), amount=money(a)) for f, a in found.participants],
        announce_date=date_message(found.announced_on),
        close_date=date_message(found.closed_on),
        status=enum_number(pb.RoundStatus, "ROUND_STATUS", found.status),
        reporter=found.reporter,
        create_time=timestamp(found.created_at),
        update_time=timestamp(found.updated_at),
        etag=found.etag,
    )
    if found.pre_money:
        message.pre_money_valuation.CopyFrom(money(found.pre_money))
    return message


def round_of(message: pb.Round, *, reporter: str) -> domain.Round:
    participants = [
        (
            parse_name(p.firm, "firms", f"round.participants[{i}].firm"),
            krw(p.amount, f"round.participants[{i}].amount", present=p.HasField("amount")),
        )
        for i, p in enumerate(message.participants)
    ]
    return domain.new_round(
        company_id=parse_name(message.company, "companies", "round.company"),
        round_type=enum_short(pb.RoundType, "ROUND_TYPE", message.round_type),
        amount=krw(message.amount, "round.amount", present=message.HasField("amount"), needed=True),
        pre_money=krw(
            message.pre_money_valuation, "round.pre_money_valuation", present=message.HasField("pre_money_valuation")
        ),
        lead_firm_id=id_of(message.lead_firm, "firms", "round.lead_firm"),
        participants=participants,
        announced_on=calendar_date(message.announce_date, "round.announce_date"),
        closed_on=calendar_date(message.close_date, "round.close_date"),
        status=enum_short(pb.RoundStatus, "ROUND_STATUS", message.status) or domain.OPEN,
        reporter=reporter,
        today=today(),
    )


def round_snapshot(found: domain.Round) -> ev.RoundSnapshot:
    message = ev.RoundSnapshot(
        name=found.name,
        company=found.company,
        round_type=found.round_type,
        amount=money(found.amount),
        lead_firm=ref("firms", found.lead_firm_id),
        participants=[ev.RoundParticipant(firm=ref("firms", f), amount=money(a)) for f, a in found.participants],
        announce_date=date_message(found.announced_on),
        close_date=date_message(found.closed_on),
        status=found.status,
    )
    if found.pre_money:
        message.pre_money_valuation.CopyFrom(money(found.pre_money))
    return message


async def record_round(uow: UnitOfWork, new: domain.Round) -> domain.Round:
    """Records a round of a company the directory knows, with firms that exist; emits round.opened or
    round.closed (a round recorded after it closed)."""
    if await store.get_directory_company(uow.conn, new.company_id) is None:
        raise errors.NotFound("Company", new.company)
    known = await store.firms_by_id(uow.conn, new.firm_ids)
    if missing := sorted(new.firm_ids - set(known)):
        raise errors.NotFound("Firm", f"firms/{missing[0]}")
    saved = await store.insert_round(uow.conn, new)
    if saved.status == domain.CLOSED:
        await uow.emit(
            f"{SUBJECT}.round.closed", saved.name, saved.version, ev.RoundClosed(round=round_snapshot(saved))
        )
    else:
        await uow.emit(
            f"{SUBJECT}.round.opened", saved.name, saved.version, ev.RoundOpened(round=round_snapshot(saved))
        )
    return saved


# Matching


def fit_pb(fit: domain.Fit) -> pb.Fit:
    return pb.Fit(
        score=fit.score,
        thesis=fit.thesis,
        components=[
            pb.ScoreComponent(
                component=c.component, points=c.points, max_points=c.max_points, explanation=c.explanation
            )
            for c in fit.components
        ],
    )


def max_results(requested: int) -> int:
    if requested < 0:
        raise errors.invalid("max_results", "must not be negative")
    return min(requested or DEFAULT_MATCHES, MAX_MATCHES)


def after_id(token: str, query_key: str) -> int | None:
    after = PageTokens.decode(token, query_key, (int,))
    return None if after is None else after[0]


def _names(collection: str, field: str = "filter") -> Any:
    return lambda raw: parse_name(raw.strip(), collection, field)


class InvestorApi(investors_pb2_grpc.InvestorServiceServicer):
    def __init__(self, db: Database) -> None:
        self.db = db

    def _write(self) -> Any:
        return self.db.write(actor=caller().actor)

    # Firms

    async def CreateFirm(self, request: pb.CreateFirmRequest, context: grpc.aio.ServicerContext) -> pb.Firm:
        async def work() -> pb.Firm:
            firm = domain.new_firm(**firm_fields(request.firm))
            async with self._write() as uow:
                firm = await store.insert_firm(uow.conn, firm)
                await uow.emit(
                    f"{SUBJECT}.firm.registered", firm.name, firm.version, ev.FirmRegistered(firm=firm_snapshot(firm))
                )
                response = firm_pb(firm)
                await remember(uow, "CreateFirm", request.request_id, request, response)
            return response

        result: pb.Firm = await self.db.idempotent("CreateFirm", request.request_id, request, pb.Firm, work)
        return result

    async def GetFirm(self, request: pb.GetFirmRequest, context: grpc.aio.ServicerContext) -> pb.Firm:
        firm_id = parse_name(request.name, "firms")
        async with self.db.read() as conn:
            return firm_pb(await load_firm(conn, firm_id, request.name))

    async def ListFirms(self, request: pb.ListFirmsRequest, context: grpc.aio.ServicerContext) -> pb.ListFirmsResponse:
        size = page_size(request.page_size)
        terms = parse_filter(request.filter, {"type": short_value(pb.FirmType, "FIRM_TYPE")})
        query_key = f"{sorted(terms.items())}|{normalize_text(request.query)}"
        after = after_id(request.page_token, query_key)
        c = store.firms.c
        query = sa.select(store.firms).order_by(c.id).limit(size + 1)
        if "type" in terms:
            query = query.where(c.type.in_(terms["type"]))
        if request.query.strip():
            needle = normalize_text(request.query).replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
            query = query.where(c.search_text.like(f"%{needle}%", escape="\\"))
        if after is not None:
            query = query.where(c.id > after)
        async with self.db.read() as conn:
            rows = (await conn.execute(query)).all()
        response = pb.ListFirmsResponse(firms=[firm_pb(store.to_firm(r)) for r in rows[:size]])
        if len(rows) > size:
            response.next_page_token = PageTokens.encode(query_key, [rows[size - 1].id])
        return response

    async def UpdateFirm(self, request: pb.UpdateFirmRequest, context: grpc.aio.ServicerContext) -> pb.Firm:
        firm_id = parse_name(request.firm.name, "firms", "firm.name")
        wanted = firm_fields(request.firm)
        changes = {path: wanted[path] for path in request.update_mask.paths}
        async with self._write() as uow:
            firm = await load_firm(uow.conn, firm_id, request.firm.name)
            check_etag(request.firm.etag, firm.etag)
            updated, changed = domain.update_firm(firm, changes)
            if not changed:
                return firm_pb(firm)
            updated = await store.save_firm(uow.conn, updated, expected_version=firm.version)
            await uow.emit(
                f"{SUBJECT}.firm.updated",
                updated.name,
                updated.version,
                ev.FirmUpdated(firm=firm_snapshot(updated), changed_fields=changed),
            )
        return firm_pb(updated)

    # Partners

    async def CreatePartner(self, request: pb.CreatePartnerRequest, context: grpc.aio.ServicerContext) -> pb.Partner:
        firm_id = parse_name(request.partner.firm, "firms", "partner.firm")

        async def work() -> pb.Partner:
            partner = domain.new_partner(firm_id=firm_id, **partner_fields(request.partner))
            async with self._write() as uow:
                await load_firm(uow.conn, firm_id, request.partner.firm)
                partner = await store.insert_partner(uow.conn, partner)
                await uow.emit(
                    f"{SUBJECT}.partner.registered",
                    partner.name,
                    partner.version,
                    ev.PartnerRegistered(partner=partner_snapshot(partner)),
                )
                response = partner_pb(partner)
                await remember(uow, "CreatePartner", request.request_id, request, response)
            return response

        result: pb.Partner = await self.db.idempotent("CreatePartner", request.request_id, request, pb.Partner, work)
        return result

    async def GetPartner(self, request: pb.GetPartnerRequest, context: grpc.aio.ServicerContext) -> pb.Partner:
        partner_id = parse_name(request.name, "partners")
        async with self.db.read() as conn:
            partner = await store.get_partner(conn, partner_id)
        if partner is None:
            raise errors.NotFound("Partner", request.name)
        return partner_pb(partner)

    async def ListPartners(
        self, request: pb.ListPartnersRequest, context: grpc.aio.ServicerContext
    ) -> pb.ListPartnersResponse:
        size = page_size(request.page_size)
        terms = parse_filter(request.filter, {"firm": _names("firms")})
        query_key = f"{sorted(terms.items())}"
        after = after_id(request.page_token, query_key)
        c = store.partners.c
        query = sa.select(store.partners).order_by(c.id).limit(size + 1)
        if "firm" in terms:
            query = query.where(c.firm_id.in_(terms["firm"]))
        if after is not None:
            query = query.where(c.id > after)
        async with self.db.read() as conn:
            rows = (await conn.execute(query)).all()
        response = pb.ListPartnersResponse(partners=[partner_pb(store.to_partner(r)) for r in rows[:size]])
        if len(rows) > size:
            response.next_page_token = PageTokens.encode(query_key, [rows[size - 1].id])
        return response

    async def UpdatePartner(self, request: pb.UpdatePartnerRequest, context: grpc.aio.ServicerContext) -> pb.Partner:
        partner_id = parse_name(request.partner.name, "partners", "partner.name")
        wanted = partner_fields(request.partner)
        changes = {path: wanted[path] for path in request.update_mask.paths}
        async with self._write() as uow:
            partner = await store.get_partner(uow.conn, partner_id)
            if partner is None:
                raise errors.NotFound("Partner", request.partner.name)
            check_etag(request.partner.etag, partner.etag)
            updated, changed = domain.update_partner(partner, changes)
            if not changed:
                return partner_pb(partner)
            updated = await store.save_partner(uow.conn, updated, expected_version=partner.version)
            await uow.emit(
                f"{SUBJECT}.partner.updated",
                updated.name,
                updated.version,
                ev.PartnerUpdated(partner=partner_snapshot(updated), changed_fields=changed),
            )
        return partner_pb(updated)

    # API keys and the audit log

    async def CreateApiKey(self, request: pb.CreateApiKeyRequest, context: grpc.aio.ServicerContext) -> pb.ApiKey:
        partner_id = parse_name(request.api_key.partner, "partners", "api_key.partner")
        issued = now()
        requested = request.api_key.expire_time.ToDatetime(UTC) if request.api_key.HasField("expire_time") else None
        expire_at = domain.key_expiry(requested, issued)
        secret = KEY_PREFIX + secrets.token_urlsafe(32)
        async with self._write() as uow:
            partner = await store.get_partner(uow.conn, partner_id)
            if partner is None:
                raise errors.NotFound("Partner", request.api_key.partner)
            key = domain.ApiKey(
                id=0,
                partner_id=partner.id,
                firm_id=partner.firm_id,
                prefix=secret[:12],
                expire_at=expire_at,
                description=request.api_key.description.strip(),
            )
            key = await store.insert_api_key(uow.conn, key, token_hash(secret))
            await uow.emit(
                f"{SUBJECT}.api_key.issued",
                key.name,
                1,
                ev.ApiKeyIssued(
                    name=key.name,
                    partner=partner.name,
                    firm=ref("firms", key.firm_id),
                    expire_time=timestamp(key.expire_at),
                ),
            )
        response = api_key_pb(key)
        response.secret = secret  # shown once: only its hash is stored
        return response

    async def ListApiKeys(
        self, request: pb.ListApiKeysRequest, context: grpc.aio.ServicerContext
    ) -> pb.ListApiKeysResponse:
        size = page_size(request.page_size)
        terms = parse_filter(request.filter, {"partner": _names("partners"), "firm": _names("firms")})
        query_key = f"{sorted(terms.items())}|{request.show_revoked}"
        after = after_id(request.page_token, query_key)
        c = store.api_keys.c
        query = sa.select(store.api_keys).order_by(c.id).limit(size + 1)
        if "partner" in terms:
            query = query.where(c.partner_id.in_(terms["partner"]))
        if "firm" in terms:
            query = query.where(c.firm_id.in_(terms["firm"]))
        if not request.show_revoked:
            query = query.where(c.revoked_at.is_(None))
        if after is not None:
            query = query.where(c.id > after)
        async with self.db.read() as conn:
            rows = (await conn.execute(query)).all()
        response = pb.ListApiKeysResponse(api_keys=[api_key_pb(store.to_api_key(r)) for r in rows[:size]])
        if len(rows) > size:
            response.next_page_token = PageTokens.encode(query_key, [rows[size - 1].id])
        return response

    async def RevokeApiKey(self, request: pb.RevokeApiKeyRequest, context: grpc.aio.ServicerContext) -> pb.ApiKey:
        key_id = parse_name(request.name, "apiKeys")
        async with self._write() as uow:
            key = await store.get_api_key(uow.conn, key_id)
            if key is None:
                raise errors.NotFound("ApiKey", request.name)
            revoked = key.revoke(now())
            await store.revoke_api_key(uow.conn, revoked)
            await uow.emit(
                f"{SUBJECT}.api_key.revoked",
                key.name,
                2,
                ev.ApiKeyRevoked(
                    name=key.name, partner=ref("partners", key.partner_id), firm=ref("firms", key.firm_id)
                ),
            )
        return api_key_pb(revoked)

    async def ListPartnerCalls(
        self, request: pb.ListPartnerCallsRequest, context: grpc.aio.ServicerContext
    ) -> pb.ListPartnerCallsResponse:
        size = page_size(request.page_size)
        terms = parse_filter(
            request.filter,
            {"firm": _names("firms"), "api_key": _names("apiKeys"), "code": lambda v: v.strip().upper()},
        )
        query_key = f"{sorted(terms.items())}"
        after = after_id(request.page_token, query_key)
        c = store.partner_calls.c
        query = sa.select(store.partner_calls).order_by(c.id.desc()).limit(size + 1)
        for key, column in (("firm", c.firm_id), ("api_key", c.api_key_id), ("code", c.code)):
            if key in terms:
                query = query.where(column.in_(terms[key]))
        if after is not None:
            query = query.where(c.id < after)
        async with self.db.read() as conn:
            rows = (await conn.execute(query)).all()
        response = pb.ListPartnerCallsResponse(
            partner_calls=[
                pb.PartnerCall(
                    name=f"partnerCalls/{r.id}",
                    api_key=ref("apiKeys", r.api_key_id),
                    partner=ref("partners", r.partner_id),
                    firm=ref("firms", r.firm_id),
                    method=r.method,
                    resource=r.resource,
                    code=r.code,
                    call_time=timestamp(r.called_at),
                    request_id=r.request_id,
                    peer=r.peer,
                )
                for r in rows[:size]
            ]
        )
        if len(rows) > size:
            response.next_page_token = PageTokens.encode(query_key, [rows[size - 1].id])
        return response

    # Matching

    async def MatchInvestors(
        self, request: pb.MatchInvestorsRequest, context: grpc.aio.ServicerContext
    ) -> pb.MatchInvestorsResponse:
        company_id = parse_name(request.company, "companies", "company")
        limit = max_results(request.max_results)
        async with self.db.read() as conn:
            company = await store.get_directory_company(conn, company_id)
            if company is None or company.archived:
                raise errors.NotFound("Company", request.company)
            firms = await store.all_firms(conn)
            amount = (await store.open_round_amounts(conn, [company_id])).get(company_id)
        fits = [(fit, firm) for firm in firms if (fit := domain.best_fit(company, firm, amount))]
        fits.sort(key=lambda pair: (-pair[0].score, pair[1].id))
        return pb.MatchInvestorsResponse(
            matches=[
                pb.InvestorMatch(
                    firm=firm.name, korean_name=firm.korean_name, english_name=firm.english_name, fit=fit_pb(fit)
                )
                for fit, firm in fits[:limit]
            ]
        )

    async def MatchCompanies(
        self, request: pb.MatchCompaniesRequest, context: grpc.aio.ServicerContext
    ) -> pb.MatchCompaniesResponse:
        firm_id = parse_name(request.firm, "firms", "firm")
        limit = max_results(request.max_results)
        async with self.db.read() as conn:
            firm = await load_firm(conn, firm_id, request.firm)
            companies = [c for c in await store.live_directory(conn) if c.status != "WITHDRAWN"]
            amounts = await store.open_round_amounts(conn, [c.id for c in companies])
        fits = [(fit, c) for c in companies if (fit := domain.best_fit(c, firm, amounts.get(c.id)))]
        fits.sort(key=lambda pair: (-pair[0].score, pair[1].id))
        return pb.MatchCompaniesResponse(
            matches=[
                pb.CompanyMatch(company=c.name, korean_name=c.korean_name, english_name=c.english_name, fit=fit_pb(fit))
                for fit, c in fits[:limit]
            ]
        )

    # Introductions

    async def CreateIntroduction(
        self, request: pb.CreateIntroductionRequest, context: grpc.aio.ServicerContext
    ) -> pb.Introduction:
        message = request.introduction
        company_id = parse_name(message.company, "companies", "introduction.company")
        firm_id = parse_name(message.firm, "firms", "introduction.firm")
        partner_id = id_of(message.partner, "partners", "introduction.partner")
        shared = domain.shared_fields(list(message.shared_fields))

        async def work() -> pb.Introduction:
            async with self._write() as uow:
                company = await store.get_directory_company(uow.conn, company_id)
                if company is None:
                    raise errors.NotFound("Company", message.company)
                if company.archived:
                    raise errors.FailedPrecondition(
                        f"{message.company} is archived", type_="ARCHIVED", subject=message.company
                    )
                await load_firm(uow.conn, firm_id, message.firm)
                if partner_id is not None:
                    partner = await store.get_partner(uow.conn, partner_id)
                    if partner is None:
                        raise errors.NotFound("Partner", message.partner)
                    if partner.firm_id != firm_id:
                        raise errors.invalid("introduction.partner", f"is not a partner of {message.firm}")
                if existing := await store.open_introduction(uow.conn, company_id, firm_id):
                    raise _already_open(f"introductions/{existing}", message.company, message.firm)
                intro = domain.new_introduction(
                    company_id=company_id,
                    firm_id=firm_id,
                    note=message.note,
                    partner_id=partner_id,
                    shared=shared,
                    actor=uow.actor,
                    at=now(),
                )
                intro = await store.insert_introduction(uow.conn, intro)
                await uow.emit(
                    f"{SUBJECT}.introduction.requested",
                    intro.name,
                    intro.version,
                    ev.IntroductionRequested(
                        introduction=introduction_snapshot(intro), note=intro.note, actor=uow.actor
                    ),
                )
                response = introduction_pb(intro)
                await remember(uow, "CreateIntroduction", request.request_id, request, response)
            return response

        try:
            result: pb.Introduction = await self.db.idempotent(
                "CreateIntroduction", request.request_id, request, pb.Introduction, work
            )
        except IntegrityError as exc:
            if "introductions" not in str(exc.orig):
                raise
            # A concurrent request for the same pair committed first: the constraint refused this one.
            raise _already_open("", message.company, message.firm) from None
        return result

    async def GetIntroduction(
        self, request: pb.GetIntroductionRequest, context: grpc.aio.ServicerContext
    ) -> pb.Introduction:
        intro_id = parse_name(request.name, "introductions")
        async with self.db.read() as conn:
            intro = await store.get_introduction(conn, intro_id)
        if intro is None:
            raise errors.NotFound("Introduction", request.name)
        return introduction_pb(intro)

    async def ListIntroductions(
        self, request: pb.ListIntroductionsRequest, context: grpc.aio.ServicerContext
    ) -> pb.ListIntroductionsResponse:
        size = page_size(request.page_size)
        terms = parse_filter(
            request.filter,
            {
                "company": _names("companies"),
                "firm": _names("firms"),
                "state": short_value(pb.IntroductionState, "INTRODUCTION_STATE"),
            },
        )
        query_key = f"{sorted(terms.items())}"
        after = after_id(request.page_token, query_key)
        c = store.introductions.c
        query = sa.select(store.introductions).order_by(c.id).limit(size + 1)
        for key, column in (("company", c.company_id), ("firm", c.firm_id), ("state", c.state)):
            if key in terms:
                query = query.where(column.in_(terms[key]))
        if after is not None:
            query = query.where(c.id > after)
        async with self.db.read() as conn:
            found = await store.list_introductions(conn, query)
        response = pb.ListIntroductionsResponse(introductions=[introduction_pb(i) for i in found[:size]])
        if len(found) > size:
            response.next_page_token = PageTokens.encode(query_key, [found[size - 1].id])
        return response

    async def ChangeIntroductionState(
        self, request: pb.ChangeIntroductionStateRequest, context: grpc.aio.ServicerContext
    ) -> pb.Introduction:
        target = enum_short(pb.IntroductionState, "INTRODUCTION_STATE", request.state)
        meeting_at = request.meeting_time.ToDatetime(UTC) if request.HasField("meeting_time") else None
        async with self._write() as uow:
            intro = await change_introduction_state(
                uow,
                request.name,
                target,
                role=caller().role,
                reason=request.reason,
                etag=request.etag,
                meeting_at=meeting_at,
            )
        return introduction_pb(intro)

    # Rounds

    async def CreateRound(self, request: pb.CreateRoundRequest, context: grpc.aio.ServicerContext) -> pb.Round:
        new = round_of(request.round, reporter=caller().actor)

        async def work() -> pb.Round:
            async with self._write() as uow:
                response = round_pb(await record_round(uow, new))
                await remember(uow, "CreateRound", request.request_id, request, response)
            return response

        result: pb.Round = await self.db.idempotent("CreateRound", request.request_id, request, pb.Round, work)
        return result

    async def GetRound(self, request: pb.GetRoundRequest, context: grpc.aio.ServicerContext) -> pb.Round:
        round_id = parse_name(request.name, "rounds")
        async with self.db.read() as conn:
            found = await store.get_round(conn, round_id)
        if found is None:
            raise errors.NotFound("Round", request.name)
        return round_pb(found)

    async def ListRounds(
        self, request: pb.ListRoundsRequest, context: grpc.aio.ServicerContext
    ) -> pb.ListRoundsResponse:
        size = page_size(request.page_size)
        terms = parse_filter(
            request.filter,
            {
                "company": _names("companies"),
                "status": short_value(pb.RoundStatus, "ROUND_STATUS"),
                "firm": _names("firms"),
            },
        )
        query_key = f"{sorted(terms.items())}"
        after = after_id(request.page_token, query_key)
        c, p = store.rounds.c, store.round_participants.c
        query = sa.select(store.rounds).order_by(c.id).limit(size + 1)
        if "company" in terms:
            query = query.where(c.company_id.in_(terms["company"]))
        if "status" in terms:
            query = query.where(c.status.in_(terms["status"]))
        if "firm" in terms:
            query = query.where(c.id.in_(sa.select(p.round_id).where(p.firm_id.in_(terms["firm"]))))
        if after is not None:
            query = query.where(c.id > after)
        async with self.db.read() as conn:
            found = await store.list_rounds(conn, query)
        response = pb.ListRoundsResponse(rounds=[round_pb(r) for r in found[:size]])
        if len(found) > size:
            response.next_page_token = PageTokens.encode(query_key, [found[size - 1].id])
        return response

    async def CloseRound(self, request: pb.CloseRoundRequest, context: grpc.aio.ServicerContext) -> pb.Round:
        on = calendar_date(request.close_date, "close_date") or today()
        if on > today():
            raise errors.invalid("close_date", "is in the future")
        async with self._write() as uow:
            found = await self._load_round(uow, request.name, request.etag)
            closed = await self._save_round(uow, found.close(on), found.version)
            await uow.emit(
                f"{SUBJECT}.round.closed", closed.name, closed.version, ev.RoundClosed(round=round_snapshot(closed))
            )
        return round_pb(closed)

    async def CancelRound(self, request: pb.CancelRoundRequest, context: grpc.aio.ServicerContext) -> pb.Round:
        async with self._write() as uow:
            found = await self._load_round(uow, request.name, request.etag)
            cancelled = await self._save_round(uow, found.cancel(), found.version)
            await uow.emit(
                f"{SUBJECT}.round.cancelled",
                cancelled.name,
                cancelled.version,
                ev.RoundCancelled(round=round_snapshot(cancelled), reason=request.reason.strip()),
            )
        return round_pb(cancelled)

    async def _load_round(self, uow: UnitOfWork, name: str, etag: str) -> domain.Round:
        found = await store.get_round(uow.conn, parse_name(name, "rounds"))
        if found is None:
            raise errors.NotFound("Round", name)
        check_etag(etag, found.etag)
        return found

    async def _save_round(self, uow: UnitOfWork, changed: domain.Round, version: int) -> domain.Round:
        return await store.save_round(uow.conn, changed, expected_version=version)

    async def GetInvestorStats(
        self, request: pb.GetInvestorStatsRequest, context: grpc.aio.ServicerContext
    ) -> pb.InvestorStats:
        year = request.year or datetime.now(SEOUL).year
        closed_in_year = sa.and_(
            store.rounds.c.status == "CLOSED",
            store.rounds.c.closed_on >= date(year, 1, 1),
            store.rounds.c.closed_on < date(year + 1, 1, 1),
        )
        intro = store.introductions.c
        async with self.db.read() as conn:
            by_state = (await conn.execute(sa.select(intro.state, sa.func.count()).group_by(intro.state))).all()
            rounds, raised = (
                await conn.execute(
                    sa.select(sa.func.count(), sa.func.coalesce(sa.func.sum(store.rounds.c.amount_krw), 0)).where(
                        closed_in_year
                    )
                )
            ).one()
            firms = (await conn.execute(sa.select(sa.func.count()).select_from(store.firms))).scalar_one()
        count = pb.InvestorStats.Count
        return pb.InvestorStats(
            year=year,
            introductions_by_state=[count(key=k, count=n) for k, n in sorted(by_state)],
            rounds_closed=rounds,
            funding_raised=money(int(raised)),
            firms=firms,
        )


def _already_open(existing: str, company: str, firm: str) -> errors.AlreadyExists:
    return errors.AlreadyExists(
        "Introduction",
        existing or f"{company} + {firm}",
        f"{company} already has an open introduction to {firm}" + (f" ({existing})" if existing else ""),
    )
