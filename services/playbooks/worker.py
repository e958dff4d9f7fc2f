"""The action worker: carries out each firing's actions in order, from their durable records (pending ->
done or failed, with the outcome), through the services' own APIs with a service token, each call with the
action's deterministic request_id. What an action chooses before calling (the slot, the firms) is written
first, so a worker killed between two calls resumes with the same requests, and the services' idempotency
keeps every effect single. Notices are events (the outbox), written with the action's DONE."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from typing import Any

import grpc
import structlog
from hub.consulting.v1 import consulting_pb2 as cpb
from hub.consulting.v1 import consulting_pb2_grpc
from hub.events.v1 import playbooks_pb2 as ev
from hub.investors.v1 import investors_pb2 as ipb
from hub.investors.v1 import investors_pb2_grpc

from hubcore.convert import SEOUL, instant, interval_message
from hubcore.db import Database, now
from services.playbooks import domain, store
from services.playbooks.config import Config
from services.playbooks.domain import Action, FiringAction

log = structlog.get_logger()
Clock = Callable[[], datetime]
# A call the caller's side got wrong (the rule names a session type that is gone): retrying will not help.
FINAL = {grpc.StatusCode.INVALID_ARGUMENT, grpc.StatusCode.NOT_FOUND, grpc.StatusCode.PERMISSION_DENIED,
         grpc.StatusCode.UNAUTHENTICATED}  # fmt: skip


MAX_REPLANS = 3  # searches again after the slot found was taken before it could be booked


class Failed(Exception):
    """An action that cannot succeed: it is marked FAILED with this outcome, without retries."""


class Worker:
    def __init__(self, db: Database, cfg: Config, clock: Clock = now) -> None:
        self.db, self.cfg, self.clock = db, cfg, clock
        metadata = (("authorization", f"Bearer {cfg.service_token}"),) if cfg.service_token else ()
        self.metadata = metadata
        self._channels: dict[str, grpc.aio.Channel] = {}
        # Tests: awaited after each call to another service, before its outcome is written (to kill it there).
        self.after_call: Callable[[str], Awaitable[None]] | None = None

    def _channel(self, address: str) -> grpc.aio.Channel:
        if address not in self._channels:
            self._channels[address] = grpc.aio.insecure_channel(address)
        return self._channels[address]

    @property
    def consulting(self) -> consulting_pb2_grpc.ConsultingServiceStub:
        return consulting_pb2_grpc.ConsultingServiceStub(self._channel(self.cfg.consulting_address))

    @property
    def investors(self) -> investors_pb2_grpc.InvestorServiceStub:
        return investors_pb2_grpc.InvestorServiceStub(self._channel(self.cfg.investors_address))

    async def close(self) -> None:
        for channel in self._channels.values():
            await channel.close()
        self._channels.clear()

    async def run(self) -> None:
        try:
            while True:
                if not await self.run_due():
                    await asyncio.sleep(self.cfg.poll_seconds)
        finally:
            await self.close()

    async def run_due(self, limit: int = 16) -> int:
        """Claims the actions due and carries each out; returns how many it took up."""
        async with self.db.begin() as conn:
            claimed = await store.claim_due(conn, self.clock(), self.cfg.lease_seconds, limit)
        for action in claimed:
            await self.carry_out(action)
        return len(claimed)

    async def carry_out(self, record: FiringAction) -> None:
        async with self.db.read() as conn:
            firing = await store.firing_row(conn, record.firing_id)
        assert firing is not None
        action = store.actions_of([firing.rule["actions"][record.position]])[0]
        bound = structlog.contextvars.bound_contextvars(firing=firing.name, action=record.position)
        with bound:
            try:
                if action.kind in domain.NOTICES:
                    await self._notice(record, firing, action)
                    return
                outcome, results = await (
                    self._book(record, firing, action)
                    if action.kind == domain.BOOK_CONSULTATION
                    else self._propose(record, firing, action)
                )
                await self._finish(record, domain.DONE, outcome, results)
            except Failed as failure:
                await self._finish(record, domain.FAILED, str(failure), [])
            except grpc.aio.AioRpcError as error:
                await self._failed_call(record, error)

    async def _finish(self, record: FiringAction, state: str, outcome: str, results: list[str]) -> None:
        async with self.db.begin() as conn:
            await store.update_action(conn, record.id, state=state, outcome=outcome[:1000], results=results,
                                      attempts=record.attempts + 1, lease_until=None)  # fmt: skip
        log.info("playbook action", state=state, outcome=outcome)

    async def _failed_call(self, record: FiringAction, error: grpc.aio.AioRpcError) -> None:
        attempts = record.attempts + 1
        outcome = f"{error.code().name}: {error.details()}"
        if error.code() in FINAL or attempts >= self.cfg.max_attempts:
            await self._finish(record, domain.FAILED, outcome, [])
            return
        retry_at = self.clock() + domain.retry_delay(attempts, self.cfg.retry_base, self.cfg.retry_cap)
        async with self.db.begin() as conn:
            await store.update_action(conn, record.id, outcome=outcome[:1000], attempts=attempts,
                                      next_attempt_at=store.utc(retry_at), lease_until=None)  # fmt: skip
        log.warning("playbook action failed; will retry", outcome=outcome, attempts=attempts)

    async def _plan(self, record: FiringAction, plan: dict[str, Any]) -> None:
        """Writes what the action chose before it calls, so a restart repeats the same request."""
        async with self.db.begin() as conn:
            await store.update_action(conn, record.id, plan=plan)

    async def _called(self, what: str) -> None:
        if self.after_call is not None:
            await self.after_call(what)

    async def _book(self, record: FiringAction, firing: domain.Firing, action: Action) -> tuple[str, list[str]]:
        """The first free slot of the session type within the days given, scheduled for the company."""
        plan = dict(record.plan)
        replans = int(plan.get("replans", 0))
        if "mentor" not in plan:
            today = self.clock().astimezone(SEOUL).date()
            last = today + timedelta(days=action.within_days)
            request = cpb.FindAvailableSlotsRequest(
                mentors=list(action.mentors), expertise=action.expertise, session_type=action.session_type,
                company=firing.company, time_zone="Asia/Seoul", page_size=20,
                start_date={"year": today.year, "month": today.month, "day": today.day},
                end_date={"year": last.year, "month": last.month, "day": last.day},
            )  # fmt: skip
            found = await self.consulting.FindAvailableSlots(request, metadata=self.metadata,
                                                            timeout=self.cfg.call_timeout)  # fmt: skip
            earliest = self.clock() + timedelta(hours=1)
            slots = [s for s in found.slots if instant(s.interval.start_time) >= earliest]
            if not slots:
                raise Failed(f"no free slot of {action.session_type} within {action.within_days} days")
            slot = slots[0]
            plan = {"mentor": slot.mentor, "start": slot.interval.start_time.ToJsonString(),
                    "end": slot.interval.end_time.ToJsonString(), "replans": replans}  # fmt: skip
            await self._plan(record, plan)
            await self._called("FindAvailableSlots")
        start, end = (datetime.fromisoformat(plan[k].replace("Z", "+00:00")) for k in ("start", "end"))
        session = cpb.Session(
            company=firing.company, mentor=plan["mentor"], session_type=action.session_type,
            interval=interval_message(start, end), agenda=f"[플레이북] {firing.playbook_display_name}"[:2000],
        )  # fmt: skip
        # A new plan is a new request: its own id, derived from the firing, the action and the plan's number.
        key = domain.request_id(firing.id, record.position, f"plan-{replans}") if replans else record.request_id
        try:
            made = await self.consulting.ScheduleSession(
                cpb.ScheduleSessionRequest(session=session, request_id=key),
                metadata=self.metadata,
                timeout=self.cfg.call_timeout,
            )
        except grpc.aio.AioRpcError as error:
            # The slot was taken meanwhile (BOOKING_CONFLICT, or the mentor's week changed): the retry searches again.
            if error.code() == grpc.StatusCode.FAILED_PRECONDITION and replans < MAX_REPLANS:
                await self._plan(record, {"replans": replans + 1})
            raise
        await self._called("ScheduleSession")
        return f"{made.name} booked with {made.mentor} at {plan['start']}", [made.name]

    async def _propose(self, record: FiringAction, firing: domain.Firing, action: Action) -> tuple[str, list[str]]:
        """The top investors by MatchInvestors, each proposed as an introduction (state REQUESTED)."""
        plan = dict(record.plan)
        if not plan:
            matched = await self.investors.MatchInvestors(
                ipb.MatchInvestorsRequest(company=firing.company, max_results=action.top),
                metadata=self.metadata,
                timeout=self.cfg.call_timeout,
            )
            plan = {"firms": [m.firm for m in matched.matches[: action.top]]}
            await self._plan(record, plan)
        results, notes = [], []
        for firm in plan["firms"]:
            note = action.message or f"플레이북 '{firing.playbook_display_name}'이(가) 제안한 소개입니다."
            request = ipb.CreateIntroductionRequest(
                introduction=ipb.Introduction(company=firing.company, firm=firm, note=note[:2000]),
                request_id=domain.request_id(firing.id, record.position, firm),
            )
            try:
                made = await self.investors.CreateIntroduction(request, metadata=self.metadata,
                                                               timeout=self.cfg.call_timeout)  # fmt: skip
                results.append(made.name)
            except grpc.aio.AioRpcError as error:
                if error.code() != grpc.StatusCode.ALREADY_EXISTS:
                    raise
                notes.append(f"{firm}: {error.details()}")
            await self._called("CreateIntroduction")
        if not plan["firms"]:
            return "MatchInvestors found no firm", []
        return "; ".join([f"{len(results)} introduction(s) proposed", *notes]), results

    async def _notice(self, record: FiringAction, firing: domain.Firing, action: Action) -> None:
        """The notice event and the action's DONE, in one transaction: one message per firing and action."""
        partner = next((str(f.values.get("partner", "")) for f in firing.facts if f.values.get("partner")), "")
        notice = ev.PlaybookNotice(
            firing=firing.name, playbook=firing.playbook, display_name=firing.playbook_display_name,
            action=record.position, kind=action.kind, audience=action.told, company=firing.company,
            subject=firing.subject, partner=partner, message=action.message,
            facts={k: str(v) for f in firing.facts for k, v in f.values.items()},
        )  # fmt: skip
        async with self.db.write(actor="service:playbooks") as uow:
            current = await store.action(uow.conn, record.id)
            if current is None or current.state != domain.PENDING:
                return
            event_id = await uow.emit("hub.playbooks.notice.requested", firing.name, record.position + 1, notice)
            await store.update_action(uow.conn, record.id, state=domain.DONE, attempts=record.attempts + 1,
                                      outcome=f"{action.told} told", results=[event_id], lease_until=None)  # fmt: skip
