"""Checking what callers send, in one place: declared field rules, resource names, field masks, page tokens.

Each service declares RULES: request type -> {field path: checks}. The server runs them before the use
case, together with checks every request gets (known enum numbers, a size cap on every string, no NUL, every
time and date inside the business range, every duration from zero to MAX_DURATION), and answers
INVALID_ARGUMENT with a BadRequest naming each bad field.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re
import unicodedata
from collections.abc import Callable, Iterable, Sequence
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any, TypeVar

from google.protobuf import descriptor
from google.protobuf.field_mask_pb2 import FieldMask
from google.protobuf.message import Message

from hubcore.errors import Aborted, InvalidArgument, invalid

MAX_STRING = 10_000  # any string field without a rule of its own
# The business range: every Timestamp and google.type.Date a caller sends must fall in it (no session in year
# 1, none at 9999-12-31 whose end or reminder overflows). Past dates that may be older (a company's founding)
# are listed in HISTORICAL with their own earliest year.
FIRST_YEAR, LAST_YEAR = 2000, 2100
MIN_SECONDS = int(datetime(FIRST_YEAR, 1, 1, tzinfo=UTC).timestamp())
MAX_SECONDS = int(datetime(LAST_YEAR + 1, 1, 1, tzinfo=UTC).timestamp()) - 1
HISTORICAL = {"hub.companies.v1.Company.founded_on": 1900}
BUSINESS_RANGE = f"{FIRST_YEAR}-01-01 to {LAST_YEAR}-12-31 (UTC)"
# Every google.protobuf.Duration a caller sends: not negative, at most this; fields have tighter rules of their own.
MAX_DURATION = timedelta(days=366)
DEFAULT_PAGE_SIZE = 50
MAX_PAGE_SIZE = 500
# Every string is one line of visible text unless its field is named as prose, where line breaks and tabs
# are ordinary. By the field's own name, so a new field is single-line unless named like these.
MULTILINE_FIELDS = frozenset(
    {"description", "notes", "note", "comment", "evidence", "agenda", "text"}
    | {"reason", "decision_reason", "override_reason", "cancel_reason", "revoke_reason"}
)
LINE_BREAKS = "\n\r\t"  # what multi-line text may hold of the control characters
# Zero-width (non-)joiners are format characters, but emoji sequences (👩‍💻) and Persian or Indic words need
# them: taken between two visible characters, never at an edge or alone.
JOINERS = "\u200c\u200d"
# Hangul fillers are letters (Lo) that render as nothing: a name of fillers looks empty, and one inside a
# name looks like a space. Modern Korean never needs them (syllables are precomposed), so they are refused.
HANGUL_FILLERS = "\u115f\u1160\u3164\uffa0"

T = TypeVar("T")
Check = Callable[[Any], str | None]  # returns a description of what is wrong, or None


def required(value: Any) -> str | None:
    if isinstance(value, str):  # blank: nothing but spaces and invisible characters
        return "is required" if not any(_visible(c) for c in value) else None
    if isinstance(value, int):
        return "is required" if value == 0 else None
    return None


def length(low: int, high: int) -> Check:
    """Counts the characters of the NFC form, which is what services store: decomposed Hangul (macOS, some
    IMEs) counts as the syllables it spells, and a character that NFC expands counts as what it becomes."""

    def check(value: Any) -> str | None:
        if isinstance(value, str) and value and not low <= len(unicodedata.normalize("NFC", value)) <= high:
            return f"must be {low} to {high} characters long"
        return None

    return check


def max_items(limit: int, item: Check | None = None) -> Check:
    def check(value: Any) -> str | None:
        if len(value) > limit:
            return f"has more than {limit} items"
        for element in value:
            problem = item(element) if item else None
            if problem:
                return f"item {element!r} {problem}"
        return None

    return check


def at_most(high: int) -> Check:
    """A count from 0 (which means the method's default) to high."""

    def check(value: Any) -> str | None:
        return f"must be between 0 and {high}" if not 0 <= value <= high else None

    return check


def matches(pattern: str, what: str) -> Check:
    compiled = re.compile(pattern)

    def check(value: Any) -> str | None:
        return f"must be {what}" if value and not compiled.fullmatch(value) else None

    return check


url = matches(r"https?://[^\s/$.?#][^\s]{0,190}", "an http(s) URL")
email = matches(r"[^@\s]{1,64}@[^@\s]+\.[^@\s]{2,}", "an email address")
e164 = matches(r"\+[1-9]\d{6,14}", "a phone number in E.164 form, e.g. +821012345678")


@dataclass(frozen=True)
class Rules:
    """Field rules for one request type. mask_field names the FieldMask of an Update: then the rules of the
    resource (fields under resource) apply only to masked paths, and only those paths may be masked."""

    fields: dict[str, list[Check]]
    mask_field: str = ""
    resource: str = ""
    mutable: frozenset[str] = frozenset()


def _get(message: Message, path: str) -> Any:
    value: Any = message
    for part in path.split("."):
        value = getattr(value, part)
    return value


def validate(request: Message, rules: Rules | None) -> None:
    generic = list(_generic_violations(request, ""))
    violations: list[tuple[str, str]] = []
    if rules:
        masked: set[str] | None = None
        if rules.mask_field:
            mask: FieldMask = getattr(request, rules.mask_field)
            masked = set(mask.paths)
            if not masked:
                violations.append((rules.mask_field, "must name at least one field"))
            for path in sorted(masked - rules.mutable):
                violations.append(
                    (
                        rules.mask_field,
                        f"{path!r} cannot be updated (allowed: {', '.join(sorted(rules.mutable))})",
                    )
                )
        for path, checks in rules.fields.items():
            in_resource = path.startswith(rules.resource + ".")
            if masked is not None and in_resource and path.split(".", 1)[1] not in masked:
                continue
            value = _get(request, path)
            for check in checks:
                problem = check(value)
                if problem:
                    violations.append((path, problem))
                    break
    # A field's own rule says it better: a name of only U+200B "is required" rather than "has U+200B".
    flagged = {path for path, _ in violations}
    violations = [v for v in generic if v[0] not in flagged] + violations
    if violations:
        raise InvalidArgument(violations)


def _generic_violations(message: Message, prefix: str) -> Iterable[tuple[str, str]]:
    """Unknown enum numbers, oversized strings and NUL characters, anywhere in the request."""
    for field, value in message.ListFields():
        path = prefix + field.name
        values = list(value) if field.is_repeated else [value]
        if field.type == descriptor.FieldDescriptor.TYPE_ENUM:
            for v in values:
                if field.enum_type is not None and v not in field.enum_type.values_by_number:
                    yield path, f"unknown value {v}"
        elif field.type == descriptor.FieldDescriptor.TYPE_STRING:
            if any(len(v) > MAX_STRING for v in values):
                yield path, f"is longer than {MAX_STRING} characters"
            elif any("\x00" in v for v in values):  # PostgreSQL text cannot hold NUL
                yield path, "must not contain NUL characters"
            elif problem := next(filter(None, (text_problem(v, field.name in MULTILINE_FIELDS) for v in values)), None):
                yield path, problem
        elif field.message_type is not None and field.message_type.full_name in _TIME_CHECKS:
            time_check = _TIME_CHECKS[field.message_type.full_name]
            for v in values:
                found = time_check(v, HISTORICAL.get(field.full_name, FIRST_YEAR))
                if found:
                    yield path, found
                    break
        elif field.message_type is not None and field.message_type.GetOptions().map_entry:
            texts = [x for pair in value.items() for x in pair if isinstance(x, str)]
            if any(len(x) > MAX_STRING for x in texts):
                yield path, f"is longer than {MAX_STRING} characters"
            elif problem := next(filter(None, (text_problem(x, False) for x in texts)), None):
                yield path, problem
        elif field.message_type is not None:
            for v in values:
                yield from _generic_violations(v, path + ".")


def _timestamp_problem(value: Any, first_year: int) -> str | None:
    if not (MIN_SECONDS <= value.seconds <= MAX_SECONDS and 0 <= value.nanos < 10**9):
        return f"must be a time from {BUSINESS_RANGE}"
    return None


def _date_problem(value: Any, first_year: int) -> str | None:
    # All zero is an unset date; whether the day exists is calendar_date's question.
    if (value.year or value.month or value.day) and not first_year <= value.year <= LAST_YEAR:
        return f"must be a date from {first_year}-01-01 to {LAST_YEAR}-12-31"
    return None


def _duration_problem(value: Any, first_year: int) -> str | None:
    if value.seconds < 0 or value.nanos < 0:
        return "must not be negative"
    if value.nanos >= 10**9 or value.seconds * 10**9 + value.nanos > MAX_DURATION // timedelta(microseconds=1) * 1000:
        return f"must be at most {MAX_DURATION.days} days"
    return None


_TIME_CHECKS: dict[str, Callable[[Any, int], str | None]] = {
    "google.protobuf.Timestamp": _timestamp_problem,
    "google.type.Date": _date_problem,
    "google.protobuf.Duration": _duration_problem,
}


def text_problem(value: str, multiline: bool = False) -> str | None:
    """What is wrong with a string as text people read: control characters (but line breaks and tabs in
    multi-line text), line breaks in one-line text, and invisible characters (Unicode format characters
    such as U+200B ZERO WIDTH SPACE or U+202E RIGHT-TO-LEFT OVERRIDE, and Hangul fillers)."""
    if value.isprintable() and not any(f in value for f in HANGUL_FILLERS):  # the common case, at C speed
        return None
    for i, char in enumerate(value):
        category = unicodedata.category(char)
        if multiline and (char in LINE_BREAKS or category in ("Zl", "Zp")):
            continue
        if char in "\n\r\v\f\x85" or category in ("Zl", "Zp"):
            return "must be a single line"
        if category == "Cc":
            return f"must not contain control characters ({_describe(char)})"
        if (category == "Cf" and not _joins(value, i)) or char in HANGUL_FILLERS:
            return f"must not contain invisible characters ({_describe(char)})"
    return None


def _visible(char: str) -> bool:
    return not char.isspace() and unicodedata.category(char) not in ("Cc", "Cf") and char not in HANGUL_FILLERS


def _joins(value: str, i: int) -> bool:
    """A format character that belongs where it is: a joiner between two visible characters, or an emoji tag
    (U+E0020..U+E007F, the flags of 🏴 regions) after a visible character or another tag."""
    char, before = value[i], value[i - 1] if i else ""
    if char in JOINERS:
        return bool(before) and i + 1 < len(value) and _visible(before) and _visible(value[i + 1])
    if "\U000e0020" <= char <= "\U000e007f":
        return bool(before) and (_visible(before) or "\U000e0020" <= before <= "\U000e007f")
    return False


def _describe(char: str) -> str:
    name = unicodedata.name(char, "")
    return f"U+{ord(char):04X} {name}" if name else f"U+{ord(char):04X}"


def parse_name(name: str, collection: str, field: str = "name") -> int:
    """'companies/42' -> 42; anything else is INVALID_ARGUMENT naming the field."""
    prefix = collection + "/"
    # ASCII digits only: str.isdigit() also accepts "²" (which int() rejects) and "١" (which int() reads as 1).
    if not name.startswith(prefix) or not re.fullmatch(r"[0-9]+", name[len(prefix) :]) or len(name) > 40:
        raise invalid(field, f"must look like {collection}/<number>")
    number = int(name[len(prefix) :])
    if not 0 < number < 2**63:
        raise invalid(field, f"must look like {collection}/<number>")
    return number


def names(collection: str, field: str = "filter") -> Callable[[str], int]:
    """A filter value that names a resource (mentor=mentors/3) read as its number, as parse_name reads it."""
    return lambda raw: parse_name(raw, collection, field)


def page_size(requested: int) -> int:
    if requested < 0:
        raise invalid("page_size", "must not be negative")
    return min(requested or DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE)


# Page tokens are signed with a key derived from HUB_TOKEN_SIGNING_KEY, so every replica accepts the
# others' tokens; without that setting, with this embedded key (anyone who reads it can sign, which is why the
# position's shape is checked as well). Derived, so the access-token key itself signs nothing else.
EMBEDDED_PAGE_TOKEN_KEY = "hub-embedded-page-token-key"
MAX_PAGE_TOKEN = 2048
MAX_CURSOR_TEXT = 1000  # a sort key as stored (names are at most a few hundred characters)
BAD_PAGE_TOKEN = "is not a token from a previous page of this same query"


def page_token_keys(signing_keys: Sequence[str]) -> tuple[bytes, ...]:
    """The keys of page tokens from the access-token signing keys: the first signs, every one verifies."""
    return tuple(
        hmac.new(key.encode(), b"hub page tokens", hashlib.sha256).digest()
        for key in (signing_keys or (EMBEDDED_PAGE_TOKEN_KEY,))
    )


# Set by the server's interceptor for each call, from the service's settings.
_EMBEDDED_PAGE_KEYS = page_token_keys(())
current_page_keys: ContextVar[tuple[bytes, ...]] = ContextVar("current_page_keys", default=_EMBEDDED_PAGE_KEYS)


class PageTokens:
    """Opaque cursors: the last row's sort key, bound to the query they came from.

    A token is a keyset position (not an offset), so rows inserted meanwhile never shift a page. It is
    `<base64 JSON position>.<HMAC>`, the HMAC over the query and the position, so reusing it with another
    query, or altering or forging it, is INVALID_ARGUMENT. The decoder also checks the position against the
    types the List declares, so that even a token signed with a known key never reaches the database with
    a value of the wrong type or range.

    Types: int is a row id (1 to 2**63-1), str a sort key of text, datetime an ISO time with its offset
    (returned as an aware datetime), date an ISO date (returned as a date).
    """

    @staticmethod
    def encode(query: str, position: list[Any], keys: Sequence[bytes] | None = None) -> str:
        body = _b64(json.dumps(position, separators=(",", ":"), ensure_ascii=False).encode())
        return f"{body}.{_page_mac((keys or current_page_keys.get())[0], query, body)}"

    @staticmethod
    def decode(
        token: str, query: str, types: tuple[type, ...], keys: Sequence[bytes] | None = None
    ) -> list[Any] | None:
        if not token:
            return None
        body, _, mac = token.partition(".")
        signed = len(token) <= MAX_PAGE_TOKEN and any(
            # As bytes: compare_digest refuses str with non-ASCII characters, which a caller may send.
            hmac.compare_digest(_page_mac(key, query, body).encode(), mac.encode())
            for key in keys or current_page_keys.get()
        )
        if not signed:
            raise invalid("page_token", BAD_PAGE_TOKEN)
        try:
            position = json.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))
        except (ValueError, RecursionError):  # RecursionError: JSON nested too deep
            position = None
        if not isinstance(position, list) or len(position) != len(types):
            raise invalid("page_token", BAD_PAGE_TOKEN)
        return [_cursor_part(value, kind) for value, kind in zip(position, types, strict=True)]


