"""hubctl selection | spaces | kpi | support | milestones | growth: the hub program (the companies service's
ProgramService), for program managers. Companies are shown by their Korean names, amounts the Korean way."""

from __future__ import annotations

from typing import Annotated, Any

import typer
from google.type import money_pb2
from hub.companies.v1 import companies_pb2 as cpb
from hub.companies.v1 import program_pb2 as pb

from hubctl import args
from hubctl.client import AllOption, Client, Commands, as_dict, enum_number, fail, print_table, short, when

selection_app = Commands(
    help=(
        "선발 회차: 접수, 지원서, 심사 점수, 순위, 결정 (selection rounds: open, applications, reviewer "
        "scores, ranking, decisions)."
    )
)
spaces_app = Commands(
    help=(
        "사무실과 데스크: 등록, 입주 배정, 퇴거, 입주 현황 (offices and desks: who sits where, move-ins, "
        "move-outs, occupancy)."
    )
)
kpi_app = Commands(help="KPI 보고와 요청 (KPI reports, versioned; requests and their completion; trends, cohorts).")
support_app = Commands(
    help=(
        "지원 실적(GPU 시간, 교육, 클리닉 등): 장부와 한도 (support granted (GPU hours, education, clinics, "
        "…): the ledger and quotas)."
    )
)
milestones_app = Commands(
    help="마일스톤: 출시, 첫 고객, 투자 유치, 해외 진출 (milestones: launch, first customer, funding, abroad)."
)


def company_names(hub: Client) -> dict[str, str]:
    """companies/N -> its Korean name, for the tables (one listing, not a call per row)."""
    request = cpb.ListCompaniesRequest(page_size=500, show_deleted=True)
    return {c.name: c.korean_name for c in hub.pages(hub.companies.ListCompanies, request, "companies")}


def holder_names(hub: Client) -> dict[str, str]:
    """companies/N and people/N (the individual residents) -> their Korean names, for the spaces' tables."""
    request = cpb.ListPeopleRequest(page_size=500, filter="role=INDIVIDUAL")
    people = {p.name: p.korean_name for p in hub.pages(hub.companies.ListPeople, request, "people")}
    return company_names(hub) | people


def who(names: dict[str, str], resource: str) -> str:
    return f"{names[resource]} ({resource.split('/')[1]})" if resource in names else resource


# selection

SEATS = {"offices": pb.SEAT_KIND_PRIVATE_OFFICE, "desks": pb.SEAT_KIND_OPEN_DESK, "individual": pb.SEAT_KIND_INDIVIDUAL}
STATE = "APPLICATION_STATE"


def round_row(r: pb.Round) -> list[Any]:
    seats = ", ".join(f"{short(pb.SeatKind, s.kind, 'SEAT_KIND').lower()} {s.count}" for s in r.seats)
    span = f"{args.iso(r.open_date)} – {args.iso(r.close_date)}"
    return [r.name.removeprefix("rounds/"), r.title, span, seats, r.application_count, f"{r.competition_ratio:.2f}"]


ROUND_COLUMNS = ["id", "제목 title", "접수 open", "좌석 seats", "지원 applications", "경쟁률 per seat"]


@selection_app.command("rounds")
def selection_rounds(
    hub: Client,
    limit: args.LimitOption = 50,
    all_: AllOption = False,
) -> None:
    """선발 회차, 최근 순, 경쟁률과 함께 (selection rounds, newest first, with their competition)."""
    request = pb.ListRoundsRequest(page_size=100)
    found = list(hub.pages(hub.program.ListRounds, request, "rounds", 0 if all_ else limit))
    hub.show(found, f"selection rounds ({len(found)})", ROUND_COLUMNS, [round_row(r) for r in found])


