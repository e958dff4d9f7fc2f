"""hubctl investors | intros | rounds | audit: the investors service, for program managers."""

from __future__ import annotations

from typing import Annotated

import typer
from hub.investors.v1 import investors_pb2 as ipb

from hubctl import args
from hubctl.client import AllOption, Client, Commands, as_dict, enum_number, print_table, short, when

investors_app = Commands(
    help=("투자사, 파트너, 투자 기준; 기업에 맞는 투자사 (VC firms, their partners and theses; who fits a company).")
)
intros_app = Commands(
    help=("양측 동의 투자 연결: 요청, 추적, 진행 (warm introductions with double opt-in: request, follow, advance).")
)
rounds_app = Commands(help="투자 라운드: 기록, 목록, 마감 (funding rounds: record, list, close).")
audit_app = Commands(help="파트너 API 호출 기록 (the partner API's audit log).")

STATE = ("INTRODUCTION_STATE", ipb.IntroductionState)


# firms

FIRM_COLUMNS = ["id", "이름 name", "영문 English", "유형 type", "분야 sectors", "투자 기준 theses"]


def firm_row(f: ipb.Firm) -> list[str]:
    sectors = sorted({s for t in f.theses for s in t.sectors})
    kind = short(ipb.FirmType, f.type, "FIRM_TYPE").lower()
    return [
        f.name.removeprefix("firms/"),
        f.korean_name,
        f.english_name,
        kind,
        ", ".join(sectors).lower(),
        str(len(f.theses)),
    ]


@investors_app.command("list")
def firms_list(
    hub: Client,
    query: Annotated[str, typer.Option("--query", "-q", help="Text in the firm's names")] = "",
    type_: Annotated[str, typer.Option("--type", help="vc, cvc, angel_network, public_fund, accelerator")] = "",
) -> None:
    """투자사 목록 (list investor firms)."""
    request = ipb.ListFirmsRequest(query=query, filter=args.where(type=type_), page_size=200)
    firms = list(hub.pages(hub.investors.ListFirms, request, "firms"))
    hub.show(firms, f"firms ({len(firms)})", FIRM_COLUMNS, map(firm_row, firms))


@investors_app.command("show")
def firms_show(hub: Client, firm: Annotated[str, typer.Argument(help="3 or firms/3")]) -> None:
    """투자사 하나: 투자 기준과 파트너 (A firm, its theses and partners)."""
    found = hub.call(hub.investors.GetFirm, ipb.GetFirmRequest(name=args.name("firms", firm)))
    partners = list(
        hub.pages(hub.investors.ListPartners, ipb.ListPartnersRequest(filter=f"firm={found.name}"), "partners")
    )
    if hub.printed_json({"firm": as_dict(found), "partners": [as_dict(p) for p in partners]}):
        return
    print_table(found.name, FIRM_COLUMNS, [firm_row(found)])
    rows = [
        (t.title, ", ".join(t.sectors).lower(), ", ".join(t.stages).lower(),
         f"{args.krw(t.ticket_min.units)} – {args.krw(t.ticket_max.units)}", ", ".join(t.geographies))
        for t in found.theses
    ]  # fmt: skip
    print_table("theses", ["제목 title", "분야 sectors", "단계 stages", "투자 규모 ticket", "지역 where"], rows)
    rows = [(p.name.removeprefix("partners/"), p.korean_name, p.title, p.email, ", ".join(p.focus)) for p in partners]
    print_table("파트너 partners", ["id", "이름 name", "직함 title", "이메일 email", "관심 focus"], rows)


@investors_app.command("add")
def firms_add(
    hub: Client,
    korean_name: args.KoreanNameOption,
    type_: Annotated[str, typer.Option("--type", help="vc, cvc, angel_network, public_fund, accelerator")],
    english_name: args.EnglishNameOption = "",
    website: str = "",
    description: str = "",
) -> None:
    """투자사를 등록합니다 (register a firm (add theses with the API or a later edit))."""
    firm = ipb.Firm(
        korean_name=korean_name,
        english_name=english_name,
        type=enum_number(ipb.FirmType, "FIRM_TYPE", type_, "type"),  # type: ignore[arg-type]
        website=website,
        description=description,
    )
    made = hub.call(hub.investors.CreateFirm, ipb.CreateFirmRequest(firm=firm))
    hub.show(made, f"registered {made.name}", FIRM_COLUMNS, [firm_row(made)])


