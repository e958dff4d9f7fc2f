"""Personal data: the export every service serves (hub.ops.v1.PrivacyService) and the erasure helpers its
handlers share.

A service says what it holds about a company or a person (`Exporter`: rows of its own tables, found by the
resource name); this module adds what the runtime's tables hold about it (events in the outbox and in dead
letters, stored responses of idempotent calls) and turns every row into JSON. Erasing, a service empties
its own rows and calls `scrub_runtime_tables` with the values it is erasing, so that no copy is left in the
payloads it keeps (see docs/privacy.md).
"""

from __future__ import annotations

import base64
import hashlib
import itertools
import json
import re
from collections.abc import Awaitable, Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any

import grpc
import sqlalchemy as sa
from google.protobuf import any_pb2, descriptor_pool, json_format, message_factory, struct_pb2
from google.protobuf.descriptor import FieldDescriptor, ServiceDescriptor
from google.protobuf.message import DecodeError, Message
from hub.events.v1 import envelope_pb2
from hub.ops.v1 import privacy_pb2, privacy_pb2_grpc
from sqlalchemy.ext.asyncio import AsyncConnection

from hubcore import errors
from hubcore.convert import as_utc
from hubcore.db import Database, dead_letters, idempotency_keys, outbox
from hubcore.events import unpack

# What a service's records say where erased data was: short, and the same everywhere.
ERASED = "(삭제됨)"

Record = tuple[str, Mapping[str, Any]]  # table, row
Exporter = Callable[[AsyncConnection, str, list[str]], Awaitable[list[Record]]]  # conn, name, match_values
IsErased = Callable[[AsyncConnection, str], Awaitable[bool]]
# A binary column this service can read: (table, column) -> the message type stored there.
Decoders = dict[tuple[str, str], Callable[[bytes], Message]]


def subject_name(name: str) -> str:
    """companies/{id} or people/{id}, checked; anything else is INVALID_ARGUMENT naming `name`."""
    kind, _, number = name.partition("/")
    if kind not in ("companies", "people") or not number.isdigit() or not 0 < int(number) < 2**63:
        raise errors.invalid("name", "must be companies/{id} or people/{id}")
    return f"{kind}/{int(number)}"


def subject_id(name: str) -> int:
    return int(name.partition("/")[2])


def distinct_values(*values: str | None) -> list[str]:
    """The values to scrub, longest first (so a name inside an email is not replaced before the email),
    without the empty ones and the single characters that would match everywhere."""
    kept = {v.strip() for v in values if v and len(v.strip()) >= 2}
    return sorted(kept, key=lambda v: (-len(v), v))


def contact_digest(salt: str, value: str) -> str:
    """How PersonErased names an email or phone without carrying it: hex SHA-256 of salt + value (lower case)."""
    return hashlib.sha256((salt + value.strip().lower()).encode()).hexdigest()


_EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
_PHONE = re.compile(r"\+?\d[\d -]{6,}\d")


def candidates(text: str) -> set[str]:
    """What in free text could be a name, an email or a phone number: emails, phone numbers, words and
    pairs of words (an English name), and each Hangul word's leading part (a name followed by 님, 대표,
    a particle)."""
    found = set(_EMAIL.findall(text)) | {p.replace(" ", "").replace("-", "") for p in _PHONE.findall(text)}
    words = re.findall(r"[^\W_]+", text)
    found.update(words)
    found.update(f"{a} {b}" for a, b in itertools.pairwise(words))
    for word in words:
        if any("\uac00" <= ch <= "\ud7a3" for ch in word):
            found.update(word[:n] for n in range(2, len(word)))
    return found


def find_by_digest(text: str, salt: str, digests: set[str]) -> list[str]:
    """The parts of a text that hash (contact_digest) to one of the digests: how a service that holds only
    free text finds an erased person's name or email in it."""
    if not text or not digests:
        return []
    return [c for c in candidates(text) if contact_digest(salt, c) in digests]


def replace_values(text: str, values: Iterable[str]) -> str:
    """The text with every occurrence of each value (case-insensitively) replaced by ERASED."""
    for value in values:
        if value.lower() in text.lower():
            start = 0
            lowered = value.lower()
            out = []
            while (at := text.lower().find(lowered, start)) >= 0:
                out.append(text[start:at] + ERASED)
                start = at + len(value)
            text = "".join(out) + text[start:]
    return text


