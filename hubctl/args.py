"""What commands take: the options many of them share, and the typed text turned into resource names, dates,
amounts and list filters (one wording of each help text and error, whichever command shows it)."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import date, datetime
from typing import Annotated, Any, Protocol, TypeVar
from zoneinfo import ZoneInfo

import typer
from google.protobuf.field_mask_pb2 import FieldMask
from google.protobuf.message import Message
from google.type import date_pb2, money_pb2

from hubcore.korean import format_krw, read_krw
from hubctl.client import Client, fail


class Versioned(Protocol):
    """A resource an edit sends back with the etag it read."""

    name: str
    etag: str


M = TypeVar("M", bound=Versioned)

# Options and arguments many commands take, each with one help text.
CompanyOption = Annotated[str, typer.Option(help="기업 (a company): 42 or companies/42")]
CompanyArgument = Annotated[str, typer.Argument(help="42 or companies/42")]
FirmOption = Annotated[str, typer.Option(help="3 or firms/3")]
MentorOption = Annotated[str, typer.Option(help="3 or mentors/3")]
RoomOption = Annotated[str, typer.Option(help="1 or rooms/1")]
RoundOption = Annotated[str, typer.Option("--round", help="1 or rounds/1")]
KoreanNameOption = Annotated[str, typer.Option("--ko", help="한글 이름 (name in Hangul)")]
EnglishNameOption = Annotated[str, typer.Option("--en", help="영문 이름 (Latin name)")]
RequestIdOption = Annotated[
    str, typer.Option(help="재시도해도 한 번만 (a retry-safe id: the same id never creates twice)")
]
MinutesOption = Annotated[int, typer.Option(help="길이, 분 (length in minutes)")]
YesOption = Annotated[bool, typer.Option("--yes", help="묻지 않음 (don't ask)")]
FloorOption = Annotated[int, typer.Option(help="층 (floor)")]
LimitOption = Annotated[int, typer.Option(help="최대 개수 (at most this many; 0: all)")]
NewestLimitOption = Annotated[int, typer.Option(help="최근 몇 건 (at most this many, newest first; 0: all)")]
ReasonOption = Annotated[str, typer.Option(help="이유 (why, in a sentence)")]
# An edit's options: None (left out) changes nothing.
KoreanNameEdit = Annotated[str | None, typer.Option("--ko", help="한글 이름 (name in Hangul)")]
EnglishNameEdit = Annotated[str | None, typer.Option("--en", help="영문 이름 (Latin name)")]
EmailEdit = Annotated[str | None, typer.Option(help="이메일 (email)")]
RequiredReasonOption = Annotated[str, typer.Option("--reason", help="이유, 필수 (why; required)")]
EtagOption = Annotated[
    str, typer.Option(help="읽어 둔 버전 (the etag `show` printed): 그 뒤 바뀌었으면 거절 (refused if changed since)")
]


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


def midnight(text: str, what: str, tz: str) -> datetime:
    """A day typed as YYYY-MM-DD, as its first moment in the zone tz."""
    d = day(text, what)
    return datetime(d.year, d.month, d.day, tzinfo=ZoneInfo(tz))


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


def edit(existing: M, example: str, etag: str = "", **fields: Any) -> tuple[M, FieldMask]:
    """What an edit sends: existing's name and etag (or the etag given: the one the user read earlier; a change
    made meanwhile is refused) with each field given (not None) set, and nothing else, and the update mask of
    those fields. A message value is copied in; a list fills the repeated field. No field given is wrong usage;
    example says what one looks like."""
    changes = type(existing)()
    changes.name, changes.etag = existing.name, etag or existing.etag
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


def saved_edit(
    hub: Client, get: Callable[..., M], get_request: Message, update: Callable[..., M], update_request: type[Message],
    example: str, etag: str = "", **fields: Any,
) -> M:  # fmt: skip
    """An edit command's whole round trip: reads the resource, sends the fields given (see edit) as the update
    request's resource with their update mask, and returns what was saved. A stale etag ends the command with
    the service's refusal (exit 5), a missing resource with not found (exit 4)."""
    existing = hub.call(get, get_request)
    changes, mask = edit(existing, example, etag, **fields)
    resource = update_request.DESCRIPTOR.fields[0].name  # UpdateMentorRequest.mentor, UpdateFirmRequest.firm, …
    return hub.call(update, update_request(**{resource: changes, "update_mask": mask}))
