"""Proto <-> domain for the investors service: the messages of InvestorService and PartnerService (`*_pb`),
the events' snapshots (`*_snapshot`), and what a request asks for (`*_fields`, `*_of`). Imported by the
servicers, and by the use cases for the events they emit; the domain never imports it."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime
from typing import TypedDict

from google.protobuf import timestamp_pb2
from google.type import date_pb2
from hub.events.v1 import companies_pb2 as company_events
from hub.events.v1 import investors_pb2 as ev
from hub.investors.v1 import investors_pb2 as pb
from hub.investors.v1 import partner_pb2 as ppb

from hubcore import errors
from hubcore.convert import calendar_date, date_message, krw, money, timestamp
from hubcore.requests import enum_number, enum_short, parse_name
from services.investors import domain

# Values and names


def ref(collection: str, number: int | None) -> str:
    return f"{collection}/{number}" if number else ""


def id_of(name: str, collection: str, field: str) -> int | None:
    return parse_name(name, collection, field) if name else None


def names(collection: str, field: str = "filter") -> Callable[[str], int]:
    """A filter value that names a resource (firm=firms/3) as its number."""
    return lambda raw: parse_name(raw.strip(), collection, field)


def time_of(message: timestamp_pb2.Timestamp, present: bool) -> datetime | None:
    return message.ToDatetime(UTC) if present else None


def state_number(short: str) -> pb.IntroductionState.ValueType:
    number: pb.IntroductionState.ValueType = enum_number(pb.IntroductionState, "INTRODUCTION_STATE", short)
    return number


def state_short(number: int) -> str:
    return enum_short(pb.IntroductionState, "INTRODUCTION_STATE", number)


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


class FirmFields(TypedDict):
    korean_name: str
    english_name: str
    type: str
    website: str
    description: str
    theses: tuple[domain.Thesis, ...]


def firm_fields(message: pb.Firm) -> FirmFields:
    return {
        "korean_name": message.korean_name,
        "english_name": message.english_name,
        "type": enum_short(pb.FirmType, "FIRM_TYPE", message.type),
        "website": message.website.strip(),
        "description": message.description.strip(),
        "theses": tuple(thesis_of(t, f"firm.theses[{i}]") for i, t in enumerate(message.theses)),
    }


def masked(fields: FirmFields | PartnerFields, paths: list[str]) -> dict[str, object]:
    """The fields an update's mask names (the RULES allow only mutable ones)."""
    return {path: value for path, value in fields.items() if path in paths}


def firm_snapshot(firm: domain.Firm) -> ev.FirmSnapshot:
    return ev.FirmSnapshot(name=firm.name, korean_name=firm.korean_name, english_name=firm.english_name, type=firm.type)


# Partners, keys and the audit log


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


class PartnerFields(TypedDict):
    korean_name: str
    english_name: str
    title: str
    email: str
    phone: str
    focus: tuple[str, ...]


def partner_fields(message: pb.Partner) -> PartnerFields:
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


def api_key_pb(key: domain.ApiKey, secret: str = "") -> pb.ApiKey:
    return pb.ApiKey(
        name=key.name,
        partner=ref("partners", key.partner_id),
        firm=ref("firms", key.firm_id),
        description=key.description,
        prefix=key.prefix,
        expire_time=timestamp(key.expire_at),
        create_time=timestamp(key.created_at),
        revoke_time=timestamp(key.revoked_at),
        secret=secret,
    )


def partner_call_pb(call: domain.PartnerCall) -> pb.PartnerCall:
    return pb.PartnerCall(
        name=call.name,
        api_key=ref("apiKeys", call.api_key_id),
        partner=ref("partners", call.partner_id),
        firm=ref("firms", call.firm_id),
        method=call.method,
        resource=call.resource,
        code=call.code,
        call_time=timestamp(call.called_at),
        request_id=call.request_id,
        peer=call.peer,
    )


# Introductions


def introduction_pb(intro: domain.Introduction) -> pb.Introduction:
    return pb.Introduction(
        name=intro.name,
        company=intro.company,
        firm=ref("firms", intro.firm_id),
        partner=ref("partners", intro.partner_id),
        state=state_number(intro.state),
        note=intro.note,
        shared_fields=intro.shared_fields,
        meeting_time=timestamp(intro.meeting_at),
        history=[
            pb.IntroductionTransition(
                from_state=state_number(s.from_state),
                to_state=state_number(s.to_state),
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


def shared_fields(message: pb.Introduction) -> tuple[str, ...]:
    return domain.shared_fields(list(message.shared_fields))


def introduction_snapshot(intro: domain.Introduction) -> ev.IntroductionSnapshot:
    return ev.IntroductionSnapshot(
        name=intro.name,
        company=intro.company,
        firm=ref("firms", intro.firm_id),
        partner=ref("partners", intro.partner_id),
        state=intro.state,
    )


def directory_company_of(snapshot: company_events.CompanySnapshot, version: int) -> domain.DirectoryCompany:
    """The directory's copy of a company, from the snapshot every company event carries."""
    return domain.DirectoryCompany(
        id=parse_name(snapshot.name, "companies", "company.name"),
        korean_name=snapshot.korean_name,
        english_name=snapshot.english_name,
        sector=snapshot.sector,
        stage=snapshot.stage,
        status=snapshot.status,
        tags=tuple(snapshot.tags),
        website=snapshot.website,
        archived=snapshot.HasField("delete_time"),
        version=version,
    )


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
        partner=ref("partners", intro.partner_id),
        state=state_number(intro.state),
        note=intro.note,
        meeting_time=timestamp(intro.meeting_at),
        share_time=timestamp(intro.shared_at),
        update_time=timestamp(intro.updated_at),
        etag=intro.etag,
    )


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


def round_of(message: pb.Round, *, reporter: str, today: date) -> domain.Round:
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
        today=today,
    )


def close_date(message: date_pb2.Date, today: date) -> date:
    """The day a round closed: today unless given, and never in the future."""
    on = calendar_date(message, "close_date") or today
    if on > today:
        raise errors.invalid("close_date", "is in the future")
    return on


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


def stats_pb(stats: domain.InvestorStats) -> pb.InvestorStats:
    count = pb.InvestorStats.Count
    return pb.InvestorStats(
        year=stats.year,
        introductions_by_state=[count(key=k, count=n) for k, n in stats.introductions_by_state],
        rounds_closed=stats.rounds_closed,
        funding_raised=money(stats.funding_raised),
        firms=stats.firms,
    )


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


def investor_match_pb(fit: domain.Fit, firm: domain.Firm) -> pb.InvestorMatch:
    return pb.InvestorMatch(
        firm=firm.name, korean_name=firm.korean_name, english_name=firm.english_name, fit=fit_pb(fit)
    )


def company_match_pb(fit: domain.Fit, company: domain.DirectoryCompany) -> pb.CompanyMatch:
    return pb.CompanyMatch(
        company=company.name, korean_name=company.korean_name, english_name=company.english_name, fit=fit_pb(fit)
    )