def next_page(rows: Sequence[T], size: int, query: str, position: Callable[[T], list[Any]]) -> tuple[Sequence[T], str]:
    """A keyset page from rows fetched with LIMIT size + 1: the page's rows and the next page's token ("" when
    this is the last page), which holds position(the page's last row)."""
    if len(rows) > size:
        return rows[:size], PageTokens.encode(query, position(rows[size - 1]))
    return rows, ""


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def _page_mac(key: bytes, query: str, body: str) -> str:
    # The query's digest has a fixed length, so no query and body can be read as another pair.
    signed = hashlib.sha256(query.encode()).digest() + body.encode()
    return _b64(hmac.new(key, signed, hashlib.sha256).digest()[:16])


def _cursor_part(value: Any, kind: type) -> Any:
    """One value of a token's position, checked against the type the List declared (see PageTokens)."""
    try:
        if kind is int and type(value) is int and 0 < value < 2**63:  # not a bool; fits a BIGINT
            return value
        if kind is str and type(value) is str and len(value) <= MAX_CURSOR_TEXT and "\x00" not in value:
            return value
        if kind is datetime and type(value) is str and len(value) <= 40:
            parsed = datetime.fromisoformat(value)
            if parsed.tzinfo is not None:
                return parsed.astimezone(UTC)
        if kind is date and type(value) is str and len(value) <= 10:
            return date.fromisoformat(value)
    except (ValueError, OverflowError):  # not ISO; or an offset that takes it past year 1 or 9999
        pass
    raise invalid("page_token", BAD_PAGE_TOKEN)


