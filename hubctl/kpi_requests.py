"""hubctl kpi schedule | schedules | requests: KPI requests to the resident companies (the companies service's
ProgramService). A program manager schedules them by cadence; each period every company covered is asked for its
figures by a due date; a founder answers by reporting the period. `kpi requests` shows who answered and the
completion rate (answered on time / requested), per period and overall. Korean first."""

from __future__ import annotations

from typing import Annotated, Any

import typer
from hub.companies.v1 import kpi_requests_pb2 as kpb

from hubctl import args
from hubctl.client import Client, as_dict, enum_number, print_table, when
from hubctl.program import company_names, kpi_app, who

CADENCE, FIGURE = "KPI_CADENCE", "KPI_FIGURE"
CADENCES = {
    kpb.KPI_CADENCE_MONTHLY: "매월 monthly", kpb.KPI_CADENCE_QUARTERLY: "분기 quarterly",
    kpb.KPI_CADENCE_YEARLY: "매년 yearly",
}  # fmt: skip
FIGURES = {
    kpb.KPI_FIGURE_HEADCOUNT: "인원 headcount", kpb.KPI_FIGURE_REVENUE: "매출 revenue",
    kpb.KPI_FIGURE_CUSTOMERS: "고객 customers", kpb.KPI_FIGURE_PATENTS: "특허 patents",
    kpb.KPI_FIGURE_CASH_ON_HAND: "현금 cash on hand", kpb.KPI_FIGURE_MONTHLY_BURN: "월 소진액 monthly burn",
    kpb.KPI_FIGURE_EMPLOYMENT: "고용 employment", kpb.KPI_FIGURE_EXPORTS: "수출 exports",
    kpb.KPI_FIGURE_IP: "지식재산권 IP", kpb.KPI_FIGURE_OVERSEAS: "해외 진출 overseas",
}  # fmt: skip
AUDIENCE = "KPI_AUDIENCE"
AUDIENCES = {
    kpb.KPI_AUDIENCE_UNSPECIFIED: "입주 기업 전체 all residents",
    kpb.KPI_AUDIENCE_RESIDENTS: "입주 기업 전체 all residents",
    kpb.KPI_AUDIENCE_GRADUATES: "보고 동의한 졸업 기업 consenting graduates",
    kpb.KPI_AUDIENCE_CONTROL_GROUP: "보고 동의한 미선정 지원 기업 control group",
}  # fmt: skip
SCHEDULE_COLUMNS = ["id", "주기 cadence", "대상 companies", "항목 figures", "마감 due", "만든 이 by"]
REQUEST_COLUMNS = [
    "id", "기업 company", "기간 period", "마감 due", "상태 state", "답변 answered", "답변자 by", "사유 reason",
]  # fmt: skip
RATE_COLUMNS = ["기간 period", "요청 requested", "답변 answered", "기한 내 on time", "완료율 rate", "기한 지남 overdue"]


def schedule_row(s: kpb.KpiSchedule, names: dict[str, str]) -> list[Any]:
    covered = ", ".join(who(names, c) for c in s.companies) or AUDIENCES[s.audience]
    figures = ", ".join(FIGURES[f] for f in s.figures)
    return [s.name.split("/")[1], CADENCES[s.cadence], covered, figures, f"기간 종료 +{s.due_days}일 (days)", s.actor]


def request_state(r: kpb.KpiRequest) -> str:
    if r.state == kpb.KPI_REQUEST_STATE_ANSWERED:
        return "답변함 answered" + ("" if r.on_time else " (늦음 late)")
    return "기한 지남 overdue" if r.overdue else "대기 open"


def request_row(r: kpb.KpiRequest, names: dict[str, str], tz: str) -> list[Any]:
    return [r.name.split("/")[1], who(names, r.company), r.period, args.iso(r.due_date), request_state(r),
            when(r.answer_time, tz), r.answered_by, r.reason]  # fmt: skip


def rate_row(p: kpb.KpiRequestStats.Period) -> list[Any]:
    return [p.period or "전체 overall", p.requested, p.answered, p.answered_on_time, f"{p.on_time_rate:.0%}", p.overdue]


