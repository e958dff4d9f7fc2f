"""Proto value types <-> Python values, in one place: Timestamp, Interval, Duration, google.type.Date and
Money (KRW, which has no minor unit). Reading checks what the generic request rules cannot (a required
part, a real calendar date, the currency) and raises INVALID_ARGUMENT naming the field.

And the skeleton every service's messages <-> domain objects share: a `Writer` (a domain object as its
message) and a `Reader` (a request's resource as the domain values of its writable fields), each built once
from the message's descriptor, with only what is particular to an entity declared."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterable, Mapping
from datetime import UTC, date, datetime, timedelta
from operator import attrgetter
from typing import Any, Generic, TypeVar, get_origin, get_type_hints
from zoneinfo import ZoneInfo

from google.api import field_behavior_pb2
from google.protobuf import descriptor, duration_pb2, timestamp_pb2
from google.protobuf.message import Message
from google.type import date_pb2, interval_pb2, money_pb2

from hubcore.errors import invalid
from hubcore.requests import parse_name

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


def money_if(amount: int) -> money_pb2.Money | None:
    """An amount where 0 means "not given" (a ticket's bound, an undisclosed valuation): unset when 0."""
    return money(amount) if amount else None


# Messages <-> domain objects

E = TypeVar("E")
M = TypeVar("M", bound=Message)
F = TypeVar("F", bound=Mapping[str, Any])
Get = Callable[[Any], Any]

# A message field of these types is written from its domain value (datetime, date, whole won, timedelta) by:
WRITE: dict[str, Get] = {
    "google.protobuf.Timestamp": timestamp,
    "google.type.Date": date_message,
    "google.type.Money": money,
    "google.protobuf.Duration": duration_message,
}
# A `<stem>_time` field is the `<stem>ed_at` attribute (create_time: created_at, due_time: due_at, expire_time:
# expire_at or expires_at); a `<stem>_date` the `<stem>ed_on` one (close_date: closed_on).
STAMPS = {"_time": "_at", "_date": "_on"}
CONVERTERS: list[Writer[Any, Any] | Reader[Any]] = []  # every one built, for the tests


def fields_of(message: type[Message]) -> list[descriptor.FieldDescriptor]:
    fields: list[descriptor.FieldDescriptor] = list(message.DESCRIPTOR.fields)  # type: ignore[arg-type]
    return fields


def enum_prefix(enum: descriptor.EnumDescriptor) -> str:
    """The prefix of an enum's values (FIRM_TYPE for FIRM_TYPE_UNSPECIFIED)."""
    return enum.values_by_number[0].name.removesuffix("_UNSPECIFIED")


def ref_name(collection: str, number: int | None) -> str:
    """firms/3, or "" where there is none."""
    return f"{collection}/{number}" if number else ""


def _attributes(cls: type) -> set[str]:
    """A dataclass's fields and its other public attributes (name, etag, company)."""
    return {f.name for f in dataclasses.fields(cls)} | {a for a in dir(cls) if not a.startswith("_")}


def _source(field: str, attributes: set[str]) -> str | None:
    if field in attributes:
        return field
    for suffix, stamp in STAMPS.items():
        if field.endswith(suffix):
            stem = field.removesuffix(suffix)
            for infix in ("d", "ed", "", "s"):
                if f"{stem}{infix}{stamp}" in attributes:
                    return f"{stem}{infix}{stamp}"
    return None


class Writer(Generic[E, M]):
    """A domain object as its message. Each field of the message is written from the same-named attribute
    (or the stamp STAMPS names): an enum from its short name, a Timestamp, Date, Money or Duration through the
    helpers above, anything else as it is. What differs is declared: `refs` (field: collection; the field is
    the resource name of the `<field>_id` attribute), `rename` (field: attribute), `compute` (field: function
    of the object), `skip` (fields not written here, e.g. given per call). The fields are resolved once, here;
    a field that resolves to nothing is a TypeError at import, so a renamed field cannot silently vanish."""

    def __init__(
        self,
        message: type[M],
        entity: type[E],
        *,
        refs: Mapping[str, str] | None = None,
        rename: Mapping[str, str] | None = None,
        compute: Mapping[str, Callable[[E], Any]] | None = None,
        skip: Iterable[str] = (),
    ) -> None:
        self.message, self.entity, self.skipped = message, entity, frozenset(skip)
        attributes, refs, rename, compute = _attributes(entity), refs or {}, rename or {}, compute or {}
        getters: list[tuple[str, Get]] = []
        self.sources: dict[str, str] = {}  # field -> what it is written from, for a reader of the tests
        for field in fields_of(message):
            if field.name in self.skipped:
                continue
            if field.name in compute:
                getters.append((field.name, compute[field.name]))
                self.sources[field.name] = "computed"
            elif field.name in refs:
                getters.append((field.name, _ref(refs[field.name], attrgetter(f"{field.name}_id"))))
                self.sources[field.name] = f"{field.name}_id"
            else:
                attribute = rename.get(field.name) or _source(field.name, attributes)
                if attribute is None:
                    raise TypeError(f"{message.__name__}.{field.name}: {entity.__name__} has no such attribute")
                getters.append((field.name, self._value(field, attrgetter(attribute))))
                self.sources[field.name] = attribute
        self.getters = tuple(getters)
        CONVERTERS.append(self)

    def _value(self, field: descriptor.FieldDescriptor, get: Get) -> Get:
        if field.enum_type is not None and not field.is_repeated:
            numbers = {"": 0} | {enum_short_of(v): v.number for v in field.enum_type.values if v.number}
            return lambda entity: numbers[get(entity)]
        if (field.is_repeated and field.message_type is not None) or field.enum_type is not None:
            raise TypeError(f"{self.message.__name__}.{field.name}: declare how it is written (compute)")
        if field.message_type is not None:
            if field.message_type.full_name not in WRITE:
                raise TypeError(f"{self.message.__name__}.{field.name}: declare how it is written (compute)")
            write = WRITE[field.message_type.full_name]
            return lambda entity: write(get(entity))
        return get

    def __call__(self, entity: E, **given: Any) -> M:
        """The message; `given` are the skipped fields this call has a value for."""
        return self.message(**{field: get(entity) for field, get in self.getters}, **given)


def enum_short_of(value: descriptor.EnumValueDescriptor) -> str:
    return value.name.removeprefix(enum_prefix(value.type) + "_")


def _unknown(enum: descriptor.EnumDescriptor, number: int) -> str:
    raise ValueError(f"Enum {enum.name} has no value defined for name {number}")


def _ref(collection: str, get: Get) -> Get:
    return lambda entity: ref_name(collection, get(entity))


class Reader(Generic[F]):
    """The writable fields of a request's resource as domain values, the keys of the TypedDict `fields`: each
    the same-named field (or the one `rename` names, key: field), an enum as its short name, a Date checked,
    a repeated field as the list or tuple the TypedDict says, text in `strip` stripped, a `<field>_id` key of
    a field in `refs` (field: collection) the number its resource name holds (None when empty). `read` (key:
    function of the message) takes over where that is not enough. The fields the resource's name, etag and
    OUTPUT_ONLY fields aside, every field must be read or in `ignore`: a TypeError at import otherwise."""

    def __init__(
        self,
        message: type[Message],
        fields: type[F],
        path: str,
        *,
        rename: Mapping[str, str] | None = None,
        refs: Mapping[str, str] | None = None,
        strip: Iterable[str] = (),
        read: Mapping[str, Callable[[Any], Any]] | None = None,
        ignore: Iterable[str] = (),
    ) -> None:
        self.message, self.path = message, path
        rename, refs, read, strip = dict(rename or {}), refs or {}, read or {}, frozenset(strip)
        rename |= {f"{field}_id": field for field in refs}
        by_field = {f.name: f for f in fields_of(message)}
        readers: list[tuple[str, Get]] = []
        for key, hint in get_type_hints(fields).items():
            name = rename.get(key, key)
            if key in read:
                readers.append((key, read[key]))
            elif name not in by_field:
                raise TypeError(f"{message.__name__} has no field {name} for {fields.__name__}[{key!r}]")
            else:
                readers.append((key, self._value(by_field[name], get_origin(hint), refs, name in strip)))
        self.readers = tuple(readers)
        self.keys = {rename.get(key, key): key for key, _ in readers}  # field (a mask's path) -> key
        self.ignored = frozenset(ignore) | {f.name for f in fields_of(message) if not _writable(f)}
        missing = set(by_field) - set(self.keys) - self.ignored
        if missing:
            raise TypeError(f"{message.__name__}: {sorted(missing)} neither read into {fields.__name__} nor ignored")
        CONVERTERS.append(self)

    def _value(self, field: descriptor.FieldDescriptor, kind: Any, refs: Mapping[str, str], strip: bool) -> Get:
        get, where = attrgetter(field.name), f"{self.path}.{field.name}"
        if field.name in refs:
            collection = refs[field.name]
            return lambda m: parse_name(value, collection, where) if (value := get(m)) else None
        if field.is_repeated:
            if field.type == descriptor.FieldDescriptor.TYPE_MESSAGE or field.enum_type is not None:
                raise TypeError(f"{self.message.__name__}.{field.name}: declare how it is read (read)")
            sequence = tuple if kind is tuple else list
            return lambda m: sequence(get(m))
        if field.enum_type is not None:
            enum = field.enum_type
            shorts = {0: ""} | {v.number: enum_short_of(v) for v in field.enum_type.values if v.number}
            return lambda m: shorts[number] if (number := get(m)) in shorts else _unknown(enum, number)
        if field.message_type is not None:
            if field.message_type.full_name != "google.type.Date":
                raise TypeError(f"{self.message.__name__}.{field.name}: declare how it is read (read)")
            return lambda m: calendar_date(get(m), where)
        return (lambda m: get(m).strip()) if strip else get

    def __call__(self, message: Any) -> F:
        values: Any = {key: read(message) for key, read in self.readers}
        return values

    def changes(self, message: Any, paths: Iterable[str]) -> dict[str, object]:
        """The fields an update mask names, by their keys (a Person's company is its company_id)."""
        values = self(message)
        return {self.keys[path]: values[self.keys[path]] for path in paths}


def _writable(field: descriptor.FieldDescriptor) -> bool:
    behavior = field.GetOptions().Extensions[field_behavior_pb2.field_behavior]
    output = field_behavior_pb2.OUTPUT_ONLY in behavior or field_behavior_pb2.IDENTIFIER in behavior
    return not output and field.name not in ("name", "etag")
