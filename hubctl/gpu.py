"""hubctl gpu: the hub's GPU cluster, booked in whole hours like a room, against each company's GPU quota.

Times are typed and shown in Asia/Seoul (or --tz): `--at "2026-12-01 22:00"` means 22:00 in that zone."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Annotated
from zoneinfo import ZoneInfo

import typer
from google.type import interval_pb2
from hub.consulting.v1 import consulting_pb2 as cpb

from hubctl import args
from hubctl.client import Client, Commands, enum_number, when
from hubctl.consulting import hhmm, moment, span

gpu_app = Commands(help="GPU 클러스터: 노드, 예약, 회사별 할당량 (the GPU cluster: nodes, bookings, quotas).")

BOOKING_COLUMNS = ["id", "시간 when", "노드 node", "회사 company", "시간수 hours", "상태 state"]
STATES = {
    cpb.GPU_BOOKING_STATE_BOOKED: "예약됨 booked", cpb.GPU_BOOKING_STATE_CANCELLED: "취소됨 cancelled",
    cpb.GPU_BOOKING_STATE_NO_SHOW: "미사용 no-show",
}  # fmt: skip
BookingArgument = Annotated[str, typer.Argument(metavar="BOOKING", help="5 or gpuBookings/5")]
NodeOption = Annotated[str, typer.Option(help="1 or gpuNodes/1")]


def booking_row(b: cpb.GpuBooking, tz: str) -> list[str]:
    slot = f"{when(b.interval.start_time, tz)}–{hhmm(b.interval.end_time, tz)}"
    return [b.name.removeprefix("gpuBookings/"), slot, b.node_display_name or b.node, b.company, str(b.hours),
            STATES.get(b.state, "")]  # fmt: skip


def show_bookings(hub: Client, title: str, bookings: list[cpb.GpuBooking]) -> None:
    hub.show(bookings, title, BOOKING_COLUMNS, (booking_row(b, hub.config.tz) for b in bookings))


@gpu_app.command("nodes")
def gpu_nodes(hub: Client) -> None:
    """GPU 노드 목록 (list the GPU nodes)."""
    found = list(hub.pages(hub.consulting.ListGpuNodes, cpb.ListGpuNodesRequest(page_size=200), "gpu_nodes"))
    rows = [(n.name.removeprefix("gpuNodes/"), n.display_name, n.kind, n.gpus) for n in found]
    hub.show(found, f"GPU 노드 (nodes) ({len(found)})", ["id", "이름 name", "종류 kind", "GPU"], rows)


@gpu_app.command("add-node")
def gpu_add_node(
    hub: Client,
    name: Annotated[str, typer.Option(help="이름, 예: 'A100 node 1' (display name)")],
    kind: Annotated[str, typer.Option(help="종류, 예: A100, H100 (GPU kind)")],
    gpus: Annotated[int, typer.Option(help="GPU 수 (GPUs in the node)")] = 1,
    request_id: args.RequestIdOption = "",
) -> None:
    """GPU 노드를 추가합니다 (add a bookable GPU node)."""
    request = cpb.CreateGpuNodeRequest(
        gpu_node=cpb.GpuNode(display_name=name, kind=kind, gpus=gpus), request_id=args.retry_safe(request_id)
    )
    made = hub.call(hub.consulting.CreateGpuNode, request)
    hub.say(made, f"노드 추가함 (added) {made.name}: {made.display_name} ({made.kind} × {made.gpus})")


@gpu_app.command("book")
def gpu_book(
    hub: Client,
    node: NodeOption,
    company: args.CompanyOption,
    at: Annotated[str, typer.Option(help="시작, 예: '2026-12-01 22:00' (start, on the hour, your --tz)")],
    hours: Annotated[int, typer.Option(help="시간수 (whole hours)")] = 1,
    purpose: Annotated[str, typer.Option(help="용도 (what for)")] = "",
    request_id: args.RequestIdOption = "",
) -> None:
    """GPU 시간을 예약합니다; 겹치는 예약이나 할당량 초과는 거절됩니다 (book GPU time; refused, naming the holder,
    if the node is taken, or if it would exceed the company's quota)."""
    booking = cpb.GpuBooking(
        node=args.name("gpuNodes", node), company=args.name("companies", company),
        interval=span(moment(at, hub.config.tz), 60 * hours), purpose=purpose,
    )  # fmt: skip
    made = hub.call(
        hub.consulting.BookGpu, cpb.BookGpuRequest(gpu_booking=booking, request_id=args.retry_safe(request_id))
    )
    show_bookings(hub, f"예약함 (booked) {made.name}", [made])


@gpu_app.command("cancel")
def gpu_cancel(hub: Client, booking: BookingArgument, reason: args.RequiredReasonOption = "") -> None:
    """시작 전에 예약을 취소합니다; 시간은 할당량으로 돌아갑니다 (cancel before the start; the hours return)."""
    request = cpb.CancelGpuBookingRequest(name=args.name("gpuBookings", booking), reason=reason)
    done = hub.call(hub.consulting.CancelGpuBooking, request)
    show_bookings(hub, f"취소함 (cancelled) {done.name}", [done])


@gpu_app.command("no-show")
def gpu_no_show(hub: Client, booking: BookingArgument) -> None:
    """시작 후 사용하지 않은 예약으로 표시합니다 (mark a booking not used; its hours count as the settings say)."""
    done = hub.call(
        hub.consulting.MarkGpuBookingNoShow, cpb.MarkGpuBookingNoShowRequest(name=args.name("gpuBookings", booking))
    )
    show_bookings(hub, f"미사용 표시함 (no-show) {done.name}", [done])


@gpu_app.command("list")
def gpu_list(hub: Client, company: args.CompanyOption = "", node: NodeOption = "") -> None:
    """GPU 예약 목록 (list GPU bookings, of a company or a node)."""
    request = cpb.ListGpuBookingsRequest(
        company=args.name_if_given("companies", company), node=args.name_if_given("gpuNodes", node), page_size=200
    )
    found = list(hub.pages(hub.consulting.ListGpuBookings, request, "gpu_bookings"))
    show_bookings(hub, f"GPU 예약 (bookings) ({len(found)})", found)


PERIODS = {cpb.GPU_QUOTA_PERIOD_MONTHLY: "매월 monthly", cpb.GPU_QUOTA_PERIOD_TERM: "기수 term"}


def show_quota(hub: Client, quota: cpb.GpuQuota) -> None:
    tz = hub.config.tz
    period = f"{when(quota.period_interval.start_time, tz)} – {when(quota.period_interval.end_time, tz)}"
    rows = [(quota.company, PERIODS.get(quota.period, ""), period, quota.used_hours, quota.hours)]
    hub.show(
        quota,
        "GPU 할당량 (quota)",
        ["회사 company", "주기 period", "기간 this period", "사용 used", "한도 hours"],
        rows,
    )


@gpu_app.command("quota")
def gpu_quota(
    hub: Client,
    company: args.CompanyOption,
    at: Annotated[str, typer.Option(help="이 시각이 속한 기간 (the period containing this time; default now)")] = "",
) -> None:
    """회사의 GPU 할당량과 이번 기간 사용량 (a company's GPU quota and the hours booked in the period)."""
    request = cpb.GetGpuQuotaRequest(company=args.name("companies", company))
    if at:
        request.time.CopyFrom(moment(at, hub.config.tz))
    show_quota(hub, hub.call(hub.consulting.GetGpuQuota, request))


@gpu_app.command("set-quota")
def gpu_set_quota(
    hub: Client,
    company: args.CompanyOption,
    hours: Annotated[int, typer.Option(help="기간당 시간 (hours per period)")],
    period: Annotated[str, typer.Option(help="monthly 또는 term")] = "monthly",
    term_start: Annotated[str, typer.Option(help="기수 시작일 YYYY-MM-DD (term)")] = "",
    term_end: Annotated[str, typer.Option(help="기수 종료일 YYYY-MM-DD, 그날까지 포함 (term, inclusive)")] = "",
) -> None:
    """회사의 GPU 할당량을 정합니다: 매월 또는 기수마다 새로 시작합니다 (set a company's GPU quota, per month or
    per program term)."""
    quota = cpb.GpuQuota(
        company=args.name("companies", company), hours=hours,
        period=enum_number(cpb.GpuQuotaPeriod, "GPU_QUOTA_PERIOD", period, "--period"),  # type: ignore[arg-type]
    )  # fmt: skip
    if term_start or term_end:
        zone = ZoneInfo(hub.config.tz)
        first_day = args.day(term_start or term_end, "--term-start")
        last_day = args.day(term_end or term_start, "--term-end")
        first = datetime(first_day.year, first_day.month, first_day.day, tzinfo=zone)
        last = datetime(last_day.year, last_day.month, last_day.day, tzinfo=zone)
        term = interval_pb2.Interval()
        term.start_time.FromDatetime(first)
        term.end_time.FromDatetime(last + timedelta(days=1))
        quota.term_interval.CopyFrom(term)
    show_quota(hub, hub.call(hub.consulting.SetGpuQuota, cpb.SetGpuQuotaRequest(quota=quota)))


@gpu_app.command("usage")
def gpu_usage(
    hub: Client, month: Annotated[str, typer.Option(help="월 YYYY-MM (an Asia/Seoul month; default this month)")] = ""
) -> None:
    """노드별 월간 사용률: 예약된 시간 / 그 달의 시간 (each node's booked hours in a month, against its hours)."""
    found = hub.call(hub.consulting.GetGpuUtilization, cpb.GetGpuUtilizationRequest(month=month))
    rows = [
        (n.node.removeprefix("gpuNodes/"), n.display_name, n.kind, n.booked_hours, n.no_show_hours, n.hours_in_month,
         f"{n.utilization_percent:.1f}%")
        for n in found.nodes
    ]  # fmt: skip
    columns = ["id", "이름 name", "종류 kind", "예약 booked h", "미사용 no-show h", "월 시간 month h", "사용률 use"]
    hub.show(found, f"GPU 사용률 (utilization) {found.month}: {found.utilization_percent:.1f}%", columns, rows)


@gpu_app.command("wait")
def gpu_wait(
    hub: Client,
    node: NodeOption,
    company: args.CompanyOption,
    at: Annotated[str, typer.Option(help="시작, 예: '2026-12-01 22:00' (start, your --tz)")],
    hours: Annotated[int, typer.Option(help="시간수 (whole hours)")] = 1,
    request_id: args.RequestIdOption = "",
) -> None:
    """이미 예약된 시간의 대기 명단에 올립니다: 비면 먼저 기다린 기업에 알립니다 (wait for a taken slot; when it is
    freed, the first company waiting is told and may book it)."""
    entry = cpb.GpuWaitlistEntry(
        node=args.name("gpuNodes", node), company=args.name("companies", company),
        interval=span(moment(at, hub.config.tz), 60 * hours),
    )  # fmt: skip
    made = hub.call(
        hub.consulting.JoinGpuWaitlist, cpb.JoinGpuWaitlistRequest(entry=entry, request_id=args.retry_safe(request_id))
    )
    slot = f"{when(made.interval.start_time, hub.config.tz)}–{hhmm(made.interval.end_time, hub.config.tz)}"
    hub.say(made, f"대기 등록함 (waiting) {made.name}: {made.node} {slot}, {made.company}")