@kpi_app.command("schedule")
def kpi_schedule(
    hub: Client,
    cadence: Annotated[str, typer.Option(help="요청 주기: monthly, quarterly 또는 yearly (how often)")],
    company: Annotated[
        list[str] | None, typer.Option(help="대상 기업, 반복 가능; 없으면 입주 기업 전체 (42 or companies/42)")
    ] = None,
    figure: Annotated[
        list[str] | None,
        typer.Option(
            help="요청 항목 headcount, revenue, customers, patents, cash_on_hand, monthly_burn, employment, exports,"
            " ip, overseas; 없으면 앞의 네 가지"
        ),
    ] = None,
    audience: Annotated[
        str,
        typer.Option(help="대상: residents(입주 기업), graduates(졸업 기업), control_group(대조군); 기본 residents"),
    ] = "",
    due_days: Annotated[int, typer.Option(help="기간이 끝난 뒤 며칠 안에 제출 (days after the period ends)")] = 10,
    request_id: args.RequestIdOption = "",
) -> None:
    """KPI 요청 일정을 만듭니다; 이번 기간의 요청이 바로 나갑니다 (schedule KPI requests; this period's go out now)."""
    schedule = kpb.KpiSchedule(
        cadence=enum_number(kpb.KpiCadence, CADENCE, cadence, "cadence"),  # type: ignore[arg-type]
        companies=[args.name("companies", c) for c in company or []],
        figures=[kpb.KpiFigure.ValueType(enum_number(kpb.KpiFigure, FIGURE, f, "figure")) for f in figure or []],
        due_days=due_days,
        audience=enum_number(kpb.KpiAudience, AUDIENCE, audience, "audience") if audience else 0,  # type: ignore[arg-type]
    )  # fmt: skip
    request = kpb.CreateKpiScheduleRequest(schedule=schedule, request_id=args.retry_safe(request_id))
    made = hub.call(hub.program.CreateKpiSchedule, request)
    hub.say(made, f"일정 만듦 (scheduled) {made.name}: {CADENCES[made.cadence]}, 마감 기간 종료 +{made.due_days}일")


@kpi_app.command("schedules")
def kpi_schedules(hub: Client) -> None:
    """KPI 요청 일정 (the KPI request schedules)."""
    found = list(hub.call(hub.program.ListKpiSchedules, kpb.ListKpiSchedulesRequest()).schedules)
    names = company_names(hub) if found else {}
    hub.show(found, "KPI 요청 일정 (schedules)", SCHEDULE_COLUMNS, [schedule_row(s, names) for s in found])


@kpi_app.command("requests")
def kpi_requests(
    hub: Client,
    company: args.CompanyOption = "",
    state: Annotated[str, typer.Option(help="open, answered 또는 overdue 만 (only these)")] = "",
    period: Annotated[str, typer.Option(help="이 기간만 (one period): 2026-11, 2026-Q4")] = "",
) -> None:
    """KPI 요청과 완료율: 기한 내 답변 / 요청, 기간별과 전체 (KPI requests and the on-time completion rate)."""
    request = kpb.ListKpiRequestsRequest(
        parent=args.name_if_given("companies", company),
        filter=args.where(state=state.upper(), period=period),
        page_size=500,
    )
    found = list(hub.pages(hub.program.ListKpiRequests, request, "requests"))
    stats = hub.call(hub.program.GetKpiRequestStats, kpb.GetKpiRequestStatsRequest())
    if hub.printed_json({"requests": [as_dict(r) for r in found], "stats": as_dict(stats)}):
        return
    names = company_names(hub) if found else {}
    tz = hub.config.tz
    print_table("KPI 요청 (requests)", REQUEST_COLUMNS, [request_row(r, names, tz) for r in found])
    print_table("완료율 (completion: answered on time / requested)", RATE_COLUMNS,
                [*(rate_row(p) for p in stats.periods), rate_row(stats.overall)])  # fmt: skip
