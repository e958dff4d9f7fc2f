"""The GPU cluster's rules: whole-hour bookings, the quota's periods (a Seoul month, a term), cancel before the
start and no-show after it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from hubcore.errors import FailedPrecondition, InvalidArgument
from services.consulting import domain

START = datetime(2027, 3, 31, 15, tzinfo=UTC)  # 2027-04-01 00:00 in Seoul


def booking(start: datetime = START, hours: int = 2) -> domain.GpuBooking:
    return domain.new_gpu_booking(node_id=1, company_id=7, start=start, end=start + timedelta(hours=hours), purpose="")


def test_a_monthly_period_is_the_seoul_month_of_the_start() -> None:
    quota = domain.new_gpu_quota(company_id=7, hours=10, period="MONTHLY", term_start=None, term_end=None)
    assert quota.period_of(START) == (START, datetime(2027, 4, 30, 15, tzinfo=UTC))
    assert quota.period_of(START - timedelta(minutes=1)) == (datetime(2027, 2, 28, 15, tzinfo=UTC), START)
    december = datetime(2027, 12, 10, tzinfo=UTC)
    assert quota.period_of(december) == (datetime(2027, 11, 30, 15, tzinfo=UTC), datetime(2027, 12, 31, 15, tzinfo=UTC))


def test_a_term_covers_its_term_only() -> None:
    end = START + timedelta(days=90)
    quota = domain.new_gpu_quota(company_id=7, hours=10, period="TERM", term_start=START, term_end=end)
    assert quota.period_of(START + timedelta(days=45)) == (START, end)
    assert quota.period_of(end) is None
    with pytest.raises(FailedPrecondition, match="outside"):
        domain.check_within_quota(quota, booking(end), 0, "companies/7")
    with pytest.raises(InvalidArgument):
        domain.new_gpu_quota(company_id=7, hours=10, period="TERM", term_start=None, term_end=None)


def test_the_quota_refuses_what_would_exceed_it() -> None:
    quota = domain.new_gpu_quota(company_id=7, hours=3, period="MONTHLY", term_start=None, term_end=None)
    domain.check_within_quota(quota, booking(hours=2), 1, "companies/7")
    with pytest.raises(FailedPrecondition, match="2 of its 3 GPU hours"):
        domain.check_within_quota(quota, booking(hours=2), 2, "companies/7")
    with pytest.raises(FailedPrecondition, match="no GPU quota"):
        domain.check_within_quota(None, booking(), 0, "companies/7")


def test_bookings_are_whole_hours_on_the_hour() -> None:
    assert booking(hours=3).hours == 3
    with pytest.raises(InvalidArgument, match="on the hour"):
        booking(START + timedelta(minutes=30))
    with pytest.raises(InvalidArgument, match="whole hours"):
        domain.new_gpu_booking(node_id=1, company_id=7, start=START, end=START + timedelta(minutes=90), purpose="")
    with pytest.raises(InvalidArgument, match="7 days"):
        booking(hours=24 * 8)


def test_cancel_before_the_start_no_show_after_it() -> None:
    made = booking()
    cancelled = made.cancel("변경", START - timedelta(minutes=1))
    assert (cancelled.state, cancelled.hours, cancelled.holds()) == ("CANCELLED", 0, [])
    with pytest.raises(FailedPrecondition, match="has started"):
        made.cancel("늦음", START)
    with pytest.raises(FailedPrecondition, match="has not started"):
        made.no_show(START - timedelta(minutes=1), counts=True)
    assert made.no_show(START, counts=True).hours == 2
    assert made.no_show(START, counts=False).hours == 0