Terms = dict[str, list[Any]]  # a List's filter as parse_filter reads it: field -> the values any of which match


def parse_filter(text: str, allowed: dict[str, Callable[[str], Any]]) -> Terms:
    """A small AIP-160 subset: terms `field = value` (or `field:value`) joined by AND.

    Repeating a field ORs its values (status=SELECTED AND status=RESIDENT reads as either)."""
    result: Terms = {}
    if not text.strip():
        return result
    for term in re.split(r"\s+AND\s+", text.strip()):
        match = re.fullmatch(r'\s*([a-z_]+)\s*[:=]\s*"?([^"]*)"?\s*', term)
        if not match:
            raise invalid("filter", f"cannot read {term!r}; write terms like status=RESIDENT joined by AND")
        key, raw = match.groups()
        if key not in allowed:
            raise invalid("filter", f"unknown field {key!r} (known: {', '.join(sorted(allowed))})")
        try:
            value = allowed[key](raw)
        except ValueError as exc:
            raise invalid("filter", f"{key}: {exc}") from None
        result.setdefault(key, []).append(value)
    return result


def enum_value(enum: Any, prefix: str) -> Callable[[str], int]:
    """Reads RESIDENT or COMPANY_STATUS_RESIDENT (any case) as the enum's number."""

    def read(raw: str) -> int:
        name = raw.strip().upper()
        for candidate in (name, f"{prefix}_{name}"):
            # enum is a protobuf EnumTypeWrapper: keys() is its method, not a dict's
            if candidate in enum.keys() and not candidate.endswith("UNSPECIFIED"):  # noqa: SIM118
                return int(enum.Value(candidate))
        known = [k.removeprefix(prefix + "_") for k in enum.keys() if not k.endswith("UNSPECIFIED")]  # noqa: SIM118
        raise ValueError(f"unknown value {raw!r} (known: {', '.join(known)})")

    return read


