"""The partner API's door: its authenticator (API keys, stored hashed; a rotated-out secret, an expired or
revoked key are UNAUTHENTICATED), each key's scopes checked against what the method declares
(policy.PARTNER_SCOPES), its rate limit shared by every replica (KeyLimits, decision 0021), the audit log of
every call that reached the API, and the counts of calls refused before it (no valid key, over a rate limit).
The listener, TLS and the per-peer limit of failed authentications are hubcore's; what a partner may see and
do, partner_servicer.py and the use cases."""

from __future__ import annotations

import asyncio
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping
from contextvars import ContextVar
from datetime import UTC, datetime, timedelta
from typing import Any

import grpc
from hub.investors.v1 import partner_dealflow_pb2 as dpb
from hub.investors.v1 import partner_pb2 as ppb

from hubcore import errors
from hubcore.db import Database, now
from hubcore.server import PARTNER, Caller, CallRecord, Quota, peer_address
from services.investors import domain, store
from services.investors.usecases import firms, keys, sharing
from services.investors.usecases.introductions import Shared

# What the call's answer showed of companies: set by the servicer, read (once) by the audit hook, which runs in
# the call's context after the servicer, and writes the access log with the call's audit row.
SHOWN: ContextVar[tuple[domain.Shown, ...]] = ContextVar("partner_shown", default=())
# The call's key and its use of the rate limit, as the door found them (GetMyApiKey answers with them).
KEY: ContextVar[domain.ApiKey] = ContextVar("partner_key")
QUOTA: ContextVar[tuple[Quota, datetime]] = ContextVar("partner_quota")  # and when its window ends
Clock = Callable[[], datetime]


def current_key() -> tuple[domain.ApiKey, tuple[Quota, datetime] | None]:
    """The call's key, and its use of the rate limit with the window's end (None: not counted)."""
    return KEY.get(), QUOTA.get(None)


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


def partner_key_id(who: Caller) -> int | None:
    return int(who.id.rsplit("/", 1)[1]) if who.role == PARTNER else None


class KeyLimits:
    """Each key's calls per window (`limit` a `window`), counted in the database every replica shares: one
    atomic upsert per call, so three replicas give a key its limit once, not three times (decision 0021)."""

    def __init__(self, db: Database, limit: int, window_seconds: float, clock: Clock = now) -> None:
        self.db, self.limit, self.window, self.clock = db, limit, window_seconds, clock

    def current_window(self) -> tuple[datetime, float]:
        """The window this moment falls in (windows are aligned to the epoch) and the seconds until it ends."""
        moment = self.clock().timestamp()
        start = moment - moment % self.window
        return datetime.fromtimestamp(start, UTC), start + self.window - moment

    async def take(self, who: Caller) -> Quota | None:
        key = partner_key_id(who)
        if key is None:
            return None
        window, reset = self.current_window()
        async with self.db.begin() as conn:
            used = await store.count_key_call(conn, key, window, self.limit)
        quota = Quota(self.limit, self.limit if used is None else used, self.window, reset, admitted=used is not None)
        QUOTA.set((quota, window + timedelta(seconds=self.window)))
        return quota


def scopes_by_path(service: Any, declared: Mapping[str, domain.Scope]) -> dict[str, domain.Scope]:
    """Full method paths -> the scope each needs. A method without one stops the server from starting."""
    missing = [m.name for m in service.methods if m.name not in declared]
    if missing:
        raise RuntimeError(f"{service.full_name}: {', '.join(missing)} declare no scope (policy.PARTNER_SCOPES)")
    return {f"/{service.full_name}/{m.name}": declared[m.name] for m in service.methods}


class PartnerAccess:
    """The partner listener's authenticator (API keys, stored hashed), its check of the keys' scopes, and its
    audit hook."""

    def __init__(self, db: Database, scopes: Mapping[str, domain.Scope], clock: Clock = now) -> None:
        self.db = db
        self.scopes = scopes  # full method path -> the scope it needs
        self.clock = clock
        self._partner_of: dict[str, int] = {}  # key name -> partner id (a key never changes hands)
        self.refused = RefusedCalls(db)

    async def authenticate(self, token: str) -> Caller | None:
        # A token that cannot be a key is refused before the database (and counts against its peer's limit).
        if not token.startswith(domain.KEY_PREFIX) or len(token) != domain.KEY_LENGTH:
            return None
        found = await keys.key_by_secret(self.db, token)
        if found is None:
            return None
        key, previous = found
        refusal = key.refusal(self.clock(), previous=previous)
        if refusal:
            raise errors.Unauthenticated(refusal)
        KEY.set(key)
        self._partner_of[key.name] = key.partner_id
        return Caller(role=PARTNER, id=key.name, scope=f"firms/{key.firm_id}")

    def authorize(self, who: Caller, method: str) -> None:
        """PERMISSION_DENIED naming the scope the method needs, if the key lacks it."""
        key = KEY.get(None)
        if who.role != PARTNER or key is None or key.name != who.id:
            return  # not a partner key: the method's roles have refused it already
        missing = key.missing(self.scopes.get(method, domain.Scope("?", domain.WRITE)))
        if missing:
            raise errors.PermissionDenied(missing)

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