@investors_app.command("add-partner")
def partners_add(
    hub: Client,
    firm: args.FirmOption,
    korean_name: args.KoreanNameOption,
    english_name: args.EnglishNameOption = "",
    title: str = "",
    email: str = "",
    focus: Annotated[list[str] | None, typer.Option(help="A focus area (repeatable)")] = None,
) -> None:
    """투자사에 파트너(사람)를 더합니다 (add a partner (a person) to a firm)."""
    partner = ipb.Partner(
        firm=args.name("firms", firm), korean_name=korean_name, english_name=english_name, title=title, email=email,
        focus=focus or [],
    )  # fmt: skip
    made = hub.call(hub.investors.CreatePartner, ipb.CreatePartnerRequest(partner=partner))
    hub.say(made, f"added {made.name} ({made.korean_name}) to {made.firm}")


FIRM_TYPES = "vc, cvc, angel_network, public_fund, accelerator"
PARTNER_COLUMNS = ["id", "이름 name", "투자사 firm", "직함 title", "이메일 email", "전화 phone", "관심 focus"]
PartnerArgument = Annotated[str, typer.Argument(metavar="PARTNER", help="투자사 파트너 (a partner): 5 or partners/5")]


def partner_row(p: ipb.Partner) -> list[str]:
    return [p.name.removeprefix("partners/"), p.korean_name, p.firm, p.title, p.email, p.phone, ", ".join(p.focus)]


@investors_app.command("edit")
def firms_edit(
    hub: Client,
    firm: Annotated[str, typer.Argument(metavar="FIRM", help="투자사 (a firm): 3 or firms/3")],
    korean_name: args.KoreanNameEdit = None,
    english_name: args.EnglishNameEdit = None,
    type_: Annotated[str | None, typer.Option("--type", help=FIRM_TYPES)] = None,
    website: Annotated[str | None, typer.Option(help="웹사이트 (website)")] = None,
    description: Annotated[str | None, typer.Option(help="소개 (description)")] = None,
    etag: args.EtagOption = "",
) -> None:
    """투자사의 주어진 항목만 바꿉니다; 그 사이 누가 바꿨으면 거절됩니다 (change a firm's fields given, and
    nothing else; refused if the firm changed meanwhile)."""
    saved = args.saved_edit(
        hub, hub.investors.GetFirm, ipb.GetFirmRequest(name=args.name("firms", firm)), hub.investors.UpdateFirm,
        ipb.UpdateFirmRequest, "--website https://hanbit.vc", etag,
        korean_name=korean_name, english_name=english_name, website=website, description=description,
        type=None if type_ is None else enum_number(ipb.FirmType, "FIRM_TYPE", type_, "type"),
    )  # fmt: skip
    hub.show(saved, f"수정함 (updated) {saved.name}", FIRM_COLUMNS, [firm_row(saved)])


@investors_app.command("partners")
def partners_list(
    hub: Client, firm: Annotated[str, typer.Option(help="이 투자사만 (one firm): 3 or firms/3")] = ""
) -> None:
    """투자사 파트너 목록 (the firms' partners)."""
    request = ipb.ListPartnersRequest(filter=args.where(firm=args.name_if_given("firms", firm)), page_size=200)
    hub.table(hub.pages(hub.investors.ListPartners, request, "partners"), "파트너 partners", PARTNER_COLUMNS,
              partner_row)  # fmt: skip


@investors_app.command("partner")
def partners_show(hub: Client, partner: PartnerArgument) -> None:
    """파트너 한 명과 그 버전 (one partner, with their etag for an edit)."""
    found = hub.call(hub.investors.GetPartner, ipb.GetPartnerRequest(name=args.name("partners", partner)))
    hub.show(found, found.name, [*PARTNER_COLUMNS, "버전 etag"], [[*partner_row(found), found.etag]])


@investors_app.command("edit-partner")
def partners_edit(
    hub: Client,
    partner: PartnerArgument,
    korean_name: args.KoreanNameEdit = None,
    english_name: args.EnglishNameEdit = None,
    email: args.EmailEdit = None,
    title: Annotated[str | None, typer.Option(help="직함 (title)")] = None,
    phone: Annotated[str | None, typer.Option(help="전화, 예: +821012345678 (phone, E.164)")] = None,
    focus: Annotated[list[str] | None, typer.Option(help="관심 분야 전체를 바꿈, 반복 가능 (replaces all)")] = None,
    etag: args.EtagOption = "",
) -> None:
    """파트너의 주어진 항목만 바꿉니다; 그 사이 누가 바꿨으면 거절됩니다 (change a partner's fields given;
    refused if the partner changed meanwhile)."""
    saved = args.saved_edit(
        hub, hub.investors.GetPartner, ipb.GetPartnerRequest(name=args.name("partners", partner)),
        hub.investors.UpdatePartner, ipb.UpdatePartnerRequest, "--title '파트너'", etag,
        korean_name=korean_name, english_name=english_name, title=title, email=email, phone=phone, focus=focus,
    )  # fmt: skip
    hub.show(saved, f"수정함 (updated) {saved.name}", PARTNER_COLUMNS, [partner_row(saved)])