def short_enum_name(enum: Any, prefix: str, number: int) -> str:
    return str(enum.Name(number)).removeprefix(prefix + "_")


def enum_short(enum: Any, prefix: str, number: int) -> str:
    """An enum number as the short name tables and events carry ("RESIDENT"); "" for UNSPECIFIED."""
    return short_enum_name(enum, prefix, number) if number else ""


def enum_number(enum: Any, prefix: str, short: str) -> Any:
    """The reverse of enum_short. Typed Any: each generated enum's ValueType is its own NewType of int."""
    return enum.Value(f"{prefix}_{short}") if short else 0


def short_value(enum: Any, prefix: str) -> Callable[[str], str]:
    """A filter value (RESIDENT or COMPANY_STATUS_RESIDENT) as the short name the tables store."""
    read = enum_value(enum, prefix)
    return lambda raw: short_enum_name(enum, prefix, read(raw))


def parse_order_by(text: str, allowed: Iterable[str], default: str) -> tuple[str, bool]:
    """'korean_name desc' -> ('korean_name', True)."""
    text = text.strip() or default
    match = re.fullmatch(r"([a-z_]+)(\s+(asc|desc))?", text.strip())
    if not match or match.group(1) not in allowed:
        raise invalid("order_by", f"must be one of {', '.join(allowed)}, optionally followed by ' desc'")
    return match.group(1), match.group(3) == "desc"


def check_etag(sent: str, current: str) -> None:
    if sent and sent != current:
        raise Aborted(f"etag {sent!r} is stale; the resource changed (current etag {current!r}); read it again")