def scrub_json(text: str, values: Iterable[str]) -> str:
    """A JSON column with the values replaced in every string it holds (keys included)."""
    values = list(values)
    if not any(v.lower() in text.lower() for v in values):
        return text
    try:
        data = json.loads(text)
    except ValueError:
        return replace_values(text, values)

    def walk(node: Any) -> Any:
        if isinstance(node, str):
            return replace_values(node, values)
        if isinstance(node, list):
            return [walk(x) for x in node]
        if isinstance(node, dict):
            return {walk(k): walk(v) for k, v in node.items()}
        return node

    return json.dumps(walk(data), ensure_ascii=False)


def _is_map(fd: FieldDescriptor) -> bool:
    return fd.message_type is not None and fd.message_type.GetOptions().map_entry


def _messages_in(fd: FieldDescriptor, value: Any, *, payloads: bool = True) -> Iterator[tuple[Message, Message]]:
    """The messages a message field (not a map) holds, each with the message to look into: itself, or for an
    Any its payload, unpacked (passed over if this process does not know its type, or without payloads).
    Whoever changes a payload packs it back into its Any."""
    for item in value if fd.is_repeated else [value]:
        if not isinstance(item, any_pb2.Any):
            yield item, item
            continue
        if not payloads:
            continue
        try:
            inner = unpack_any(item)
        except KeyError:
            continue
        yield item, inner


def scrub_message(message: Message, values: Iterable[str]) -> bool:
    """Replaces the values in every string field of the message, nested messages and Any payloads
    included; returns whether anything changed."""
    values = list(values)
    changed = False
    for fd, value in message.ListFields():
        if fd.type == FieldDescriptor.TYPE_MESSAGE:
            if _is_map(fd):
                assert fd.message_type is not None
                value_fd = fd.message_type.fields_by_name["value"]
                for key in list(value):
                    if value_fd.type == FieldDescriptor.TYPE_STRING:
                        new = replace_values(value[key], values)
                        if new != value[key]:
                            value[key], changed = new, True
                    elif value_fd.type == FieldDescriptor.TYPE_MESSAGE:
                        changed |= scrub_message(value[key], values)
                continue
            for item, inner in _messages_in(fd, value):
                if scrub_message(inner, values):
                    changed = True
                    if isinstance(item, any_pb2.Any):
                        item.Pack(inner)
        elif fd.type == FieldDescriptor.TYPE_STRING:
            if fd.is_repeated:
                for i, item in enumerate(value):
                    new = replace_values(item, values)
                    if new != item:
                        value[i], changed = new, True
            else:
                new = replace_values(value, values)
                if new != value:
                    setattr(message, fd.name, new)
                    changed = True
    return changed


def blank_fields(message: Message, fields: Iterable[str]) -> bool:
    """Empties the string fields with these names anywhere in the message (the free text a service erases
    with its subject: agenda, notes, note, reason…); returns whether anything changed."""
    fields = frozenset(fields)
    if not fields:
        return False
    changed = False
    for fd, value in message.ListFields():
        if fd.type == FieldDescriptor.TYPE_MESSAGE and not _is_map(fd):
            for item, inner in _messages_in(fd, value):
                if blank_fields(inner, fields):
                    changed = True
                    if isinstance(item, any_pb2.Any):
                        item.Pack(inner)
        elif fd.type == FieldDescriptor.TYPE_STRING and fd.name in fields:
            message.ClearField(fd.name)
            changed = True
    return changed


def mentions(message: Message, names: Iterable[str]) -> bool:
    """Whether a string field anywhere in the message is one of the names, or a resource under one
    (companies/3/kpi/2026-Q1)."""
    names = tuple(names)
    prefixes = tuple(f"{n}/" for n in names)
    for fd, value in message.ListFields():
        if fd.type == FieldDescriptor.TYPE_MESSAGE and not _is_map(fd):
            if any(mentions(inner, names) for _, inner in _messages_in(fd, value)):
                return True
        elif fd.type == FieldDescriptor.TYPE_STRING:
            for item in value if fd.is_repeated else [value]:
                if item in names or item.startswith(prefixes):
                    return True
    return False


def unpack_any(packed: any_pb2.Any) -> Message:
    descriptor = descriptor_pool.Default().FindMessageTypeByName(packed.TypeName())
    inner = message_factory.GetMessageClass(descriptor)()
    packed.Unpack(inner)
    return inner


def response_types(*services: ServiceDescriptor) -> dict[str, Callable[[bytes], Message]]:
    """Method name -> the parser of its response, for the stored responses of idempotent calls."""
    types: dict[str, Callable[[bytes], Message]] = {}
    for service in services:
        for method in service.methods:
            types[method.name] = message_factory.GetMessageClass(method.output_type).FromString
    return types


def _envelope(data: bytes) -> tuple[envelope_pb2.Envelope, Message] | None:
    try:
        envelope = envelope_pb2.Envelope.FromString(data)
        return envelope, unpack(envelope)
    except (DecodeError, KeyError, TypeError):
        return None


