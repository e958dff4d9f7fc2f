"""What every service's gRPC servicer shares, so that each method stays parse -> use case -> convert: its
database, a write as the caller, the idempotent create (`_once`, the name tests/integration/
test_idempotent_retries.py looks for), the masked update (`_update`) and the List step (the request's filter
and page into the use case)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable
from contextlib import AbstractAsyncContextManager
from typing import Any, Protocol, TypeVar

from google.protobuf.message import Message

from hubcore.db import Database, UnitOfWork
from hubcore.requests import page_size, parse_filter, parse_name
from hubcore.server import caller

T = TypeVar("T")
R = TypeVar("R", bound=Message)


class ListRequest(Protocol):
    @property
    def filter(self) -> str: ...
    @property
    def page_size(self) -> int: ...
    @property
    def page_token(self) -> str: ...


class Api:
    """The base of a servicer: `self.db`, `_write()`, `_in_write(work)`, `_once(...)`, `_get(...)`, `_update(...)`."""

    def __init__(self, db: Database) -> None:
        self.db = db

    def _write(self) -> AbstractAsyncContextManager[UnitOfWork]:
        return self.db.write(actor=caller().actor)

    async def _in_write(self, work: Callable[[UnitOfWork], Awaitable[T]]) -> T:
        """work(uow) in one write as the caller; its result once committed."""
        async with self._write() as uow:
            return await work(uow)

    async def _once(
        self,
        method: str,
        request: Message,
        response_type: type[R],
        make: Callable[[UnitOfWork], Awaitable[T]],
        present: Callable[[T], R],
    ) -> R:
        """An idempotent create (AIP-155, Database.create_once): make(uow) is the use case and present() its
        response, which commits with the request's key; a retry with the request_id gets the first response."""

        async def build(uow: UnitOfWork) -> R:
            return present(await make(uow))

        return await self.db.create_once(method, request, response_type, build, actor=caller().actor)

    async def _get(
        self, name: str, collection: str, get: Callable[[Database, int, str], Awaitable[T]], present: Callable[[T], R]
    ) -> R:
        """A Get (AIP-131): get(db, number, name) reads the resource the name names (NOT_FOUND repeating the name
        as sent), present() its response."""
        return present(await get(self.db, parse_name(name, collection), name))

    async def _update(
        self,
        request: Any,
        field: str,
        collection: str,
        changes: Callable[[Any, Iterable[str]], dict[str, object]],
        update: Callable[[UnitOfWork, int, str, str, dict[str, object]], Awaitable[T]],
        present: Callable[[T], R],
    ) -> R:
        """An Update (AIP-134): request.<field> is the resource (named in collection), changes(resource, paths)
        the fields its update mask names; update(uow, number, name, etag, changes) is the use case, which writes
        them against the etag the caller read, and present() its response."""
        resource = getattr(request, field)
        number = parse_name(resource.name, collection, f"{field}.name")
        masked = changes(resource, request.update_mask.paths)
        return present(await self._in_write(lambda uow: update(uow, number, resource.name, resource.etag, masked)))


async def listed(
    request: ListRequest, allowed: dict[str, Callable[[str], Any]], fetch: Callable[..., Awaitable[T]]
) -> T:
    """A List (AIP-132): fetch(terms, size=..., token=...), the request's filter parsed against what it allows."""
    terms = parse_filter(request.filter, allowed)
    return await fetch(terms, size=page_size(request.page_size), token=request.page_token)