@investors_app.command("match")
def firms_match(
    hub: Client,
    company: args.CompanyArgument,
    limit: Annotated[int, typer.Option(help="At most this many firms")] = 10,
) -> None:
    """기업에 가장 잘 맞는 투자사와 그 이유 (firms whose theses fit a company best, with why)."""
    found = hub.call(
        hub.investors.MatchInvestors,
        ipb.MatchInvestorsRequest(company=args.name("companies", company), max_results=limit),
    )
    if hub.printed_json(list(found.matches)):
        return
    rows = [
        (m.firm.removeprefix("firms/"), m.korean_name, m.fit.score, m.fit.thesis,
         "; ".join(f"{c.component} {c.points}/{c.max_points}: {c.explanation}" for c in m.fit.components))
        for m in found.matches
    ]  # fmt: skip
    print_table(
        f"firms for {args.name('companies', company)}",
        ["id", "이름 name", "점수 score", "투자 기준 thesis", "이유 why"],
        rows,
    )


# introductions


def intro_row(i: ipb.Introduction, tz: str) -> list[str]:
    state = short(ipb.IntroductionState, i.state, STATE[0]).lower()
    return [i.name.removeprefix("introductions/"), i.company, i.firm, state, when(i.update_time, tz), i.note[:40]]


INTRO_COLUMNS = ["id", "기업 company", "투자사 firm", "상태 state", "수정 updated", "메모 note"]


@intros_app.command("request")
def intros_request(
    hub: Client,
    company: args.CompanyOption,
    firm: args.FirmOption,
    note: Annotated[str, typer.Option(help="Why these two should meet (the firm reads it)")],
    partner: Annotated[str, typer.Option(help="7 or partners/7, to address one partner")] = "",
) -> None:
    """투자 연결을 요청합니다: 먼저 기업의 동의를 받습니다 (request an introduction (the company is asked to
    consent first))."""
    intro = ipb.Introduction(
        company=args.name("companies", company), firm=args.name("firms", firm), note=note,
        partner=args.name_if_given("partners", partner),
    )  # fmt: skip
    made = hub.call(hub.investors.CreateIntroduction, ipb.CreateIntroductionRequest(introduction=intro))
    hub.show(made, f"requested {made.name}", INTRO_COLUMNS, [intro_row(made, hub.config.tz)])


@intros_app.command("list")
def intros_list(
    hub: Client,
    company: args.CompanyOption = "",
    firm: args.FirmOption = "",
    state: Annotated[str, typer.Option(help="requested, company_consented, partner_accepted, …")] = "",
) -> None:
    """투자 연결 목록 (list introductions)."""
    terms = args.where(
        company=args.name_if_given("companies", company), firm=args.name_if_given("firms", firm), state=state
    )
    request = ipb.ListIntroductionsRequest(filter=terms, page_size=200)
    found = list(hub.pages(hub.investors.ListIntroductions, request, "introductions"))
    hub.show(found, f"introductions ({len(found)})", INTRO_COLUMNS, (intro_row(i, hub.config.tz) for i in found))


@intros_app.command("show")
def intros_show(hub: Client, intro: Annotated[str, typer.Argument(help="5 or introductions/5")]) -> None:
    """투자 연결 하나와 그 이력: 누가, 언제, 왜 옮겼는지 (an introduction and its history: who moved it, when, and
    why)."""
    found = hub.call(hub.investors.GetIntroduction, ipb.GetIntroductionRequest(name=args.name("introductions", intro)))
    if hub.printed_json(found):
        return
    print_table(found.name, INTRO_COLUMNS, [intro_row(found, hub.config.tz)])
    rows = [
        (when(h.time, hub.config.tz), short(ipb.IntroductionState, h.from_state, STATE[0]).lower(),
         short(ipb.IntroductionState, h.to_state, STATE[0]).lower(), h.actor, h.reason)
        for h in found.history
    ]  # fmt: skip
    print_table("history", ["시각 when", "이전 from", "이후 to", "누가 by", "이유 why"], rows)


@intros_app.command("advance")
def intros_advance(
    hub: Client,
    intro: Annotated[str, typer.Argument(help="5 or introductions/5")],
    state: Annotated[str, typer.Argument(help="company_consented, partner_accepted, meeting_held, invested, …")],
    reason: args.ReasonOption = "",
) -> None:
    """투자 연결을 다음 단계로 옮깁니다 (허용되지 않는 이동은 거절) (move an introduction to its next state
    (refused if the state machine does not allow it))."""
    number = enum_number(ipb.IntroductionState, STATE[0], state, "state")
    moved = hub.call(
        hub.investors.ChangeIntroductionState,
        ipb.ChangeIntroductionStateRequest(name=args.name("introductions", intro), state=number, reason=reason),  # type: ignore[arg-type]
    )
    hub.show(moved, f"{moved.name} is now {state.lower()}", INTRO_COLUMNS, [intro_row(moved, hub.config.tz)])


