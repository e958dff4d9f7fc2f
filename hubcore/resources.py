"""What every service's entities share: a resource name (`<collection>/<id>`, AIP-122), an etag from the row
version, and an update that normalizes the masked fields, bumps the version and checks the result. Pure."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import replace
from typing import Any, ClassVar, Protocol, TypeVar

from hubcore.errors import NotFound
from hubcore.requests import Check, length, required
from hubcore.text import clean


class Numbered(Protocol):
    """What a List in id order pages by."""

    @property
    def id(self) -> int: ...


class Named:
    """A mixin for a (frozen) dataclass with an `id`: `collection = "mentors"` gives it `name` mentors/7."""

    collection: ClassVar[str]
    id: int | str  # an access token's id is a string

    @property
    def name(self) -> str:
        return f"{self.collection}/{self.id}"


class Versioned(Named):
    """A named entity updated optimistically: its etag is its row version."""

    version: int

    @property
    def etag(self) -> str:
        return str(self.version)


class OfCompany:
    """An entity that belongs to one of the hub's companies (`company_id`)."""

    company_id: int

    @property
    def company(self) -> str:
        return f"companies/{self.company_id}"


V = TypeVar("V", bound=Versioned)
N = TypeVar("N", bound=Named)
Normalizers = Mapping[str, Callable[[Any], Any]]

# The hub's names: each person and organisation it knows has a Korean name and may have an English one, each at
# most 100 characters (columns.names() stores them), NFC and trimmed.
NAME_NORMALIZERS: Normalizers = {"korean_name": clean, "english_name": clean}


def name_fields(prefix: str = "") -> dict[str, list[Check]]:
    """The two names' rules, keyed like the rest of the caller's (prefix "mentor." for a request's fields)."""
    return {f"{prefix}korean_name": [required, length(1, 100)], f"{prefix}english_name": [length(1, 100)]}


def normalized(changes: Mapping[str, object], normalizers: Normalizers) -> dict[str, object]:
    """The changes as they are stored: each field through its normalizer (clean names, case-folded tags)."""
    return {k: normalizers[k](v) if k in normalizers else v for k, v in changes.items()}


def created(
    kind: Callable[..., N],
    fields: Mapping[str, object],
    normalizers: Normalizers,
    check: Callable[[N], None] | None = None,
) -> N:
    """A new entity (id 0 until the store numbers it), its fields normalized as an update's are, then checked."""
    entity = kind(id=0, **normalized(fields, normalizers))
    if check is not None:
        check(entity)
    return entity


def revise(
    entity: V, changes: Mapping[str, object], normalizers: Normalizers, check: Callable[[V], None] | None = None
) -> tuple[V, list[str]]:
    """Applies the masked fields, normalized; returns the new entity (version + 1, checked) and the fields whose
    value changed, sorted, or the entity itself and [] when nothing did (no write, no event)."""
    values = normalized(changes, normalizers)
    changed = sorted(k for k, v in values.items() if getattr(entity, k) != v)
    if not changed:
        return entity, []
    updated: V = replace(entity, **values, version=entity.version + 1)  # type: ignore[type-var]
    if check is not None:
        check(updated)
    return updated, changed


E = TypeVar("E")


def found(entity: E | None, kind: str, name: str) -> E:
    """The entity a read found, or NOT_FOUND naming it (kind "Firm", name as the caller sent it)."""
    if entity is None:
        raise NotFound(kind, name)
    return entity