@selection_app.command("open")
def selection_open(
    hub: Client,
    title: Annotated[str, typer.Option(help="e.g. '2026 하반기 입주기업 모집'")],
    start: Annotated[str, typer.Option("--from", help="First day applications are taken, YYYY-MM-DD")],
    end: Annotated[str, typer.Option("--to", help="Last day, YYYY-MM-DD")],
    criterion: Annotated[list[str], typer.Option(help="key:title:weight, e.g. tech:기술성:40 (repeatable)")],
    offices: Annotated[int, typer.Option(help="Private office seats offered")] = 0,
    desks: Annotated[int, typer.Option(help="Open desks offered")] = 0,
    individual: Annotated[int, typer.Option(help="Seats for individuals")] = 0,
    question: Annotated[list[str] | None, typer.Option(help="A question applicants answer (repeatable)")] = None,
    request_id: args.RequestIdOption = "",
) -> None:
    """지원 접수를 엽니다 (open a call for applications)."""
    criteria = []
    for text in criterion:
        parts = text.split(":")
        if len(parts) != 3 or not parts[2].strip().isdigit():
            fail(f"--criterion {text!r}: write key:title:weight, e.g. tech:기술성:40", 3)
        criteria.append(pb.Round.Criterion(key=parts[0], title=parts[1], weight=int(parts[2])))
    counts = {"offices": offices, "desks": desks, "individual": individual}
    seats = [pb.Round.Seats(kind=SEATS[k], count=n) for k, n in counts.items() if n]
    r = pb.Round(
        title=title, open_date=args.day(start, "--from"), close_date=args.day(end, "--to"), seats=seats,
        criteria=criteria, questions=question or [],
    )  # fmt: skip
    made = hub.call(hub.program.CreateRound, pb.CreateRoundRequest(round=r, request_id=args.retry_safe(request_id)))
    hub.show(made, f"opened {made.name}", ROUND_COLUMNS, [round_row(made)])


APPLICATION_COLUMNS = [
    "id",
    "회차 round",
    "지원자 applicant",
    "좌석 seat",
    "상태 state",
    "사유 reason",
    "접수 submitted",
]
ApplicationArgument = Annotated[str, typer.Argument(help="3 or applications/3")]


def application_row(a: pb.Application, names: dict[str, str], tz: str) -> list[Any]:
    return [
        a.name.removeprefix("applications/"), a.round, who(names, a.applicant),
        short(pb.SeatKind, a.seat_kind, "SEAT_KIND").lower(), short(pb.ApplicationState, a.state, STATE).lower(),
        a.decision_reason, when(a.create_time, tz),
    ]  # fmt: skip


@selection_app.command("applications")
def selection_applications(
    hub: Client,
    round_: args.RoundOption = "",
    state: Annotated[str, typer.Option(help="submitted, selected, waitlisted, rejected")] = "",
    company: args.CompanyOption = "",
) -> None:
    """지원서, 접수 순 (applications in submission order)."""
    terms = args.where(
        round=args.name_if_given("rounds", round_), state=state, applicant=args.name_if_given("companies", company)
    )
    request = pb.ListApplicationsRequest(filter=terms, page_size=200)
    found = list(hub.pages(hub.program.ListApplications, request, "applications"))
    names = company_names(hub) if found and not hub.config.json else {}
    rows = [application_row(a, names, hub.config.tz) for a in found]
    hub.show(found, f"applications ({len(found)})", APPLICATION_COLUMNS, rows)


@selection_app.command("apply")
def selection_apply(
    hub: Client,
    round_: args.RoundOption,
    company: Annotated[str, typer.Option(help="42 or companies/42 (or --person for an individual)")] = "",
    person: Annotated[str, typer.Option(help="7 or people/7: an individual applicant")] = "",
    seat: Annotated[str, typer.Option(help="office, desk (companies) or individual (people)")] = "desk",
    attachment: Annotated[list[str] | None, typer.Option(help="URL of a pitch deck, plan (repeatable)")] = None,
    request_id: args.RequestIdOption = "",
) -> None:
    """회차가 열려 있는 동안 지원서를 냅니다 (submit an application while the round is open)."""
    if bool(company) == bool(person):
        fail("give --company or --person (one of them)", 2)
    kinds = {"office": "PRIVATE_OFFICE", "desk": "OPEN_DESK", "individual": "INDIVIDUAL"}
    application = pb.Application(
        round=args.name("rounds", round_),
        applicant=args.name("companies", company) if company else args.name("people", person),
        seat_kind=enum_number(pb.SeatKind, "SEAT_KIND", kinds.get(seat, seat), "seat"),  # type: ignore[arg-type]
        attachment_urls=attachment or [],
    )
    made = hub.call(
        hub.program.CreateApplication,
        pb.CreateApplicationRequest(application=application, request_id=args.retry_safe(request_id)),
    )
    hub.show(made, f"submitted {made.name}", APPLICATION_COLUMNS, [application_row(made, {}, hub.config.tz)])