# rounds


def round_row(r: ipb.Round) -> list[str]:
    return [r.name.removeprefix("rounds/"), r.company, short(ipb.RoundType, r.round_type, "ROUND_TYPE").lower(),
            args.krw(r.amount.units), r.lead_firm, short(ipb.RoundStatus, r.status, "ROUND_STATUS").lower(),
            args.iso(r.close_date)]  # fmt: skip


ROUND_COLUMNS = ["id", "기업 company", "유형 type", "금액 amount", "리드 lead", "상태 status", "마감 closed"]


FundingRoundArgument = Annotated[
    str, typer.Argument(metavar="ROUND", help="투자 라운드 (a funding round): 4 or rounds/4")
]
CloseDayOption = Annotated[str, typer.Option(help="마감일 YYYY-MM-DD (close date; default today, Asia/Seoul)")]


@rounds_app.command("record")
def rounds_record(
    hub: Client,
    company: args.CompanyOption,
    type_: Annotated[str, typer.Option("--type", help="pre_seed, seed, pre_a, series_a, …")],
    amount: Annotated[str, typer.Option(help="KRW: 1500000000, 15억, 5000만")],
    lead: args.FirmOption = "",
    pre_money: Annotated[str, typer.Option(help="Pre-money valuation, KRW")] = "",
    closed: CloseDayOption = "",
) -> None:
    """투자 라운드를 기록합니다 (record a funding round (open, or closed with --closed))."""
    new = ipb.Round(
        company=args.name("companies", company),
        round_type=enum_number(ipb.RoundType, "ROUND_TYPE", type_, "round type"),  # type: ignore[arg-type]
        amount=args.parse_krw(amount),
        lead_firm=args.name_if_given("firms", lead),
    )
    if pre_money:
        new.pre_money_valuation.CopyFrom(args.parse_krw(pre_money))
    if closed:
        new.status = ipb.ROUND_STATUS_CLOSED
        new.close_date.CopyFrom(args.day(closed, "--closed"))
    made = hub.call(hub.investors.CreateRound, ipb.CreateRoundRequest(round=new))
    hub.show(made, f"recorded {made.name}", ROUND_COLUMNS, [round_row(made)])


@rounds_app.command("list")
def rounds_list(
    hub: Client,
    company: args.CompanyOption = "",
    status: Annotated[str, typer.Option(help="open, closed or cancelled")] = "",
) -> None:
    """투자 라운드 목록 (list funding rounds)."""
    request = ipb.ListRoundsRequest(
        filter=args.where(company=args.name_if_given("companies", company), status=status), page_size=200
    )
    found = list(hub.pages(hub.investors.ListRounds, request, "rounds"))
    hub.show(found, f"rounds ({len(found)})", ROUND_COLUMNS, map(round_row, found))


@rounds_app.command("close")
def rounds_close(hub: Client, round_: FundingRoundArgument, on: CloseDayOption = "") -> None:
    """진행 중인 라운드를 마감합니다; 기업의 투자 유치액에 더해집니다 (close an open round; the company's funding
    raised grows by it)."""
    request = ipb.CloseRoundRequest(name=args.name("rounds", round_))
    if on:
        request.close_date.CopyFrom(args.day(on, "--on"))
    closed = hub.call(hub.investors.CloseRound, request)
    hub.show(closed, f"closed {closed.name}", ROUND_COLUMNS, [round_row(closed)])


# the partner API's audit log (partner keys: hubctl/tokens.py)


@audit_app.command("list")
def audit_list(
    hub: Client,
    firm: args.FirmOption = "",
    code: Annotated[str, typer.Option(help="OK, PERMISSION_DENIED, UNAUTHENTICATED, …")] = "",
    limit: args.NewestLimitOption = 50,
    all_: AllOption = False,
) -> None:
    """파트너 API 호출 기록: 누가, 무엇을, 어떤 응답 (every partner API call: who, what, and the answer)."""
    terms = args.where(firm=args.name_if_given("firms", firm), code=code)
    request = ipb.ListPartnerCallsRequest(filter=terms, page_size=args.page_size(limit))
    found = list(hub.pages(hub.investors.ListPartnerCalls, request, "partner_calls", 0 if all_ else limit))
    if hub.printed_json(found):
        return
    rows = [
        (when(c.call_time, hub.config.tz), c.partner, c.firm, c.method.rsplit("/", 1)[-1], c.resource, c.code)
        for c in found
    ]
    print_table(
        f"partner API calls ({len(found)})",
        ["시각 when", "파트너 partner", "투자사 firm", "호출 method", "대상 resource", "응답 answer"],
        rows,
    )