def _about(envelope: envelope_pb2.Envelope, payload: Message, names: tuple[str, ...]) -> bool:
    subject = envelope.subject_id
    return subject in names or subject.startswith(tuple(f"{n}/" for n in names)) or mentions(payload, names)


async def scrub_runtime_tables(
    conn: AsyncConnection,
    *,
    names: Iterable[str],
    values: Iterable[str],
    responses: Mapping[str, Callable[[bytes], Message]] | None = None,
    fields: Iterable[str] = (),
    everywhere: bool = False,
) -> int:
    """Replaces the values in the events this service keeps (outbox, published or not, and dead letters)
    about the erased subject (`names`: companies/3, or people/7 and what else the service calls them), and in
    the stored responses of its idempotent calls; in those about the subject, the string fields named in
    `fields` (the free text the service empties in its own rows) are emptied too. With `everywhere` (a
    person's name, email and phone) the values are replaced in every event that holds them, whatever it is
    about. Returns the rows changed.

    Outbox rows stay (they are the record the hub can re-publish from, and their ids are what consumers
    de-duplicate on); their payloads lose the personal values. A stored response is rewritten when its type is
    known; otherwise it is deleted (a retry of that old request would then run again)."""
    names = tuple(names)
    values = distinct_values(*values)
    fields = tuple(fields)
    if not values and not fields:
        return 0
    needles = [v.lower().encode() for v in values]
    name_needles = [n.encode() for n in names]
    changed = 0
    for table, key in ((outbox, outbox.c.seq), (dead_letters, dead_letters.c.id)):
        rows = (await conn.execute(sa.select(key, table.c.data))).all()
        for row_key, data in rows:
            lowered = data.lower()
            if not any(n in lowered for n in needles) and not (fields and any(n in data for n in name_needles)):
                continue
            decoded = _envelope(data)
            if decoded is None:
                continue
            envelope, payload = decoded
            about = _about(envelope, payload, names)
            if not about and not everywhere and not _mentions_value(payload, values):
                continue
            blanked = about and blank_fields(payload, fields)
            if scrub_message(payload, values) or blanked:
                envelope.payload.Pack(payload)
                await conn.execute(table.update().where(key == row_key).values(data=envelope.SerializeToString()))
                changed += 1
    k = idempotency_keys.c
    for method, request_id, response in (await conn.execute(sa.select(k.method, k.request_id, k.response))).all():
        has_value = any(n in response.lower() for n in needles)
        if not has_value and not (fields and any(n in response for n in name_needles)):
            continue
        where = sa.and_(k.method == method, k.request_id == request_id)
        message = _parse((responses or {}).get(method), response)
        if message is None:
            if has_value:
                await conn.execute(idempotency_keys.delete().where(where))
                changed += 1
            continue
        touched = scrub_message(message, values)
        if mentions(message, names):
            touched |= blank_fields(message, fields)
        if touched:
            await conn.execute(idempotency_keys.update().where(where).values(response=message.SerializeToString()))
            changed += 1
    return changed


def _parse(parse: Callable[[bytes], Message] | None, data: bytes) -> Message | None:
    if parse is None:
        return None
    try:
        return parse(data)
    except DecodeError:
        return None


def _mentions_value(message: Message, values: list[str]) -> bool:
    """Whether a whole string field equals one of the values (an event naming the company in a snapshot of
    another aggregate). Substrings alone are not enough to touch another aggregate's event."""
    lowered = {v.lower() for v in values}
    for fd, value in message.ListFields():
        if fd.type == FieldDescriptor.TYPE_MESSAGE and not _is_map(fd):
            if any(_mentions_value(inner, values) for _, inner in _messages_in(fd, value, payloads=False)):
                return True
        elif fd.type == FieldDescriptor.TYPE_STRING:
            for item in value if fd.is_repeated else [value]:
                if item.strip().lower() in lowered:
                    return True
    return False


# Export


def jsonable(value: Any, decode: Callable[[bytes], Message] | None = None) -> Any:
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, datetime):
        return as_utc(value).isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, (bytes, bytearray, memoryview)):
        raw = bytes(value)
        if decode is not None:
            try:
                return json_format.MessageToDict(decode(raw))
            except DecodeError:
                pass
        return {"base64": base64.b64encode(raw).decode()}
    return str(value)


def row_struct(table: str, row: Mapping[str, Any], decoders: Decoders) -> struct_pb2.Struct:
    data = struct_pb2.Struct()
    data.update({column: jsonable(value, decoders.get((table, column))) for column, value in row.items()})
    return data