@selection_app.command("rank")
def selection_rank(
    hub: Client,
    round_: Annotated[str, typer.Argument(help="1 or rounds/1")],
    normalized: Annotated[
        bool, typer.Option(help="심사위원별 정규화 점수 순 (by scores normalized per reviewer)")
    ] = False,
) -> None:
    """회차의 지원서를 가중 점수(또는 심사위원별 정규화 점수) 순으로, 그 이유와 함께 (A round's applications by
    weighted score (or normalized per reviewer), each saying why it stands there)."""
    scale = pb.SCORE_SCALE_NORMALIZED if normalized else pb.SCORE_SCALE_RAW
    request = pb.RankApplicationsRequest(round=args.name("rounds", round_), scale=scale)
    ranked = hub.call(hub.program.RankApplications, request)
    names = company_names(hub) if ranked.entries and not hub.config.json else {}
    rows = [
        [e.rank, e.application.removeprefix("applications/"), who(names, e.applicant), f"{e.weighted_score:.2f}",
         f"{e.normalized_score:+.2f}", e.reviews, short(pb.ApplicationState, e.state, STATE).lower(), e.explanation]
        for e in ranked.entries
    ]  # fmt: skip
    columns = [
        "#",
        "지원서 application",
        "지원자 applicant",
        "점수 score",
        "정규화 normalized",
        "심사 reviews",
        "상태 state",
        "이유 why",
    ]
    hub.show(as_dict(ranked), f"ranking of {args.name('rounds', round_)}", columns, rows)


@selection_app.command("decide")
def selection_decide(
    hub: Client,
    application: ApplicationArgument,
    decision: Annotated[str, typer.Argument(help="selected, waitlisted or rejected")],
    reason: args.RequiredReasonOption,
) -> None:
    """지원서를 선발(기업은 SELECTED), 대기 또는 탈락시킵니다 (select (the company becomes SELECTED), waitlist or
    reject an application)."""
    number = enum_number(pb.ApplicationState, STATE, decision, "decision")
    request = pb.DecideApplicationRequest(name=args.name("applications", application), decision=number, reason=reason)  # type: ignore[arg-type]
    decided = hub.call(hub.program.DecideApplication, request)
    hub.show(decided, f"{decided.name} {decision.lower()}", APPLICATION_COLUMNS,
         [application_row(decided, {}, hub.config.tz)])  # fmt: skip


# spaces


SPACE_COLUMNS = ["id", "호실 label", "구분 kind", "층 floor", "좌석 seats"]
SPACE_KINDS = {pb.SPACE_KIND_PRIVATE_OFFICE: "독립 사무실 office", pb.SPACE_KIND_OPEN_DESK: "오픈 데스크 desk"}


def space_row(s: pb.Space) -> list[Any]:
    return [s.name.removeprefix("spaces/"), s.label, SPACE_KINDS.get(s.kind, ""), s.floor, s.seats]


@spaces_app.command("list")
def spaces_list(hub: Client) -> None:
    """사무실과 데스크 목록 (offices and desks)."""
    hub.table(hub.call(hub.program.ListSpaces, pb.ListSpacesRequest()).spaces, "공간 spaces", SPACE_COLUMNS, space_row)


@spaces_app.command("add")
def spaces_add(
    hub: Client,
    label: Annotated[str, typer.Option(help="호실 번호나 데스크 이름, 예: 601, D-07 (room number or desk label)")],
    kind: Annotated[str, typer.Option(help="private_office 독립 사무실 or open_desk 오픈 데스크")],
    floor: args.FloorOption,
    seats: Annotated[int, typer.Option(help="좌석 수 (seats)")] = 1,
    request_id: args.RequestIdOption = "",
) -> None:
    """입주 공간(사무실·데스크)을 등록합니다 (add an office or a desk residents can be assigned to)."""
    space = pb.Space(label=label, kind=enum_number(pb.SpaceKind, "SPACE_KIND", kind, "kind"), floor=floor,  # type: ignore[arg-type]
                     seats=seats)  # fmt: skip
    made = hub.call(hub.program.CreateSpace, pb.CreateSpaceRequest(space=space, request_id=args.retry_safe(request_id)))
    hub.show(made, f"등록함 (added) {made.name}", SPACE_COLUMNS, [space_row(made)])


ASSIGNMENT_COLUMNS = ["id", "공간 (space)", "입주자 (holder)", "구분", "입주일 (move in)", "퇴거일 (move out)", "사유"]
HOLDER_KINDS = {"companies": "기업", "people": "개인"}


