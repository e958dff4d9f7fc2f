"""Proto <-> domain for the investors service: the messages of InvestorService and PartnerService (`*_pb`),
the events' snapshots (`*_snapshot`), and what a request asks for (`*_fields`, `*_of`). Imported by the
servicers, and by the use cases for the events they emit; the domain never imports it."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import UTC, date, datetime, timedelta
from typing import Any, TypedDict

from google.protobuf import timestamp_pb2
from google.type import date_pb2, money_pb2
from hub.events.v1 import companies_pb2 as company_events
from hub.events.v1 import investors_pb2 as ev
from hub.investors.v1 import investors_pb2 as pb
from hub.investors.v1 import partner_dealflow_pb2 as dpb
from hub.investors.v1 import partner_keys_pb2 as kpb
from hub.investors.v1 import partner_pb2 as ppb

from hubcore import errors
from hubcore.calls import Quota
from hubcore.convert import (
    M,
    Reader,
    Writer,
    calendar_date,
    duration_message,
    krw,
    money,
    money_if,
    ref_name,
    timestamp,
)  # fmt: skip
from hubcore.requests import enum_number, enum_short, parse_name
from services.investors import domain

# Values and names

ref = ref_name


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


thesis_pb = Writer(
    pb.Thesis,
    domain.Thesis,
    compute={"ticket_min": lambda t: money_if(t.ticket_min), "ticket_max": lambda t: money_if(t.ticket_max)},
)


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


firm_pb = Writer(pb.Firm, domain.Firm, compute={"theses": lambda firm: [thesis_pb(t) for t in firm.theses]})


class FirmFields(TypedDict):
    korean_name: str
    english_name: str
    type: str
    website: str
    description: str
    theses: tuple[domain.Thesis, ...]


firm_fields = Reader(
    pb.Firm,
    FirmFields,
    "firm",
    strip=("website", "description"),
    read={"theses": lambda m: tuple(thesis_of(t, f"firm.theses[{i}]") for i, t in enumerate(m.theses))},
)


def masked(fields: FirmFields | PartnerFields, paths: Iterable[str]) -> dict[str, object]:
    """The fields an update's mask names (the RULES allow only mutable ones)."""
    paths = set(paths)
    return {path: value for path, value in fields.items() if path in paths}


def firm_changes(message: pb.Firm, paths: Iterable[str]) -> dict[str, object]:
    return masked(firm_fields(message), paths)


firm_snapshot = Writer(ev.FirmSnapshot, domain.Firm)


# Partners, keys and the audit log


partner_pb = Writer(pb.Partner, domain.Partner, refs={"firm": "firms"})


class PartnerFields(TypedDict):
    korean_name: str
    english_name: str
    title: str
    email: str
    phone: str
    focus: tuple[str, ...]


# The firm is the parent a create names (CreatePartner reads it), fixed after.
partner_fields = Reader(pb.Partner, PartnerFields, "partner", strip=("title", "phone"), ignore=("firm",))


def partner_changes(message: pb.Partner, paths: Iterable[str]) -> dict[str, object]:
    return masked(partner_fields(message), paths)


partner_snapshot = Writer(ev.PartnerSnapshot, domain.Partner, refs={"firm": "firms"})
_api_key = Writer(
    pb.ApiKey, domain.ApiKey, refs={"partner": "partners", "firm": "firms"}, skip=("secret",),
    rename={"previous_secret_expire_time": "previous_expire_at"},
)  # fmt: skip
_my_api_key = Writer(
    kpb.MyApiKey, domain.ApiKey, refs={"partner": "partners", "firm": "firms"}, skip=("rate_limit",),
    rename={"previous_secret_expire_time": "previous_expire_at"},
)  # fmt: skip
partner_call_pb = Writer(
    pb.PartnerCall, domain.PartnerCall, refs={"api_key": "apiKeys", "partner": "partners", "firm": "firms"}
)


def api_key_pb(key: domain.ApiKey, secret: str = "") -> pb.ApiKey:
    """The secret is in the answer to the create (and to a rotation) only."""
    return _api_key(key, secret=secret)


