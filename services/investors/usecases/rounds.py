"""Use cases of funding rounds (recorded by a program manager, reported by a partner) and the dashboard's
figures."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

from google.protobuf.message import Message
from hub.events.v1 import investors_pb2 as ev

from hubcore import errors
from hubcore.db import Database, UnitOfWork
from hubcore.requests import Terms, check_etag
from hubcore.resources import found
from hubcore.rows import filtered
from services.investors import convert, domain, store
from services.investors.domain import webhooks as hooks
from services.investors.usecases import SUBJECT, webhooks


async def record_round(uow: UnitOfWork, new: domain.Round, reported_by: int | None = None) -> domain.Round:
    """Records a round of a company the directory knows, with firms that exist; emits round.opened or
    round.closed (a round recorded after it closed). Webhooks hear it as round.reported: its firms' own, and
    the reporting firm's (reported_by)."""
    if await store.get_directory_company(uow.conn, new.company_id) is None:
        raise errors.NotFound("Company", new.company)
    known = await store.firms_by_id(uow.conn, new.firm_ids)
    if missing := sorted(new.firm_ids - set(known)):
        raise errors.NotFound("Firm", f"firms/{missing[0]}")
    saved = await store.insert_round(uow.conn, new)
    closed = saved.status == domain.CLOSED
    event = (ev.RoundClosed if closed else ev.RoundOpened)(round=convert.round_snapshot(saved))
    event_id = await uow.emit(f"{SUBJECT}.round.{'closed' if closed else 'opened'}", saved.name, saved.version, event)
    told = saved.firm_ids | ({reported_by} if reported_by else set())
    await webhooks.heard(uow, hooks.ROUND_REPORTED, event_id, event, company_id=saved.company_id, firm_ids=told)
    return saved


async def report_round(uow: UnitOfWork, firm_id: int, new: domain.Round) -> domain.Round:
    """A partner's report: only of a company its firm was introduced to or invested in."""
    if not await store.firm_knows_company(uow.conn, firm_id, new.company_id):
        # The same answer whether or not the company exists: nothing leaks.
        raise errors.PermissionDenied(
            f"your firm was not introduced to {new.company} and took part in none of its rounds"
        )
    return await record_round(uow, new, reported_by=firm_id)


async def get_round(db: Database, round_id: int, name: str) -> domain.Round:
    async with db.read() as conn:
        return found(await store.get_round(conn, round_id), "Round", name)


async def list_rounds(db: Database, terms: Terms, *, size: int, token: str) -> tuple[Sequence[domain.Round], str]:
    return await filtered(db, terms, token, size, store.list_rounds)


async def _load_round(uow: UnitOfWork, round_id: int, name: str, etag: str) -> domain.Round:
    current = found(await store.get_round(uow.conn, round_id), "Round", name)
    check_etag(etag, current.etag)
    return current


async def close_round(uow: UnitOfWork, round_id: int, name: str, etag: str, on: date) -> domain.Round:
    current = await _load_round(uow, round_id, name, etag)
    closed = await store.save_round(uow.conn, current.close(on), expected_version=current.version)
    event = ev.RoundClosed(round=convert.round_snapshot(closed))
    event_id = await uow.emit(f"{SUBJECT}.round.closed", closed.name, closed.version, event)
    await _tell_webhooks(uow, hooks.ROUND_CLOSED, event_id, event, closed)
    return closed


async def cancel_round(uow: UnitOfWork, round_id: int, name: str, etag: str, reason: str) -> domain.Round:
    current = await _load_round(uow, round_id, name, etag)
    cancelled = await store.save_round(uow.conn, current.cancel(), expected_version=current.version)
    event = ev.RoundCancelled(round=convert.round_snapshot(cancelled), reason=reason.strip())
    event_id = await uow.emit(f"{SUBJECT}.round.cancelled", cancelled.name, cancelled.version, event)
    await _tell_webhooks(uow, hooks.ROUND_CANCELLED, event_id, event, cancelled)
    return cancelled


async def _tell_webhooks(uow: UnitOfWork, kind: str, event_id: str, event: Message, saved: domain.Round) -> None:
    await webhooks.heard(uow, kind, event_id, event, company_id=saved.company_id, firm_ids=saved.firm_ids)


async def investor_stats(db: Database, year: int) -> domain.InvestorStats:
    """The figures of a calendar year: rounds closed in it; introductions and firms as they stand."""
    async with db.read() as conn:
        by_state = await store.introductions_by_state(conn)
        rounds, raised = await store.closed_in(conn, date(year, 1, 1), date(year + 1, 1, 1))
        firms = await store.count_firms(conn)
    return domain.InvestorStats(
        year=year, introductions_by_state=tuple(by_state), rounds_closed=rounds, funding_raised=raised, firms=firms
    )