def assignment_rows(hub: Client, assignments: list[pb.Assignment]) -> list[list[Any]]:
    """One row per stay; the holder (a company or an individual resident) by its Korean name."""
    names = holder_names(hub) if assignments and not hub.config.json else {}
    return [
        [a.name.removeprefix("assignments/"), a.space, who(names, a.holder or a.company),
         HOLDER_KINDS.get((a.holder or a.company).split("/")[0], ""), args.iso(a.move_in_date),
         args.iso(a.move_out_date), short(pb.MoveOutReason, a.move_out_reason, "MOVE_OUT_REASON").lower()]
        for a in assignments
    ]  # fmt: skip


@spaces_app.command("assign")
def spaces_assign(
    hub: Client,
    space: Annotated[str, typer.Option(help="3 or spaces/3")],
    start: Annotated[str, typer.Option("--from", help="입주일 (move-in day), YYYY-MM-DD")],
    company: Annotated[str, typer.Option(help="입주 기업: 42 or companies/42")] = "",
    person: Annotated[str, typer.Option(help="개인 입주자 (an individual resident): 7 or people/7")] = "",
    until: Annotated[str, typer.Option(help="First free day after the stay, YYYY-MM-DD (open-ended if unset)")] = "",
    request_id: args.RequestIdOption = "",
) -> None:
    """입주: a company (--company) or an individual resident (--person) moves into a space. The holder becomes
    RESIDENT on the move-in day (at once if it is today or past); refused, naming the holder, if the space is
    taken."""
    if bool(company) == bool(person):
        fail("입주자를 하나만 지정하세요: --company 또는 --person (give exactly one of --company, --person)", 2)
    holder = args.name("companies", company) if company else args.name("people", person)
    assignment = pb.Assignment(space=args.name("spaces", space), holder=holder, move_in_date=args.day(start, "--from"))
    if until:
        assignment.move_out_date.CopyFrom(args.day(until, "--until"))
    made = hub.call(
        hub.program.AssignSpace,
        pb.AssignSpaceRequest(assignment=assignment, request_id=args.retry_safe(request_id)),
    )
    hub.show(made, f"assigned {made.name}", ASSIGNMENT_COLUMNS, assignment_rows(hub, [made]))


@spaces_app.command("end")
def spaces_end(
    hub: Client,
    assignment: Annotated[str, typer.Argument(help="5 or assignments/5")],
    on: Annotated[str, typer.Option(help="First free day, YYYY-MM-DD")],
    reason: Annotated[str, typer.Option(help="graduated, withdrawn or relocated")],
) -> None:
    """퇴거: the holder moves out; at graduated or withdrawn its status (a company's or an individual's) follows."""
    number: Any = enum_number(pb.MoveOutReason, "MOVE_OUT_REASON", reason, "reason")
    request = pb.EndAssignmentRequest(
        name=args.name("assignments", assignment), move_out_date=args.day(on, "--on"), reason=number
    )
    ended = hub.call(hub.program.EndAssignment, request)
    hub.show(ended, f"ended {ended.name}", ASSIGNMENT_COLUMNS, assignment_rows(hub, [ended]))


@spaces_app.command("occupancy")
def spaces_occupancy(
    hub: Client,
    on: Annotated[str, typer.Option(help="A day, YYYY-MM-DD (default today)")] = "",
    months: Annotated[int, typer.Option(help="Instead: month by month, this many months up to this one")] = 0,
) -> None:
    """어느 날 누가 어디에 입주해 있는지, 또는 월별 입주율 (who occupies what on a day, or occupancy month by
    month)."""
    if months:
        history = hub.call(hub.program.GetOccupancyHistory, pb.GetOccupancyHistoryRequest(months=months))
        rows = [
            [args.iso(p.date)[:7], f"{p.offices_taken}/{p.offices_total}", f"{p.desks_taken}/{p.desks_total}"]
            for p in history.points
        ]
        hub.show(as_dict(history), "occupancy by month", ["month", "offices", "desks"], rows)
        return
    request = pb.GetOccupancyRequest(date=args.day(on, "--on")) if on else pb.GetOccupancyRequest()
    occupancy = hub.call(hub.program.GetOccupancy, request)
    if hub.printed_json(occupancy):
        return
    figures = [
        [f"{occupancy.offices_taken}/{occupancy.offices_total}", f"{occupancy.desks_taken}/{occupancy.desks_total}"]
    ]
    figures[0] += [occupancy.resident_companies, occupancy.resident_individuals]
    columns = ["보육실 (offices)", "오픈 데스크 (desks)", "입주 기업", "개인 입주자"]
    print_table(f"입주 현황 {args.iso(occupancy.date)} (occupancy)", columns, figures)
    print_table("입주 배정 (assignments)", ASSIGNMENT_COLUMNS, assignment_rows(hub, list(occupancy.assignments)))


