"""Proto value types <-> Python values, in one place: Timestamp, Interval, Duration, google.type.Date and
Money (KRW, which has no minor unit). Reading checks what the generic request rules cannot (a required
part, a real calendar date, the currency) and raises INVALID_ARGUMENT naming the field."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from google.protobuf import duration_pb2, timestamp_pb2
from google.type import date_pb2, interval_pb2, money_pb2

from hubcore.errors import invalid

SEOUL = ZoneInfo("Asia/Seoul")
CURRENCY = "KRW"


def seoul_today() -> date:
    """The hub's today: Asia/Seoul, whatever the host's zone."""
    return datetime.now(SEOUL).date()


def as_utc(value: datetime) -> datetime:
    """SQLite hands back naive datetimes; everything we store is UTC."""
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def timestamp(value: datetime | None) -> timestamp_pb2.Timestamp | None:
    if value is None:
        return None
    ts = timestamp_pb2.Timestamp()
    ts.FromDatetime(as_utc(value))
    return ts


def instant(value: timestamp_pb2.Timestamp) -> datetime:
    return value.ToDatetime(tzinfo=UTC)


def interval(
    value: interval_pb2.Interval, path: str, *, end_optional: bool = False
) -> tuple[datetime, datetime | None]:
    """(start, end) of an Interval; its start is required, and its end unless end_optional."""
    if not value.HasField("start_time"):
        raise invalid(f"{path}.start_time", "is required")
    end = instant(value.end_time) if value.HasField("end_time") else None
    if end is None and not end_optional:
        raise invalid(f"{path}.end_time", "is required")
    return instant(value.start_time), end


def interval_message(start: datetime, end: datetime) -> interval_pb2.Interval:
    return interval_pb2.Interval(start_time=timestamp(start), end_time=timestamp(end))


def duration(value: duration_pb2.Duration) -> timedelta:
    return timedelta(seconds=value.seconds, microseconds=value.nanos // 1000)


def duration_message(span: timedelta) -> duration_pb2.Duration:
    message = duration_pb2.Duration()
    message.FromTimedelta(span)
    return message


def calendar_date(value: date_pb2.Date, field: str) -> date | None:
    """A google.type.Date as a date; unset (all zero) is None, an impossible date INVALID_ARGUMENT."""
    if value.year == value.month == value.day == 0:
        return None
    try:
        return date(value.year, value.month, value.day)
    except ValueError:
        raise invalid(field, "is not a real calendar date") from None


def date_message(value: date | None) -> date_pb2.Date | None:
    return date_pb2.Date(year=value.year, month=value.month, day=value.day) if value else None


def krw(value: money_pb2.Money, field: str, *, present: bool, needed: bool = False) -> int:
    """A google.type.Money as whole won: KRW only, no minor unit, not negative."""
    if not present:
        if needed:
            raise invalid(field, "is required")
        return 0
    if value.currency_code != CURRENCY:
        raise invalid(f"{field}.currency_code", "must be KRW (the only currency supported for now)")
    if value.nanos:
        raise invalid(f"{field}.nanos", "must be 0: KRW has no minor unit")
    if value.units < 0:
        raise invalid(f"{field}.units", "must not be negative")
    return int(value.units)


def money(amount: int) -> money_pb2.Money:
    return money_pb2.Money(currency_code=CURRENCY, units=amount)
