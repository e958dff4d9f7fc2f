"""The scheduler loop: turns due follow-ups into deliveries, and sends due deliveries, on any number of
replicas without sending anything twice.

1. Dispatch: in one transaction, take due PENDING follow-ups (row locks with SKIP LOCKED on PostgreSQL;
   SQLite serializes writers with BEGIN IMMEDIATE), resolve their audience to recipients and channels,
   insert one delivery each (unique per follow-up, recipient and channel), mark them DISPATCHED.
2. Claim: in one short transaction, take due deliveries the same way, apply preferences (unsubscribed,
   quiet hours, no address, too late), and mark the rest SENDING with a lease and a claim token.
3. Send outside any transaction, then mark each SENT, or PENDING again after a back-off with jitter, or
   FAILED after the last attempt; the mark checks the claim token, and emits DeliverySent/DeliveryFailed.

A worker that dies after claiming leaves rows SENDING; once their lease runs out another worker takes
them. The one window left is a crash after the SMTP server or webhook accepted a message and before the
mark commits (milliseconds): the copy that follows carries the same Message-ID / X-Hub-Delivery, so the
receiver can recognise it. A graceful stop lets sends in flight finish and be marked first.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import random
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import sqlalchemy as sa
import structlog
from hub.events.v1 import notifications_pb2 as ev
from sqlalchemy.exc import DBAPIError

from hubcore import errors
from hubcore.convert import as_utc, timestamp
from hubcore.db import Database, UnitOfWork, now, uuid7
from services.notifications import channels, domain, messages, rules, store
from services.notifications.config import Config

log = structlog.get_logger()
SUBJECT = "hub.notifications"
ACTOR = "service:notifications"
Clock = Callable[[], datetime]


@dataclass
class Job:
    delivery: Any
    recipient: Any
    follow_up: Any
    claim: str
    attempt: int
    address: str


def muted_rules(recipient: Any) -> set[str]:
    return set(json.loads(recipient.muted_rules or "[]"))


def channels_of(recipient: Any) -> tuple[str, ...]:
    return domain.effective_channels((recipient.channels or "").split(","))


class Scheduler:
    def __init__(
        self,
        db: Database,
        cfg: Config,
        *,
        clock: Clock = now,
        rand: Callable[[], float] = random.random,
    ) -> None:
        self.db = db
        self.cfg = cfg
        self.clock = clock
        self.rand = rand
        self.after_claim: Callable[[list[Job]], None] | None = None  # tests: die between claim and send

    def now(self) -> datetime:
        return as_utc(self.clock()).astimezone(UTC)

    async def run(self) -> None:
        async with self.db.write(actor=ACTOR) as uow:
            await store.sync_program_managers(uow.conn, self.cfg.manager_emails, self.cfg.manager_webhook_url)
        while True:
            try:
                busy = await self.tick()
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                log.warning("scheduler pass failed; retrying", error=repr(exc))
                busy = 0
            if not busy:
                await asyncio.sleep(self.cfg.poll_seconds)

    async def tick(self) -> int:
        """One pass: dispatch what is due, then send what is due. Returns how much it did."""
        return await self.dispatch_due() + await self.send_due()

    # 1. Follow-ups -> deliveries

    def _due(self, query: Any) -> Any:
        return query if self.db.is_sqlite else query.with_for_update(skip_locked=True)

    async def dispatch_due(self) -> int:
        moment = self.now()
        f = store.follow_ups.c
        query = (
            sa.select(store.follow_ups)
            .where(f.state == domain.PENDING, f.due_at <= moment)
            .order_by(f.due_at, f.id)
            .limit(self.cfg.batch_size)
        )
        async with self.db.write(actor=ACTOR) as uow:
            rows = (await uow.conn.execute(self._due(query))).all()
            for row in rows:
                await self._dispatch(uow.conn, row, moment)
        return len(rows)

    async def _dispatch(self, conn: Any, row: Any, moment: datetime) -> None:
        stamp = now()
        if row.expires_at is not None and moment > as_utc(row.expires_at):
            await conn.execute(
                store.follow_ups.update()
                .where(store.follow_ups.c.id == row.id)
                .values(state=domain.EXPIRED, note="came due after it expired (the worker was down?)", updated_at=stamp)
            )
            return
        targets, missing = await self._resolve(conn, json.loads(row.audience))
        count = 0
        essential = row.rule in rules.ESSENTIAL
        for recipient in targets:
            muted = row.rule in muted_rules(recipient) and not essential
            for channel in (domain.EMAIL,) if essential else channels_of(recipient):
                address = recipient.email if channel == domain.EMAIL else recipient.webhook_url
                reason = (
                    f"unsubscribed from {row.rule}" if muted
                    else "" if address
                    else "no email address" if channel == domain.EMAIL
                    else "no webhook URL"
                )  # fmt: skip
                await conn.execute(
                    store.insert_ignoring_conflict(conn, store.deliveries, ["follow_up_id", "recipient_id", "channel"])
                    .values(
                        follow_up_id=row.id, recipient_id=recipient.id, rule=row.rule, entity=row.entity,
                        company=row.company, channel=channel, address=address,
                        state=domain.SKIPPED if reason else domain.PENDING, last_error=reason,
                        next_attempt_at=None if reason else moment, created_at=stamp, updated_at=stamp,
                    )
                )  # fmt: skip
                count += 1
        note = "" if count else "no recipients"
        if missing:
            note = (note + "; " if note else "") + f"unknown: {', '.join(missing)}"
        await conn.execute(
            store.follow_ups.update()
            .where(store.follow_ups.c.id == row.id)
            .values(state=domain.DISPATCHED, dispatched_at=stamp, note=note[:500], updated_at=stamp)
        )

    async def _resolve(self, conn: Any, audience: list[str]) -> tuple[list[Any], list[str]]:
        r = store.recipients.c
        found: dict[int, Any] = {}
        missing = []
        for target in audience:
            if target == domain.MANAGERS:
                query = sa.select(store.recipients).where(r.kind == domain.PROGRAM_MANAGER, r.active.is_(True))
            elif target.startswith("company:"):
                query = sa.select(store.recipients).where(
                    r.company == target.removeprefix("company:"), r.active.is_(True)
                )
            elif target.startswith("recipient:"):
                query = sa.select(store.recipients).where(r.source == target.removeprefix("recipient:"))
            else:
                missing.append(target)
                continue
            rows = (await conn.execute(query.order_by(r.id))).all()
            if not rows and target.startswith("recipient:"):
                missing.append(target.removeprefix("recipient:"))
            for row in rows:
                found.setdefault(row.id, row)
        return list(found.values()), missing

    # 2. Claim, 3. send and mark

    async def send_due(self) -> int:
        # The claim and its sends are one unit that a stop lets finish and mark, however the loop is
        # cancelled: a cancelled await would leave a message sent and its row SENDING (to be sent again),
        # and a claim whose commit landed just as the loop was cancelled would leave its rows SENDING and
        # unsent until their lease ran out.
        in_flight = asyncio.ensure_future(self._claim_and_send())
        try:
            return await asyncio.shield(in_flight)
        except asyncio.CancelledError:
            await self._finish(in_flight)
            raise

    async def _claim_and_send(self) -> int:
        jobs = await self.claim_due()
        if jobs:
            if self.after_claim:
                self.after_claim(jobs)
            await self._send_all(jobs)
        return len(jobs)

    async def _finish(self, in_flight: asyncio.Future[Any]) -> None:
        """On stop: let the sends under way finish and be marked, however often the runtime cancels us
        meanwhile (it cancels again every second until its tasks end), within the SMTP timeout."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.cfg.smtp_timeout + 5
        while not in_flight.done() and loop.time() < deadline:
            with contextlib.suppress(asyncio.CancelledError):
                await asyncio.wait({in_flight}, timeout=deadline - loop.time())
        if not in_flight.done():
            in_flight.cancel()
            log.error("sends still under way at stop were abandoned; their leases will expire")
        elif not in_flight.cancelled() and in_flight.exception() is not None:
            log.warning("a send under way at stop failed", error=repr(in_flight.exception()))

    async def claim_due(self) -> list[Job]:
        moment = self.now()
        d = store.deliveries.c
        query = (
            sa.select(store.deliveries)
            .where(
                sa.or_(
                    sa.and_(d.state == domain.PENDING, d.next_attempt_at <= moment),
                    sa.and_(d.state == domain.SENDING, d.lease_until < moment),
                )
            )
            .order_by(d.next_attempt_at, d.id)
            .limit(self.cfg.batch_size)
        )
        jobs = []
        async with self.db.write(actor=ACTOR) as uow:
            conn = uow.conn
            rows = (await conn.execute(self._due(query))).all()
            if not rows:
                return []
            people = {
                r.id: r
                for r in await conn.execute(
                    sa.select(store.recipients).where(store.recipients.c.id.in_({row.recipient_id for row in rows}))
                )
            }
            plans = {
                f.id: f
                for f in await conn.execute(
                    sa.select(store.follow_ups).where(store.follow_ups.c.id.in_({row.follow_up_id for row in rows}))
                )
            }
            for row in rows:
                job = await self._claim(conn, row, people[row.recipient_id], plans[row.follow_up_id], moment)
                if job:
                    jobs.append(job)
        return jobs

    async def _claim(self, conn: Any, row: Any, recipient: Any, follow_up: Any, moment: datetime) -> Job | None:
        stamp = now()
        update = store.deliveries.update().where(store.deliveries.c.id == row.id)
        expires = as_utc(follow_up.expires_at) if follow_up.expires_at else None
        address = recipient.email if row.channel == domain.EMAIL else recipient.webhook_url
        skip = ""
        if not recipient.active:
            skip = "the recipient was deleted"
        elif follow_up.rule in muted_rules(recipient) and follow_up.rule not in rules.ESSENTIAL:
            skip = f"unsubscribed from {follow_up.rule}"
        elif not address:
            skip = "no email address" if row.channel == domain.EMAIL else "no webhook URL"
        elif expires and moment > expires:
            skip = "too late: it expired before it could be sent"
        elif row.channel == domain.EMAIL and follow_up.rule not in rules.ESSENTIAL:
            until = domain.quiet_until(moment, *self._quiet(recipient))
            if until is not None:
                if expires and until > expires:
                    skip = "quiet hours last until after it stops being useful"
                else:
                    await conn.execute(update.values(next_attempt_at=store.utc(until), updated_at=stamp))
                    return None
        if skip:
            await conn.execute(
                update.values(state=domain.SKIPPED, last_error=skip, next_attempt_at=None, updated_at=stamp)
            )
            return None
        claim = uuid7()
        attempt = row.attempts + 1
        await conn.execute(
            update.values(
                state=domain.SENDING, claim=claim, attempts=attempt, address=address,
                lease_until=moment + timedelta(seconds=self.cfg.lease_seconds), updated_at=stamp,
            )
        )  # fmt: skip
        return Job(row, recipient, follow_up, claim, attempt, address)

    def _quiet(self, recipient: Any) -> tuple[Any, int, int]:
        tz = domain.zone(recipient.time_zone, self.cfg.time_zone)
        start = self.cfg.quiet_start if recipient.quiet_start is None else recipient.quiet_start
        end = self.cfg.quiet_end if recipient.quiet_end is None else recipient.quiet_end
        return tz, start, end

    async def _send_all(self, jobs: list[Job]) -> None:
        limit = asyncio.Semaphore(self.cfg.concurrency)

        async def one(job: Job) -> None:
            async with limit:
                await self._send_and_mark(job)

        # Each job marks itself; one that could not be marked must not stop the others from being marked.
        results = await asyncio.gather(*(one(job) for job in jobs), return_exceptions=True)
        failed = [r for r in results if isinstance(r, BaseException)]
        if failed:
            raise failed[0]

    def render(self, job: Job) -> messages.Message:
        recipient, follow_up = job.recipient, job.follow_up
        language = recipient.language or self.cfg.language
        tz = domain.zone(recipient.time_zone, self.cfg.time_zone)
        name = domain.pick_name(recipient.korean_name, recipient.english_name, language)
        return messages.render(follow_up.rule, language, tz, json.loads(follow_up.context), name)

    async def _send_and_mark(self, job: Job) -> None:
        subject = ""
        try:
            message = self.render(job)
            subject = message.subject
            await self._send(job, message)
        except channels.DeliveryError as exc:
            await self._mark(job, subject, error=str(exc), permanent=exc.permanent)
        except Exception as exc:  # a template or a bug: no retry will fix it
            log.exception("delivery failed unexpectedly", delivery=job.delivery.id)
            await self._mark(job, subject, error=f"internal: {exc!r}", permanent=True)
        else:
            await self._mark(job, subject)

    async def _send(self, job: Job, message: messages.Message) -> None:
        delivery = f"deliveries/{job.delivery.id}"
        if job.delivery.channel == domain.EMAIL:
            mail = channels.email_message(
                self.cfg, to=job.address, to_name=domain.pick_name(
                    job.recipient.korean_name, job.recipient.english_name, job.recipient.language or self.cfg.language
                ),
                message=message, message_id=self.message_id(job), rule=job.follow_up.rule,
            )  # fmt: skip
            await channels.send_email(self.cfg, mail)
            return
        payload = {
            "text": message.text,
            "subject": message.subject,
            "body": message.body,
            "rule": job.follow_up.rule,
            "entity": job.follow_up.entity,
            "company": job.follow_up.company,
            "delivery": delivery,
            "follow_up": f"followUps/{job.follow_up.id}",
            "recipient": f"recipients/{job.recipient.id}",
        }
        await channels.send_webhook(self.cfg, job.address, payload, delivery=delivery)

    def message_id(self, job: Job) -> str:
        """The same for every attempt of a delivery, so a receiver can recognise a copy."""
        domain_part = self.cfg.mail_from.rsplit("@", 1)[-1].strip(" >") or "hub.local"
        digest = hashlib.sha256(job.follow_up.key.encode()).hexdigest()[:12]
        return f"<delivery-{job.delivery.id}.{digest}@{domain_part}>"

    async def _mark(self, job: Job, subject: str, *, error: str = "", permanent: bool = False) -> None:
        stamp = now()
        d = store.deliveries.c
        if not error:
            values: dict[str, Any] = {"state": domain.SENT, "sent_at": stamp, "last_error": "", "next_attempt_at": None}
        elif permanent or job.attempt - job.delivery.retries_from >= self.cfg.max_attempts:
            values = {"state": domain.FAILED, "last_error": error[:2000], "next_attempt_at": None}
        else:
            failures = job.attempt - job.delivery.retries_from
            delay = domain.retry_delay(failures, self.cfg.retry_base, self.cfg.retry_cap, self.rand)
            values = {
                "state": domain.PENDING,
                "last_error": error[:2000],
                "next_attempt_at": self.now() + timedelta(seconds=delay),
            }
        values |= {"subject": subject[:300], "lease_until": None, "updated_at": stamp}
        # The mark must land: a sent message left SENDING would be sent again when its lease runs out. A
        # busy or briefly unreachable database is waited for, well within the lease.
        deadline = asyncio.get_running_loop().time() + self.cfg.lease_seconds / 2
        delay = 0.1
        while True:
            try:
                async with self.db.write(actor=ACTOR) as uow:
                    result = await uow.conn.execute(
                        store.deliveries.update().where(d.id == job.delivery.id, d.claim == job.claim).values(values)
                    )
                    if result.rowcount != 1:
                        log.warning("delivery was taken over by another worker", delivery=job.delivery.id)
                        return
                    if values["state"] in (domain.SENT, domain.FAILED):
                        await self._emit(uow, job, values)
                break
            except (errors.Unavailable, DBAPIError) as exc:
                if asyncio.get_running_loop().time() + delay > deadline:
                    log.error("could not record a delivery", delivery=job.delivery.id, error=repr(exc))
                    raise
                await asyncio.sleep(delay)
                delay = min(delay * 2, 2.0)
        if error:
            log.info("delivery attempt failed", delivery=job.delivery.id, attempt=job.attempt, error=error,
                     state=values["state"])  # fmt: skip

    async def _emit(self, uow: UnitOfWork, job: Job, values: dict[str, Any]) -> None:
        snapshot = ev.DeliverySnapshot(
            name=f"deliveries/{job.delivery.id}",
            follow_up=f"followUps/{job.follow_up.id}",
            rule=job.follow_up.rule,
            entity=job.follow_up.entity,
            company=job.follow_up.company,
            recipient=f"recipients/{job.recipient.id}",
            channel=job.delivery.channel,
            state=values["state"],
            attempts=job.attempt,
            last_error=values["last_error"],
            send_time=timestamp(values.get("sent_at")),
        )
        name = snapshot.name
        if values["state"] == domain.SENT:
            await uow.emit(f"{SUBJECT}.delivery.sent", name, job.attempt, ev.DeliverySent(delivery=snapshot))
        else:
            await uow.emit(f"{SUBJECT}.delivery.failed", name, job.attempt, ev.DeliveryFailed(delivery=snapshot))