# KPI


KPI_COLUMNS = [
    "기간 period",
    "버전 version",
    "인원 headcount",
    "매출 revenue",
    "투자 유치 funding",
    "고객 customers",
    "특허 patents",
    "메모 note",
]
# The optional figures (issue 17), a second table: "-" where a figure was not reported.
FIGURE_COLUMNS = [
    "기간 period", "버전 version", "현금 cash", "월 소진 burn", "런웨이 runway", "정규직 FTE", "채용 hires",
    "수출 exports", "IP 출원/등록 filed/granted", "해외 overseas",
]  # fmt: skip


def _amount(r: pb.KpiReport, field: str) -> str:
    if not r.HasField(field):  # type: ignore[arg-type]
        return "-"
    money = getattr(r, field)
    return args.krw(money.units) if money.currency_code == "KRW" else f"${money.units:,}"


def _count(r: pb.KpiReport, field: str) -> str:
    return str(getattr(r, field)) if r.HasField(field) else "-"  # type: ignore[arg-type]


def runway(r: pb.KpiReport) -> str:
    """런웨이: cash / burn in months, or - when it cannot be said."""
    return f"{r.runway_months:g}개월" if r.HasField("runway_months") else "-"


def figure_row(r: pb.KpiReport) -> list[Any]:
    ip = (
        "-"
        if not (r.HasField("ip_filed") or r.HasField("ip_granted"))
        else f"{_count(r, 'ip_filed')}/{_count(r, 'ip_granted')}"
    )
    return [r.period, r.version, _amount(r, "cash_on_hand"), _amount(r, "monthly_burn"), runway(r),
            _count(r, "full_time_employees"), _count(r, "hires"), _amount(r, "exports"), ip,
            ", ".join(r.overseas_countries) or "-"]  # fmt: skip


def kpi_row(r: pb.KpiReport) -> list[Any]:
    return [r.period, r.version, r.headcount, args.krw(r.revenue.units), args.krw(r.funding_raised.units), r.customers,
            r.patents, r.note]  # fmt: skip


def show_reports(hub: Client, data: Any, title: str, reports: list[pb.KpiReport]) -> None:
    """The reports' basic figures, then their optional ones (runway included)."""
    hub.show(data, title, KPI_COLUMNS, [kpi_row(r) for r in reports])
    if not hub.config.json and reports:
        print_table("추가 지표와 런웨이 (figures and runway)", FIGURE_COLUMNS, [figure_row(r) for r in reports])


SOURCE_COLUMNS = ["항목 figure", "버전 version", "입력한 사람 entered by", "입력 시각 when"]
FIGURE_LABELS = {
    "headcount": "인원", "revenue": "매출", "customers": "고객", "patents": "특허", "cash_on_hand": "현금",
    "monthly_burn": "월 소진액", "full_time_employees": "정규직", "hires": "채용", "exports": "수출",
    "ip_filed": "IP 출원", "ip_granted": "IP 등록", "overseas_countries": "해외 진출",
}  # fmt: skip