def my_api_key_pb(key: domain.ApiKey, quota: Quota | None, reset_time: datetime | None) -> kpb.MyApiKey:
    """The calling key as its partner sees it, with its use of the rate limit as the door counted this call."""
    limit = None
    if quota is not None and reset_time is not None:
        limit = kpb.RateLimit(
            limit=quota.limit, used=quota.used, remaining=quota.remaining,
            window=duration_message(timedelta(seconds=quota.window)), reset_time=timestamp(reset_time),
        )  # fmt: skip
    return _my_api_key(key, rate_limit=limit)


# Introductions


transition_pb = Writer(pb.IntroductionTransition, domain.Transition, rename={"time": "at"})
introduction_pb = Writer(
    pb.Introduction,
    domain.Introduction,
    refs={"firm": "firms", "partner": "partners"},
    compute={"history": lambda intro: [transition_pb(s) for s in intro.history]},
    skip=("firm_display_name",),  # given per call: usecases.firms.firm_names
)
introduction_snapshot = Writer(
    ev.IntroductionSnapshot, domain.Introduction, refs={"firm": "firms", "partner": "partners"}
)
_shared = Writer(ppb.SharedIntroduction, domain.Introduction, refs={"partner": "partners"}, skip=("company",))


def shared_fields(message: pb.Introduction) -> tuple[str, ...]:
    return domain.shared_fields(list(message.shared_fields))


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


def shared_pb(
    intro: domain.Introduction, company: domain.DirectoryCompany | None, fields: tuple[str, ...]
) -> ppb.SharedIntroduction:
    """What the firm sees: the company's fields it may see (the introduction's shared fields the company
    granted it), nothing else of the company or the hub (no status, no history actors, no other firm)."""
    shared = ppb.SharedCompany(name=intro.company)
    if company:
        _fill(shared, company, fields)
    return _shared(intro, company=shared)


def _fill(
    message: ppb.SharedCompany | dpb.DealFlowCompany, company: domain.DirectoryCompany, fields: Iterable[str]
) -> None:
    """Sets the company's fields named (its SHAREABLE_FIELDS the firm may see) on a message that has them."""
    for name in fields:
        value = getattr(company, name)
        if name == "tags":
            message.tags.extend(value)
        else:
            setattr(message, name, value)


def shown_of(answer: ppb.SharedIntroduction) -> domain.Shown:
    """What an answer showed of its company, for the access log (a replayed answer shows what it showed)."""
    company = answer.company
    fields = tuple(f for f in domain.SHAREABLE_FIELDS if (list(company.tags) if f == "tags" else getattr(company, f)))
    intro_id = parse_name(answer.name, "introductions", "name")
    return domain.Shown(intro_id, parse_name(company.name, "companies", "company"), fields)


# Deal flow and KPI updates (partner_dealflow.proto)


def deal_flow_pb(entry: domain.DealFlowEntry) -> dpb.DealFlowCompany:
    message = dpb.DealFlowCompany(
        name=entry.company.name,
        field_groups=group_numbers(entry.groups),
        fit=fit_pb(entry.fit) if entry.fit else None,
        introduction=entry.introduction,
    )
    _fill(message, entry.company, entry.fields)
    return message


_MONEY = {"revenue_krw": "revenue", "funding_raised_krw": "funding_raised", "cash_on_hand_krw": "cash_on_hand",
          "monthly_burn_krw": "monthly_burn"}  # fmt: skip


def company_update_pb(update: domain.CompanyUpdate, groups: tuple[str, ...]) -> dpb.CompanyUpdate:
    """The update with the figures of the groups granted; the others stay unset (absent, not zero)."""
    message = dpb.CompanyUpdate(
        name=update.name, company=update.company, period=update.period, version=update.version,
        report=f"kpiReports/{update.report_id}", field_groups=group_numbers(groups),
        report_time=timestamp(update.reported_at),
    )  # fmt: skip
    for figure, value in update.granted(groups).items():
        if figure in _MONEY:
            getattr(message, _MONEY[figure]).CopyFrom(money(int(value)))  # type: ignore[call-overload]
        elif figure == "exports_usd":
            message.exports.CopyFrom(money_pb2.Money(currency_code="USD", units=int(value)))  # type: ignore[call-overload]
        elif figure == "overseas_countries":
            message.overseas_countries.extend(value)  # type: ignore[arg-type]
        else:
            setattr(message, figure, value)
    return message


