"""The investors service's use cases: plain async functions that take a unit of work (writes) or the
Database (reads) and plain values, call the domain and the store, emit events, and return domain objects.
Both servicers and the event handlers call them, so every path to a change is the same path.

firms: firms, partners, API keys, the partner API's audit log; introductions: introductions, what a partner
sees of them, matching; rounds: funding rounds and the dashboard's figures."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from typing import TypeVar

from sqlalchemy.ext.asyncio import AsyncConnection

from hubcore.db import Database
from hubcore.requests import PageTokens, Terms, next_page
from hubcore.resources import Numbered

SUBJECT = "hub.investors"


T = TypeVar("T", bound=Numbered)
Fetch = Callable[[AsyncConnection, int | None, int], Awaitable[list[T]]]


async def paged(db: Database, query: str, token: str, size: int, fetch: Fetch[T]) -> tuple[Sequence[T], str]:
    """One page of a List by id: fetch(conn, after id or None, limit) reads size + 1 rows; returns the page
    and the next page's token, bound to the query ("" on the last page)."""
    after = PageTokens.decode(token, query, (int,))
    async with db.read() as conn:
        rows = await fetch(conn, None if after is None else after[0], size + 1)
    return next_page(rows, size, query, lambda row: [row.id])


Filtered = Callable[[AsyncConnection, Terms, int | None, int], Awaitable[list[T]]]


async def filtered(db: Database, terms: Terms, token: str, size: int, fetch: Filtered[T]) -> tuple[Sequence[T], str]:
    """One page of a List whose store query takes the List's filter: fetch(conn, terms, after id or None, limit);
    the page token is bound to the terms."""
    return await paged(
        db, f"{sorted(terms.items())}", token, size, lambda conn, after, limit: fetch(conn, terms, after, limit)
    )