@kpi_app.command("report")
def kpi_report(
    hub: Client,
    company: args.CompanyOption,
    period: Annotated[str, typer.Option(help="기간: 월 2026-03, 분기 2026-Q1, 연도 2026 (a month, quarter or year)")],
    headcount: int = 0,
    revenue: Annotated[str, typer.Option(help="Revenue of the period: 120000000, 1억 2000만")] = "0",
    customers: int = 0,
    patents: int = 0,
    note: str = "",
    cash: Annotated[str, typer.Option(help="기말 보유 현금 (cash on hand, KRW): 3억")] = "",
    burn: Annotated[str, typer.Option(help="월 평균 순소진액 (monthly burn, KRW): 5000만")] = "",
    employees: Annotated[int | None, typer.Option(help="기말 정규직 수 (full-time employees)")] = None,
    hires: Annotated[int | None, typer.Option(help="기간 중 채용 (hires)")] = None,
    exports: Annotated[int | None, typer.Option(help="기간 중 수출액, 미국 달러 (exports, USD)")] = None,
    ip_filed: Annotated[int | None, typer.Option(help="지식재산권 출원 (IP filed)")] = None,
    ip_granted: Annotated[int | None, typer.Option(help="지식재산권 등록 (IP granted)")] = None,
    country: Annotated[
        list[str] | None, typer.Option(help="해외 진출 국가, 반복 가능 (ISO 코드 VN, US; overseas countries)")
    ] = None,
    reason: Annotated[str, typer.Option(help="창업자 대신 입력하는 이유, 필수 (why you report for the company)")] = "",
    request_id: args.RequestIdOption = "",
) -> None:
    """기업의 KPI 보고를 입력합니다 (--reason 필수); 같은 기간의 두 번째 보고는 정정이며, 비워 둔 항목은 이전
    버전에서 이어집니다 (file a KPI report; a second one for the period is a correction that keeps the figures it
    leaves out)."""
    report = pb.KpiReport(
        company=args.name("companies", company), period=period, headcount=headcount, revenue=args.parse_krw(revenue),
        customers=customers, patents=patents, note=note,
        cash_on_hand=args.parse_krw(cash) if cash else None, monthly_burn=args.parse_krw(burn) if burn else None,
        full_time_employees=employees, hires=hires, ip_filed=ip_filed, ip_granted=ip_granted,
        exports=money_pb2.Money(currency_code="USD", units=exports) if exports is not None else None,
        overseas_countries=country or [],
    )  # fmt: skip
    request = pb.ReportKpiRequest(report=report, reason=reason, request_id=args.retry_safe(request_id))
    made = hub.call(hub.program.ReportKpi, request)
    show_reports(hub, made, f"{made.company} {made.period} (version {made.version})", [made])
    if not hub.config.json and made.figure_sources:
        print_table(
            "항목별 입력 출처 (who entered each figure)",
            SOURCE_COLUMNS,
            [
                [
                    f"{FIGURE_LABELS.get(f.figure, '')} {f.figure}".strip(),
                    f.version,
                    f.actor,
                    when(f.enter_time, hub.config.tz),
                ]
                for f in made.figure_sources
            ],
        )


@kpi_app.command("list")
def kpi_list(
    hub: Client,
    company: args.CompanyArgument,
    all_versions: Annotated[bool, typer.Option("--all-versions", help="Corrections' earlier versions too")] = False,
) -> None:
    """기업의 KPI 보고, 최근 기간 순 (A company's KPI reports, newest period first)."""
    request = pb.ListKpiReportsRequest(company=args.name("companies", company), all_versions=all_versions)
    found = list(hub.call(hub.program.ListKpiReports, request).reports)
    show_reports(hub, found, f"KPI reports of {args.name('companies', company)}", found)


@kpi_app.command("trends")
def kpi_trends(
    hub: Client,
    by: Annotated[str, typer.Option(help="Series per cohort: round or move-in-year (default: all companies)")] = "",
    round_: Annotated[str, typer.Option("--round", help="Only the cohort of this round (1 or rounds/1)")] = "",
    year: Annotated[int, typer.Option(help="Only the companies that moved in this year")] = 0,
    start: Annotated[str, typer.Option("--from", help="First quarter, e.g. 2025-Q1")] = "",
    end: Annotated[str, typer.Option("--to", help="Last quarter")] = "",
) -> None:
    """기업 전체의 고용·매출·투자, 분기별 합계와 중앙값 (headcount, revenue and funding across companies, quarter
    by quarter: sums and medians)."""
    kinds: dict[str, Any] = {"": 0, "round": pb.COHORT_KIND_ROUND, "move-in-year": pb.COHORT_KIND_MOVE_IN_YEAR}
    if by not in kinds:
        fail(f"--by {by!r}: one of round, move-in-year", 3)
    request = pb.GetKpiTrendsRequest(
        cohort_by=kinds[by],
        filter=args.where(round=args.name_if_given("rounds", round_), move_in_year=year),
        start_period=start,
        end_period=end,
    )
    trends = hub.call(hub.program.GetKpiTrends, request)
    if hub.printed_json(as_dict(trends)):
        return
    columns = ["quarter", "reporting", "headcount (median)", "revenue (median)", "funding (median)"]
    for series in trends.series:
        rows = [
            [p.period, p.companies, f"{p.headcount_sum:,} ({p.headcount_median:g})",
             f"{args.krw(p.revenue_sum)} ({args.krw(int(p.revenue_median))})",
             f"{args.krw(p.funding_sum)} ({args.krw(int(p.funding_median))})"]
            for p in series.points
        ]  # fmt: skip
        print_table(f"{series.cohort or 'all companies'}: {series.companies} companies", columns, rows)


def _survival(s: pb.CohortComparison.Survival) -> str:
    return f"{s.survived}/{s.eligible} ({s.rate:.0%})" if s.eligible else "- (0)"


