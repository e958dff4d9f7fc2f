"""What commands take: the options many of them share, and the typed text turned into resource names, dates,
amounts and list filters (one wording of each help text and error, whichever command shows it)."""

from __future__ import annotations

import uuid
from datetime import date
from typing import Annotated, Any, Protocol, TypeVar

import typer
from google.protobuf.field_mask_pb2 import FieldMask
from google.protobuf.message import Message
from google.type import date_pb2, money_pb2

from hubcore.korean import format_krw, read_krw
from hubctl.client import fail


class Versioned(Protocol):
    """A resource an edit sends back with the etag it read."""

    name: str
    etag: str


M = TypeVar("M", bound=Versioned)

# Options and arguments many commands take, each with one help text.
CompanyOption = Annotated[str, typer.Option(help="42 or companies/42")]
CompanyArgument = Annotated[str, typer.Argument(help="42 or companies/42")]
FirmOption = Annotated[str, typer.Option(help="3 or firms/3")]
MentorOption = Annotated[str, typer.Option(help="3 or mentors/3")]
RoomOption = Annotated[str, typer.Option(help="1 or rooms/1")]
RoundOption = Annotated[str, typer.Option("--round", help="1 or rounds/1")]
KoreanNameOption = Annotated[str, typer.Option("--ko", help="Name in Hangul")]
EnglishNameOption = Annotated[str, typer.Option("--en")]
RequestIdOption = Annotated[str, typer.Option(help="Retry-safe id")]
MinutesOption = Annotated[int, typer.Option(help="Length")]
YesOption = Annotated[bool, typer.Option("--yes", help="Don't ask")]


def retry_safe(request_id: str) -> str:
    """The request id given, or a new one: a create sent again with the same id never creates twice."""
    return request_id or str(uuid.uuid4())


def name(collection: str, text: str) -> str:
    return text if text.startswith(collection + "/") else f"{collection}/{text}"


def name_if_given(collection: str, text: str) -> str:
    """A resource name from an option that may be left out: nothing given stays ""."""
    return name(collection, text) if text else ""


def day(text: str, what: str, example: str = "2026-03-01") -> date_pb2.Date:
    try:
        d = date.fromisoformat(text)
    except ValueError:
        fail(f"{what} must be a date like {example}, not {text!r}", 3)
    return date_pb2.Date(year=d.year, month=d.month, day=d.day)


def iso(d: date_pb2.Date) -> str:
    """A date as YYYY-MM-DD; an unset one as ""."""
    return f"{d.year:04d}-{d.month:02d}-{d.day:02d}" if d.year else ""


def where(**terms: str | int | list[str] | None) -> str:
    """A list's filter from the options given: `company=companies/42 AND state=open`. An option left out ("",
    0, None) adds nothing; a repeated one adds a term per value."""
    given = []
    for key, value in terms.items():
        for one in value if isinstance(value, list) else [value]:
            if one:
                given.append(f"{key}={one}")
    return " AND ".join(given)


def page_size(limit: int) -> int:
    """A list's page: no larger than its --limit asks for, and at most 500 (the services' largest)."""
    return min(limit, 500) if limit > 0 else 500


def quoted(text: str) -> str:
    """A filter value that may hold spaces (a tag, an owner), in quotes; nothing given stays ""."""
    return f'"{text}"' if text else ""


def krw(units: int) -> str:
    """Korean reading of an amount: 23억 5,000만 원."""
    return format_krw(units)


def parse_krw(text: str) -> money_pb2.Money:
    """1500000000, 1,500,000,000, 15억, 15억 5000만, 5000만 → KRW units."""
    units = read_krw(text)
    if units is None:
        fail(f"amount {text!r}: write it like 1500000000 or 15억 or 5000만", 3)
    return money_pb2.Money(currency_code="KRW", units=units)


def edit(existing: M, example: str, **fields: Any) -> tuple[M, FieldMask]:
    """What an edit sends: existing's name and etag (a change made meanwhile is refused) with each field given
    (not None) set, and nothing else, and the update mask of those fields. A message value is copied in; a
    list fills the repeated field. No field given is wrong usage; example says what one looks like."""
    changes = type(existing)()
    changes.name, changes.etag = existing.name, existing.etag
    paths = []
    for path, value in fields.items():
        if value is None:
            continue
        if isinstance(value, Message):
            getattr(changes, path).CopyFrom(value)
        elif isinstance(value, list):
            getattr(changes, path).extend(value)
        else:
            setattr(changes, path, value)
        paths.append(path)
    if not paths:
        fail(f"nothing to change: give at least one option, e.g. {example}", 2)
    return changes, FieldMask(paths=paths)