def company_update_of(event: company_events.KpiReported, reported_at: datetime) -> domain.CompanyUpdate:
    """A KPI report's figures as the event carries them; an optional figure left unset is unknown (absent)."""
    figures: dict[str, object] = {}
    for figure in domain.KPI_FIGURES:
        if not event.DESCRIPTOR.fields_by_name[figure].has_presence or event.HasField(figure):  # type: ignore[arg-type]
            value = getattr(event, figure)
            figures[figure] = list(value) if figure == "overseas_countries" else value
    return domain.CompanyUpdate(
        id=0,
        company_id=parse_name(event.company, "companies", "company"),
        period=event.period,
        report_id=parse_name(event.report, "kpiReports", "report"),
        figures=figures,
        reported_at=reported_at,
        version=event.version,
    )


# Sharing grants and the access log


def grant_key(name: str, field: str = "name") -> tuple[int, int | None]:
    """companies/7/sharingGrants/3 -> (7, 3): the company and the firm; companies/7/sharingGrants/- -> (7, None),
    the company's grant to every firm."""
    company, sep, grant = name.partition("/sharingGrants/")
    try:
        return parse_name(company, "companies", field), grant_firm(f"firms/{grant}" if sep else "", field)
    except errors.InvalidArgument:
        raise errors.invalid(field, "must look like companies/<number>/sharingGrants/<number or ->") from None


def grant_firm(name: str, field: str) -> int | None:
    """A grant's firm: firms/3 -> 3, firms/- (every firm) -> None."""
    return None if name == domain.EVERY_FIRM else parse_name(name, "firms", field)


def group_numbers(groups: Iterable[str]) -> list[pb.FieldGroup.ValueType]:
    return [enum_number(pb.FieldGroup, "FIELD_GROUP", g) for g in groups]


def field_groups_of(numbers: Iterable[int], field: str) -> tuple[str, ...]:
    groups = []
    for number in numbers:
        if number not in pb.FieldGroup.values() or not number:
            raise errors.invalid(field, f"{number} is not a field group")
        groups.append(enum_short(pb.FieldGroup, "FIELD_GROUP", number))
    return domain.field_groups(groups, field)


sharing_grant_pb = Writer(
    pb.SharingGrant,
    domain.SharingGrant,
    rename={"revoke_time": "revoked_at"},
    compute={"field_groups": lambda g: group_numbers(g.field_groups)},
    skip=("firm_display_name",),  # given per call: usecases.firms.firm_names
)
company_read_pb = Writer(
    pb.CompanyRead,
    domain.CompanyRead,
    refs={"firm": "firms", "partner": "partners", "api_key": "apiKeys", "partner_call": "partnerCalls"},
    rename={"read_time": "read_at"},
    compute={"introductions": lambda r: list(r.introductions), "field_groups": lambda r: group_numbers(r.field_groups)},
)


# Rounds


def _round(message: type[M], participant: Callable[..., Any]) -> Writer[domain.Round, M]:
    """A round as its API message or its events' snapshot: alike but for the participants' message."""
    return Writer(
        message,
        domain.Round,
        refs={"lead_firm": "firms"},
        compute={
            "participants": lambda r: [participant(firm=ref("firms", f), amount=money(a)) for f, a in r.participants],
            "pre_money_valuation": lambda r: money_if(r.pre_money),
        },
    )


round_pb = _round(pb.Round, pb.Participant)
round_snapshot = _round(ev.RoundSnapshot, ev.RoundParticipant)


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


component_pb = Writer(pb.ScoreComponent, domain.Component)
fit_pb = Writer(pb.Fit, domain.Fit, compute={"components": lambda fit: [component_pb(c) for c in fit.components]})


def investor_match_pb(fit: domain.Fit, firm: domain.Firm) -> pb.InvestorMatch:
    return pb.InvestorMatch(
        firm=firm.name, korean_name=firm.korean_name, english_name=firm.english_name, fit=fit_pb(fit)
    )


def company_match_pb(fit: domain.Fit, company: domain.DirectoryCompany) -> pb.CompanyMatch:
    return pb.CompanyMatch(
        company=company.name, korean_name=company.korean_name, english_name=company.english_name, fit=fit_pb(fit)
    )