@kpi_app.command("compare")
def kpi_compare(
    hub: Client,
    round_: Annotated[str, typer.Option("--round", help="선발 라운드 (the selection round): 1 or rounds/1")],
    year: Annotated[str, typer.Option(help="비교 연도 2025; 없으면 작년 (the year; default last year)")] = "",
) -> None:
    """라운드 선발 기업과 대조군(보고 동의한 미선정 지원 기업) 비교: 매출·고용·투자유치·수출 중앙값과 1·3·5년
    생존율 (a round's admitted firms against its control group)."""
    request = pb.GetCohortComparisonRequest(round=args.name("rounds", round_), period=year)
    got = hub.call(hub.program.GetCohortComparison, request)
    if hub.printed_json(as_dict(got)):
        return
    a, b = got.cohort, got.control_group
    rows: list[list[Any]] = [
        ["기업 수 firms", a.firms, b.firms],
        ["보고 기업 reporting", a.reporters, b.reporters],
        ["매출 중앙값 revenue (median)", args.krw(int(a.revenue_median)), args.krw(int(b.revenue_median))],
        ["정규직 중앙값 full-time employees (median)", f"{a.full_time_employees_median:g}",
         f"{b.full_time_employees_median:g}"],
        ["투자유치 중앙값 investment (median)", args.krw(int(a.investment_median)), args.krw(int(b.investment_median))],
        ["수출 중앙값 exports (median, USD)", f"${a.exports_median:,.0f}", f"${b.exports_median:,.0f}"],
    ]  # fmt: skip
    for sa_, sb in zip(a.survival, b.survival, strict=True):
        rows.append([f"{sa_.years}년 생존 survival at {sa_.years}y", _survival(sa_), _survival(sb)])
    print_table(f"{got.round} {got.period}년: 선발 기업 대 대조군 (cohort vs control group)",
                ["지표 figure", "선발 기업 cohort", "대조군 control group"], rows)  # fmt: skip


# support

SUPPORT = "SUPPORT_KIND"


@support_app.command("record")
def support_record(
    hub: Client,
    company: args.CompanyOption,
    kind: Annotated[str, typer.Option(help="gpu_hours, education_seat, overseas_program, legal_ip_clinic, …")],
    amount: Annotated[int, typer.Option(help="Hours, seats, programs or sessions")],
    note: str = "",
    override: Annotated[str, typer.Option(help="Why going past the quota is right (admins)")] = "",
    request_id: args.RequestIdOption = "",
) -> None:
    """지원 실적을 기록합니다; 한도를 넘으면 --override 사유 없이는 거절 (record support given; past a metered
    kind's quota it is refused unless --override says why)."""
    grant = pb.SupportGrant(
        company=args.name("companies", company), kind=enum_number(pb.SupportKind, SUPPORT, kind, "kind"),  # type: ignore[arg-type]
        amount=amount, note=note, override_reason=override,
    )  # fmt: skip
    made = hub.call(
        hub.program.RecordSupport, pb.RecordSupportRequest(grant=grant, request_id=args.retry_safe(request_id))
    )
    hub.show(made, f"recorded {made.name}", GRANT_COLUMNS, [grant_row(made, hub.config.tz)])


GRANT_COLUMNS = ["id", "종류 kind", "양 amount", "메모 note", "한도 초과 override", "출처 from", "누가 by", "시각 at"]


def grant_row(g: pb.SupportGrant, tz: str) -> list[Any]:
    return [g.name.removeprefix("supportGrants/"), short(pb.SupportKind, g.kind, SUPPORT).lower(), g.amount, g.note,
            g.override_reason, g.source, g.actor, when(g.create_time, tz)]  # fmt: skip


@support_app.command("list")
def support_list(hub: Client, company: args.CompanyArgument) -> None:
    """기업의 지원 실적 장부, 종류별 합계와 한도 (A company's support ledger, with totals and quotas by kind)."""
    ledger = hub.call(hub.program.ListSupport, pb.ListSupportRequest(company=args.name("companies", company)))
    if hub.printed_json(as_dict(ledger)):
        return
    print_table(
        f"support of {args.name('companies', company)}",
        GRANT_COLUMNS,
        [grant_row(g, hub.config.tz) for g in ledger.grants],
    )
    totals = [[short(pb.SupportKind, t.kind, SUPPORT).lower(), t.used, t.quota or ""] for t in ledger.totals]
    print_table("totals", ["kind", "used", "quota"], totals)


