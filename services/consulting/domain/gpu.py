"""The hub's GPU cluster as bookable resources: nodes (or single GPUs) booked in whole hours by a company, like a
room (the same `bookings` table and guarantee), against the company's GPU quota for the booking's period.

A quota is hours per period: each calendar month in Asia/Seoul (MONTHLY, by the booking's start) or one program
term (TERM, [term_start, term_end)). A booking consumes its hours while BOOKED, and as a NO_SHOW when the setting
says a no-show counts; a cancelled one consumes nothing. Pure Python."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta

from hubcore.errors import FailedPrecondition, invalid, refuse_if
from hubcore.resources import Named, OfCompany, Versioned
from hubcore.text import clean
from services.consulting.domain.common import HUB_ZONE, zone

BOOKED, CANCELLED, NO_SHOW = "BOOKED", "CANCELLED", "NO_SHOW"
GPU_BOOKING_STATES = (BOOKED, CANCELLED, NO_SHOW)
MONTHLY, TERM = "MONTHLY", "TERM"
QUOTA_PERIODS = (MONTHLY, TERM)
MAX_GPU_BOOKING = timedelta(days=7)
HOUR = timedelta(hours=1)


@dataclass(frozen=True)
class GpuNode(Named):
    collection = "gpuNodes"

    id: int
    display_name: str  # "A100 node 1"
    kind: str  # "A100"
    gpus: int = 1
    created_at: datetime | None = None

    @property
    def resource(self) -> str:
        return self.name


def new_gpu_node(*, display_name: str, kind: str, gpus: int) -> GpuNode:
    node = GpuNode(id=0, display_name=clean(display_name), kind=clean(kind).upper(), gpus=gpus or 1)
    refuse_if(
        (not node.display_name, "gpu_node.display_name", "is required"),
        (not node.kind, "gpu_node.kind", "is required"),
        (not 1 <= node.gpus <= 64, "gpu_node.gpus", "must be 1 to 64"),
    )
    return node


@dataclass(frozen=True)
class GpuBooking(Versioned, OfCompany):
    collection = "gpuBookings"

    id: int
    node_id: int
    company_id: int
    start: datetime
    end: datetime
    purpose: str = ""
    state: str = BOOKED
    cancel_reason: str = ""
    hours: int = 0  # what it consumes of the quota now
    created_at: datetime | None = None
    version: int = 1

    @property
    def node(self) -> str:
        return f"gpuNodes/{self.node_id}"

    def holds(self) -> list[tuple[str, datetime, datetime]]:
        """The node for the booked time while booked; nothing once cancelled or missed (the slot is free again)."""
        return [(self.node, self.start, self.end)] if self.state == BOOKED else []

    def cancel(self, reason: str, at: datetime) -> GpuBooking:
        """Before the start only: the hours return to the quota."""
        if self.state != BOOKED:
            raise FailedPrecondition(f"{self.name} is {self.state}", type_="GPU_BOOKING_STATE", subject=self.name)
        if at >= self.start:
            raise FailedPrecondition(
                f"{self.name} has started; a booking is cancelled before its start (mark a no-show instead)",
                type_="GPU_BOOKING_STATE", subject=self.name,
            )  # fmt: skip
        return replace(self, state=CANCELLED, cancel_reason=clean(reason), hours=0, version=self.version + 1)

    def no_show(self, at: datetime, *, counts: bool) -> GpuBooking:
        """The company did not use its slot (after the start); its hours still count when `counts`."""
        if self.state != BOOKED:
            raise FailedPrecondition(f"{self.name} is {self.state}", type_="GPU_BOOKING_STATE", subject=self.name)
        if at < self.start:
            raise FailedPrecondition(
                f"{self.name} has not started; cancel it instead", type_="GPU_BOOKING_STATE", subject=self.name
            )
        return replace(self, state=NO_SHOW, hours=self.hours if counts else 0, version=self.version + 1)


def new_gpu_booking(*, node_id: int, company_id: int, start: datetime, end: datetime, purpose: str) -> GpuBooking:
    """Whole hours on the hour, at most a week."""
    refuse_if(
        (end <= start, "gpu_booking.interval.end_time", "must be after start_time"),
        (end - start > MAX_GPU_BOOKING, "gpu_booking.interval", "must be at most 7 days long"),
        (start.minute + start.second + start.microsecond > 0, "gpu_booking.interval.start_time", "must be on the hour"),
        ((end - start) % HOUR != timedelta(0), "gpu_booking.interval", "must be whole hours"),
        (len(purpose) > 500, "gpu_booking.purpose", "must be at most 500 characters"),
    )
    hours = int((end - start) / HOUR)
    return GpuBooking(0, node_id, company_id, start, end, clean(purpose), hours=hours)


@dataclass(frozen=True)
class GpuQuota(OfCompany):
    company_id: int
    hours: int
    period: str  # MONTHLY | TERM
    term_start: datetime | None = None
    term_end: datetime | None = None

    def period_of(self, at: datetime) -> tuple[datetime, datetime] | None:
        """The period [start, end) that contains `at`, or None (a term quota outside its term)."""
        if self.period == TERM:
            assert self.term_start is not None and self.term_end is not None
            return (self.term_start, self.term_end) if self.term_start <= at < self.term_end else None
        return seoul_month(at)


def new_gpu_quota(
    *, company_id: int, hours: int, period: str, term_start: datetime | None, term_end: datetime | None
) -> GpuQuota:
    refuse_if(
        (not 0 <= hours <= 100_000, "quota.hours", "must be 0 to 100000"),
        (period not in QUOTA_PERIODS, "quota.period", "is required"),
        (period == TERM and (term_start is None or term_end is None), "quota.term_interval", "is required for TERM"),
        (period == TERM and term_start is not None and term_end is not None and term_end <= term_start,
         "quota.term_interval.end_time", "must be after start_time"),
    )  # fmt: skip
    if period == MONTHLY:
        term_start = term_end = None
    return GpuQuota(company_id, hours, period, term_start, term_end)


def check_within_quota(quota: GpuQuota | None, booking: GpuBooking, used: int, subject: str) -> None:
    """FAILED_PRECONDITION unless the booking's hours fit in what is left of its period's quota."""
    if quota is None:
        raise FailedPrecondition(
            f"{subject} has no GPU quota; ask a program manager", type_="NO_QUOTA", subject=subject
        )
    if quota.period_of(booking.start) is None:
        raise FailedPrecondition(
            f"{subject}'s GPU quota is for the term {quota.term_start:%Y-%m-%d} to {quota.term_end:%Y-%m-%d}; "
            "this booking is outside it", type_="NO_QUOTA", subject=subject,
        )  # fmt: skip
    if used + booking.hours > quota.hours:
        raise FailedPrecondition(
            f"{subject} has booked {used} of its {quota.hours} GPU hours for this period; "
            f"{booking.hours} more would exceed the quota",
            type_="QUOTA_EXCEEDED", subject=subject,
        )  # fmt: skip


def seoul_month(at: datetime) -> tuple[datetime, datetime]:
    """The Asia/Seoul calendar month containing `at`: [its first midnight, the next month's), in UTC."""
    local = at.astimezone(zone(HUB_ZONE, "time_zone"))
    first = local.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    following = (first.replace(day=28) + timedelta(days=4)).replace(day=1)
    return first.astimezone(UTC), following.astimezone(UTC)


def month_named(text: str, field_path: str) -> tuple[datetime, datetime]:
    """YYYY-MM as its Asia/Seoul month, or INVALID_ARGUMENT naming the field."""
    try:
        year, month = (int(part) for part in text.split("-"))
        first = datetime(year, month, 1, 12, tzinfo=zone(HUB_ZONE, "time_zone"))
    except ValueError:
        raise invalid(field_path, "must be a month like 2026-12") from None
    if not 2000 <= year <= 2100:
        raise invalid(field_path, "must be a month from 2000-01 to 2100-12")
    return seoul_month(first)


@dataclass(frozen=True)
class NodeUtilization:
    node: GpuNode
    booked_hours: int
    no_show_hours: int
    hours_in_month: int

    @property
    def percent(self) -> float:
        return round(100 * self.booked_hours / self.hours_in_month, 1) if self.hours_in_month else 0.0


def utilization(
    nodes: list[GpuNode], bookings: list[GpuBooking], month: tuple[datetime, datetime]
) -> list[NodeUtilization]:
    """Each node's hours of the month held by its booked bookings and by its no-shows, clipped to the month."""
    start, end = month
    held: dict[tuple[int, str], timedelta] = {}
    for b in bookings:
        overlap = min(b.end, end) - max(b.start, start)
        if overlap > timedelta(0) and b.state != CANCELLED:
            held[b.node_id, b.state] = held.get((b.node_id, b.state), timedelta(0)) + overlap
    hours = int((end - start) / HOUR)
    return [
        NodeUtilization(
            n, int(held.get((n.id, BOOKED), timedelta(0)) / HOUR), int(held.get((n.id, NO_SHOW), timedelta(0)) / HOUR),
            hours,
        )
        for n in nodes
    ]  # fmt: skip


WAITING, OFFERED = "WAITING", "OFFERED"


@dataclass(frozen=True)
class GpuWaitlistEntry(Named, OfCompany):
    """A firm waiting for a taken slot of a node; offered it, first come first offered, once the slot is free."""

    collection = "gpuWaitlist"

    id: int
    node_id: int
    company_id: int
    start: datetime
    end: datetime
    state: str = WAITING
    created_at: datetime | None = None
    offered_at: datetime | None = None

    @property
    def node(self) -> str:
        return f"gpuNodes/{self.node_id}"
