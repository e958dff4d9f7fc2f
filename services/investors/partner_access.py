"""The partner API's door: its authenticator (API keys, stored hashed), the audit log of every call that
reached the API, and the counts of calls refused before it (no valid key, over a rate limit). The listener,
TLS and the token buckets are hubcore.server's; what a partner may see and do, partner_servicer.py and the
use cases."""

from __future__ import annotations

import asyncio
from collections import defaultdict
from collections.abc import Iterable
from contextvars import ContextVar
from datetime import datetime

import grpc
from hub.investors.v1 import partner_dealflow_pb2 as dpb
from hub.investors.v1 import partner_pb2 as ppb

from hubcore import errors
from hubcore.db import Database, now
from hubcore.server import PARTNER, Caller, CallRecord, peer_address
from services.investors import domain, store
from services.investors.usecases import firms, sharing
from services.investors.usecases.introductions import Shared

# What the call's answer showed of companies: set by the servicer, read (once) by the audit hook, which runs in
# the call's context after the servicer, and writes the access log with the call's audit row.
SHOWN: ContextVar[tuple[domain.Shown, ...]] = ContextVar("partner_shown", default=())


def showed(found: Iterable[Shared]) -> None:
    """The servicer's answer shows these introductions and, of their companies, these fields."""
    showed_companies(domain.Shown(intro.id, intro.company_id, fields) for intro, _, fields in found)


def showed_companies(shown: Iterable[domain.Shown]) -> None:
    """The servicer's answer shows these companies (deal flow, KPI updates, an introduction asked for)."""
    SHOWN.set(tuple(shown))


def _resource(request: object) -> str:
    """The resource a partner call names, for the audit log."""
    if name := getattr(request, "name", ""):
        return str(name)[:100]
    if isinstance(request, ppb.ReportRoundRequest):
        return request.round.company[:100]
    if isinstance(request, dpb.RequestIntroductionRequest):
        return request.company[:100]
    return ""


class RefusedCalls:
    """Calls refused at the door, counted in memory per peer address and minute and written every few seconds
    in one transaction: a flood without a key costs no write per call, and at most one row per peer-minute.
    The counts of the last seconds before a process dies are lost; a count, not a record, can afford that."""

    def __init__(self, db: Database, flush_seconds: float = 5.0) -> None:
        self.db = db
        self.flush_seconds = flush_seconds
        self._counts: defaultdict[tuple[str, datetime], list[int]] = defaultdict(lambda: [0, 0])

    def count(self, call: CallRecord) -> None:
        minute = now().replace(second=0, microsecond=0)
        counts = self._counts[(peer_address(call.peer)[:200], minute)]
        counts[1 if call.code == grpc.StatusCode.RESOURCE_EXHAUSTED else 0] += 1

    async def flush(self) -> None:
        counts, self._counts = self._counts, defaultdict(lambda: [0, 0])
        if counts:
            async with self.db.begin() as conn:
                await store.add_partner_refusals(conn, {key: (n[0], n[1]) for key, n in counts.items()})

    async def run(self) -> None:
        while True:
            await asyncio.sleep(self.flush_seconds)
            await self.flush()


class PartnerAccess:
    """The partner listener's authenticator (API keys, stored hashed) and its audit hook."""

    def __init__(self, db: Database) -> None:
        self.db = db
        self._partner_of: dict[str, int] = {}  # key name -> partner id (a key never changes hands)
        self.refused = RefusedCalls(db)

    async def authenticate(self, token: str) -> Caller | None:
        if not token.startswith(domain.KEY_PREFIX):
            return None
        key = await firms.key_by_secret(self.db, token)
        if key is None:
            return None
        refusal = key.refusal(now())
        if refusal:
            raise errors.Unauthenticated(refusal)
        self._partner_of[key.name] = key.partner_id
        return Caller(role=PARTNER, id=key.name, scope=f"firms/{key.firm_id}")

    async def audit(self, call: CallRecord) -> None:
        """A call that reached the API is a row of the audit log, written before its answer leaves; a call
        refused at the door (no valid key, over a limit) is only counted. An answer that showed companies'
        data is in their access log too, written in the same transaction as the audit row."""
        shown = SHOWN.get()
        SHOWN.set(())
        if call.refused:
            self.refused.count(call)
            return
        who = call.caller
        key_id = firm_id = partner_id = None
        if who is not None and who.role == PARTNER:
            key_id = int(who.id.rsplit("/", 1)[1])
            firm_id = int(who.scope.rsplit("/", 1)[1])
            partner_id = self._partner_of.get(who.id)
        record = domain.PartnerCall(
            id=0,
            api_key_id=key_id,
            partner_id=partner_id,
            firm_id=firm_id,
            method=call.method[:200],
            resource=_resource(call.request),
            code=call.code.name,
            called_at=now(),
            request_id=call.request_id,
            peer=call.peer[:200],
        )
        async with self.db.write(actor=who.actor if who else "anonymous") as uow:
            saved = await firms.record_partner_call(uow, record)
            if shown and call.code == grpc.StatusCode.OK:
                await sharing.record_reads(uow, saved, shown)