@support_app.command("quota")
def support_quota(
    hub: Client,
    company: args.CompanyOption,
    quota: Annotated[int, typer.Option(help="The most a company may use")],
    kind: Annotated[str, typer.Option(help="A metered kind")] = "gpu_hours",
) -> None:
    """기업의 지원 종류별 한도를 정합니다 (set a company's quota for a metered support kind)."""
    number: Any = enum_number(pb.SupportKind, SUPPORT, kind, "kind")
    q = pb.SupportQuota(company=args.name("companies", company), kind=number, quota=quota)
    done = hub.call(hub.program.SetSupportQuota, pb.SetSupportQuotaRequest(quota=q))
    hub.show(done, f"quota of {done.company}", ["kind", "quota", "used"],
         [[short(pb.SupportKind, done.kind, SUPPORT).lower(), done.quota, done.used]])  # fmt: skip


# milestones and growth

MILESTONE = "MILESTONE_KIND"
MILESTONE_COLUMNS = ["id", "기업 company", "종류 kind", "날짜 date", "근거 evidence", "url"]
MilestoneKindOption = Annotated[str, typer.Option(help="product_launch, first_customer, funding, overseas_entry")]


def milestone_rows(hub: Client, found: list[pb.Milestone]) -> list[list[Any]]:
    names = company_names(hub) if found and not hub.config.json else {}
    return [
        [m.name.removeprefix("milestones/"), who(names, m.company), short(pb.MilestoneKind, m.kind, MILESTONE).lower(),
         args.iso(m.achieve_date), m.evidence, m.evidence_url]
        for m in found
    ]  # fmt: skip


@milestones_app.command("add")
def milestones_add(
    hub: Client,
    company: args.CompanyOption,
    kind: MilestoneKindOption,
    on: Annotated[str, typer.Option(help="When it happened, YYYY-MM-DD")],
    evidence: Annotated[str, typer.Option(help="A sentence (this or --url, or both)")] = "",
    url: Annotated[str, typer.Option(help="An http(s) link: a press release, a contract notice")] = "",
    request_id: args.RequestIdOption = "",
) -> None:
    """기업의 마일스톤을 기록합니다 (record a company's milestone)."""
    m = pb.Milestone(
        company=args.name("companies", company), kind=enum_number(pb.MilestoneKind, MILESTONE, kind, "kind"),  # type: ignore[arg-type]
        achieve_date=args.day(on, "--on"), evidence=evidence, evidence_url=url,
    )  # fmt: skip
    made = hub.call(
        hub.program.CreateMilestone, pb.CreateMilestoneRequest(milestone=m, request_id=args.retry_safe(request_id))
    )
    hub.show(made, f"recorded {made.name}", MILESTONE_COLUMNS, milestone_rows(hub, [made]))


@milestones_app.command("list")
def milestones_list(
    hub: Client,
    company: args.CompanyOption = "",
    kind: MilestoneKindOption = "",
) -> None:
    """마일스톤, 날짜 순 (milestones by date)."""
    terms = args.where(company=args.name_if_given("companies", company), kind=kind)
    request = pb.ListMilestonesRequest(filter=terms, page_size=200)
    found = list(hub.pages(hub.program.ListMilestones, request, "milestones"))
    hub.show(found, f"milestones ({len(found)})", MILESTONE_COLUMNS, milestone_rows(hub, found))


@milestones_app.command("remove")
def milestones_remove(hub: Client, milestone: Annotated[str, typer.Argument(help="3 or milestones/3")]) -> None:
    """잘못 기록한 마일스톤을 지웁니다 (remove a milestone recorded by mistake)."""
    hub.call(hub.program.DeleteMilestone, pb.DeleteMilestoneRequest(name=args.name("milestones", milestone)))
    hub.say({"removed": args.name("milestones", milestone)}, f"removed {args.name('milestones', milestone)}")


def growth_command(hub: Client) -> None:
    """허브가 성장시킨 기업: 설정(HUB_GROWTH_*)의 규칙과 그 이유 (the firms the hub grew, by the rules in its
    settings (HUB_GROWTH_*), and why each counts)."""
    growth = hub.call(hub.program.GetGrowth, pb.GetGrowthRequest())
    if hub.printed_json(as_dict(growth)):
        return
    print_table("a firm counts as grown when any one holds", ["rule"], [[r] for r in growth.rules])
    rows = [[f.company.removeprefix("companies/"), f.korean_name, "; ".join(f.reasons)] for f in growth.firms]
    print_table(f"firms grown ({growth.firms_grown})", ["id", "이름 name", "이유 why"], rows)
