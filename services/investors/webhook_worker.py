"""The webhook delivery worker, a loop of the investors runtime: claims due deliveries with a lease, POSTs each
signed, and marks it DELIVERED, PENDING again after a back-off, or FAILED once its retry window is over.

Claims are safe on several replicas: on PostgreSQL the due rows are locked with SKIP LOCKED and marked SENDING
with a claim token and a lease in one short transaction; SQLite serializes its writers. The POSTs run outside
any transaction, at most `webhook_concurrency` at once; each mark checks the claim token. A worker that dies
mid-send leaves its rows SENDING until the lease lapses, then another sends them again with the same
X-Hub-Delivery, which is what lets a receiver drop the copy. A commit that wrote events (and so, perhaps,
deliveries) wakes the loop at once; a short sweep catches the rest (retries coming due, other replicas' work)."""

from __future__ import annotations

import asyncio
import contextlib
import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import structlog

from hubcore import signing
from hubcore.convert import as_utc
from hubcore.db import Database, now, uuid7
from hubcore.settings import Settings
from services.investors import store
from services.investors.domain import webhooks as hooks

log = structlog.get_logger()
USER_AGENT = "hub-investors-webhooks/1"
Clock = Callable[[], datetime]


@dataclass(frozen=True)
class Job:
    delivery: hooks.Delivery
    subscription: hooks.Subscription
    claim: str


class WebhookWorker:
    def __init__(
        self, db: Database, settings: Settings, *, clock: Clock = now, rand: Callable[[], float] = random.random
    ):
        self.db = db
        self.settings = settings
        self.clock = clock  # tests move it past the retry window
        self.rand = rand
        self.window = timedelta(hours=settings.webhook_retry_hours)
        self._wake = asyncio.Event()
        self._sending: set[asyncio.Task[None]] = set()
        db.on_commit(self.wake)

    def wake(self) -> None:
        self._wake.set()

    def now(self) -> datetime:
        return as_utc(self.clock()).astimezone(UTC)

    async def run(self) -> None:
        s = self.settings
        try:
            while True:
                self._wake.clear()
                free = s.webhook_concurrency - len(self._sending)
                try:
                    jobs = await self.claim(free) if free > 0 else []
                except Exception as exc:  # the database away for a moment: the next sweep tries again
                    log.warning("webhook claim failed; retrying", error=repr(exc))
                    jobs = []
                for job in jobs:
                    task = asyncio.create_task(self.send_and_mark(job))
                    self._sending.add(task)
                    task.add_done_callback(self._done)
                if not jobs or len(jobs) < free:
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(self._wake.wait(), s.webhook_poll_seconds)
        finally:
            await self._finish()

    def _done(self, task: asyncio.Task[None]) -> None:
        self._sending.discard(task)
        self._wake.set()  # a slot is free

    async def _finish(self) -> None:
        """On stop: the POSTs under way finish and are marked, within their timeout (else their leases lapse)."""
        deadline = time.monotonic() + self.settings.webhook_timeout_seconds + 2
        while self._sending and time.monotonic() < deadline:
            with contextlib.suppress(asyncio.CancelledError):
                await asyncio.wait(set(self._sending), timeout=deadline - time.monotonic())

    async def claim(self, limit: int) -> list[Job]:
        moment, token = self.now(), uuid7()
        async with self.db.begin() as conn:
            due = await store.due(conn, moment, limit, lock=not self.db.is_sqlite)
            if due:
                lease = moment + timedelta(seconds=self.settings.webhook_lease_seconds)
                await store.claim(conn, [d.id for d, _ in due], token, now(), lease)
        return [Job(d, s, token) for d, s in due]

    def request(self, job: Job) -> tuple[bytes, dict[str, str]]:
        """The body (the same bytes every time) and the headers of one attempt, signed now."""
        body = job.delivery.body.encode()
        timestamp = str(int(time.time()))  # the receiver's clock checks it: real time, whatever self.clock says
        secrets = job.subscription.secrets_at(self.now())
        return body, {
            "Content-Type": "application/json; charset=utf-8",
            "User-Agent": USER_AGENT,
            signing.DELIVERY_HEADER: job.delivery.delivery_id,
            signing.TIMESTAMP_HEADER: timestamp,
            signing.SIGNATURE_HEADER: signing.signatures(secrets, timestamp, body),
            "X-Hub-Event": job.delivery.event_type,
        }

    async def send_and_mark(self, job: Job) -> None:
        body, headers = self.request(job)
        try:
            status = await asyncio.to_thread(
                signing.post, job.subscription.url, body, headers, self.settings.webhook_timeout_seconds
            )
            error = "" if hooks.succeeded(status) else f"HTTP {status}"
        except (OSError, ValueError) as exc:  # refused, reset, timed out, TLS, a URL urllib cannot open
            status, error = 0, f"POST failed: {exc!r}"[:2000]
        try:
            await self.mark(job, status, error)
        except Exception as exc:  # the lease lapses and the delivery is sent again, with the same id
            log.warning("could not record a webhook attempt", delivery=job.delivery.delivery_id, error=repr(exc))

    async def mark(self, job: Job, status: int, error: str) -> None:
        moment, stamp = self.now(), now()
        values: dict[str, object] = {"last_status": status, "last_error": error, "updated_at": stamp}
        if not error:
            values |= {"state": hooks.DELIVERED, "delivered_at": stamp, "next_attempt_at": None}
        elif hooks.gone(status):
            values |= {"state": hooks.FAILED, "next_attempt_at": None}
        else:
            s = self.settings
            elapsed = (moment - job.delivery.retry_from).total_seconds()
            delay = hooks.backoff(elapsed, s.webhook_retry_base_seconds, s.webhook_retry_cap_seconds, self.rand)
            state, next_at = hooks.after_failure(job.delivery, moment, delay, self.window)
            values |= {"state": state, "next_attempt_at": next_at}
        async with self.db.begin() as conn:
            if not await store.mark(conn, job.delivery.id, job.claim, values):
                log.warning("webhook delivery was taken over", delivery=job.delivery.delivery_id)


async def figures(db: Database) -> dict[str, dict[tuple[str, ...], float]]:
    """The metrics probe: deliveries by state, and how long the oldest one not yet delivered has waited."""
    async with db.read() as conn:
        counts = await store.delivery_counts(conn)
        oldest = await store.oldest_waiting(conn)
    waited = (now() - as_utc(oldest)).total_seconds() if oldest else 0.0
    return {
        "hub_webhook_deliveries": {(state,): float(counts.get(state, 0)) for state in hooks.DELIVERY_STATES},
        "hub_webhook_oldest_waiting_seconds": {(): waited},
    }


GAUGES = {
    "hub_webhook_deliveries": ("Webhook deliveries by state", ["state"]),
    "hub_webhook_oldest_waiting_seconds": ("Age of the oldest webhook delivery not yet delivered", []),
}