async def runtime_records(
    conn: AsyncConnection, names: tuple[str, ...], responses: Mapping[str, Callable[[bytes], Message]]
) -> list[Record]:
    """The events (outbox, dead letters) about the subject, and stored responses that name it, decoded."""
    records: list[Record] = []
    for table_name, table in (("outbox", outbox), ("dead_letters", dead_letters)):
        for row in (await conn.execute(sa.select(table).order_by(table.primary_key.columns.values()[0]))).all():
            decoded = _envelope(row.data)
            if decoded is None or not _about(decoded[0], decoded[1], names):
                continue
            values = dict(row._mapping)
            values["data"] = json_format.MessageToDict(decoded[0]) | {"payload": json_format.MessageToDict(decoded[1])}
            records.append((table_name, values))
    k = idempotency_keys.c
    for row in (await conn.execute(sa.select(idempotency_keys).order_by(k.created_at))).all():
        parse = responses.get(row.method)
        if parse is None:
            continue
        try:
            message = parse(row.response)
        except DecodeError:
            continue
        if mentions(message, names):
            values = dict(row._mapping)
            values["response"] = json_format.MessageToDict(message)
            records.append(("idempotency_keys", values))
    return records


@dataclass
class PersonalData:
    """What a service declares about personal data: how to find its rows about a subject, which binary
    columns it can decode, and the services whose stored responses it keeps."""

    export: Exporter
    decoders: Decoders = field(default_factory=dict)
    services: list[ServiceDescriptor] = field(default_factory=list)
    is_erased: IsErased | None = None

    async def scrub(
        self,
        conn: AsyncConnection,
        *,
        names: Iterable[str],
        values: Iterable[str],
        fields: Iterable[str] = (),
        everywhere: bool = False,
    ) -> int:
        """scrub_runtime_tables, with the stored responses of this service's methods: what every erasure ends with."""
        responses = response_types(*self.services)
        return await scrub_runtime_tables(
            conn, names=names, values=values, responses=responses, fields=fields, everywhere=everywhere
        )


class PrivacyApi(privacy_pb2_grpc.PrivacyServiceServicer):
    def __init__(self, db: Database, service: str, data: PersonalData | None) -> None:
        self.db = db
        self.service = service
        self.data = data

    async def ExportPersonalData(
        self, request: privacy_pb2.ExportPersonalDataRequest, context: grpc.aio.ServicerContext
    ) -> privacy_pb2.PersonalDataExport:
        name = subject_name(request.name)
        responses = response_types(*self.data.services) if self.data else {}
        decoders = self.data.decoders if self.data else {}
        async with self.db.read() as conn:
            match = distinct_values(*request.match_values)
            records = await self.data.export(conn, name, match) if self.data else []
            records += await runtime_records(conn, (name,), responses)
            erased = bool(self.data and self.data.is_erased and await self.data.is_erased(conn, name))
        return privacy_pb2.PersonalDataExport(
            service=self.service,
            name=name,
            erased=erased,
            records=[
                privacy_pb2.PersonalDataExport.Record(table=table, row=row_struct(table, row, decoders))
                for table, row in records
            ],
        )


async def rows(conn: AsyncConnection, table: sa.Table, where: sa.ColumnElement[bool]) -> list[Record]:
    """Every row of a table that matches, as records for an export."""
    result = await conn.execute(sa.select(table).where(where))
    return [(table.name, dict(row._mapping)) for row in result.all()]


async def rows_with_children(
    conn: AsyncConnection, table: sa.Table, where: sa.ColumnElement[bool], *children: sa.Column[Any]
) -> list[Record]:
    """The matching rows of a table, then for each child (a column naming the table's id) the rows under them."""
    found = await rows(conn, table, where)
    ids = [row["id"] for _, row in found]
    for column in children if ids else ():
        found += await rows(conn, column.table, column.in_(ids))
    return found


async def erase_by_digest(
    conn: AsyncConnection, texts: Iterable[tuple[sa.Table, tuple[sa.Column[Any], ...]]], salt: str, digests: set[str]
) -> set[str]:
    """For a service that holds people only in free text: in each table's columns, the parts that hash to one of
    a PersonErased's digests become ERASED (row by id). Returns the values found, to scrub from the events."""
    found: set[str] = set()
    for table, columns in texts:
        key = table.c.id
        for row in (await conn.execute(sa.select(key, *columns))).all():
            hits = {v for column in columns for v in find_by_digest(row._mapping[column.name], salt, digests)}
            if hits:
                found.update(hits)
                erased = distinct_values(*hits)
                replaced = {column.name: replace_values(row._mapping[column.name], erased) for column in columns}
                await conn.execute(table.update().where(key == row[0]).values(replaced))
    return found
