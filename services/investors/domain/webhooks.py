"""Webhooks: subscriptions of HTTPS endpoints to the hub's events (a firm's, or hub-wide), which events reach which
subscription, and each delivery's life (PENDING -> SENDING -> DELIVERED, or back to PENDING after a back-off,
or FAILED once the retry window has passed; any may be replayed). Pure Python.

Who hears what: a firm's subscription only events that concern its firm (an introduction to it that the firm may
know of, a round it leads or joins or reported, an update shared with it), never another firm's; a hub-wide one
(a program manager's) every event of its types. Filters narrow either to some companies, a hub-wide one also
to some firms."""

from __future__ import annotations

import json
import random
from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

from hubcore.errors import InvalidArgument
from hubcore.resources import Versioned
from services.investors.domain import introductions as intros

# The event types a subscription may name: what a partner's systems act on.
INTRODUCTION_PROPOSED = "introduction.proposed"
INTRODUCTION_CONSENTED = "introduction.consented"
INTRODUCTION_DECLINED = "introduction.declined"
INTRODUCTION_ANSWERED = "introduction.answered"
ROUND_REPORTED, ROUND_CLOSED, ROUND_CANCELLED = "round.reported", "round.closed", "round.cancelled"
# KPI figures a company shared with a firm that invested in it (made by the update-sharing use case).
UPDATE_SHARED = "update.shared"
TEST = "webhook.test"  # SendTestWebhook's; never subscribed to, sent to the one subscription asked
# An introduction's new state -> the event type it makes
INTRODUCTION_EVENTS = {
    intros.REQUESTED: INTRODUCTION_PROPOSED,
    intros.COMPANY_CONSENTED: INTRODUCTION_CONSENTED,
    intros.COMPANY_DECLINED: INTRODUCTION_DECLINED,
    intros.PARTNER_ACCEPTED: INTRODUCTION_ANSWERED,
    intros.PARTNER_DECLINED: INTRODUCTION_ANSWERED,
    intros.MEETING_HELD: "introduction.meeting_held",
    intros.INVESTED: "introduction.outcome_recorded",
    intros.PASSED: "introduction.outcome_recorded",
    intros.ON_HOLD: "introduction.outcome_recorded",
    intros.CANCELLED: "introduction.cancelled",
}
EVENT_TYPES = (
    *dict.fromkeys(INTRODUCTION_EVENTS.values()), ROUND_REPORTED, ROUND_CLOSED, ROUND_CANCELLED, UPDATE_SHARED,
)  # fmt: skip

ACTIVE, PAUSED = "ACTIVE", "PAUSED"
PENDING, SENDING, DELIVERED, FAILED = "PENDING", "SENDING", "DELIVERED", "FAILED"
DELIVERY_STATES = (PENDING, SENDING, DELIVERED, FAILED)
MAX_EVENT_TYPES = len(EVENT_TYPES)
MAX_FILTER_ITEMS = 100
DEFAULT_OVERLAP = timedelta(hours=24)
MAX_OVERLAP = timedelta(days=7)
LOOPBACK_HOSTS = ("127.0.0.1", "localhost", "::1")


@dataclass(frozen=True)
class WebhookEvent:
    """Something that happened, as the subscriptions hear of it: the hub's event (its id in the outbox and its
    payload, a protobuf message), the company it is about, and the firms it concerns (those whose own
    subscriptions may hear it)."""

    type: str
    event_id: str
    occurred_at: datetime
    payload: Any
    company_id: int | None = None
    firm_ids: frozenset[int] = frozenset()


@dataclass(frozen=True)
class Subscription(Versioned):
    collection = "webhookSubscriptions"

    id: int
    firm_id: int | None  # None: hub-wide (a program manager's)
    url: str
    event_types: tuple[str, ...]
    companies: tuple[int, ...] = ()
    firms: tuple[int, ...] = ()
    state: str = ACTIVE
    description: str = ""
    secret: str = ""
    previous_secret: str = ""
    previous_secret_expires_at: datetime | None = None
    actor: str = ""
    created_at: datetime | None = None
    updated_at: datetime | None = None
    version: int = 1

    def hears(self, event: WebhookEvent) -> bool:
        if self.state != ACTIVE or event.type not in self.event_types:
            return False
        if self.firm_id is not None and self.firm_id not in event.firm_ids:
            return False
        if self.companies and event.company_id not in self.companies:
            return False
        return not self.firms or bool(event.firm_ids & set(self.firms))

    def secrets_at(self, moment: datetime) -> tuple[str, ...]:
        """The secrets that sign now, the newest first: the old one too while the rotation's overlap lasts."""
        overlap = self.previous_secret and self.previous_secret_expires_at and moment < self.previous_secret_expires_at
        return (self.secret, self.previous_secret) if overlap else (self.secret,)

    def rotated(self, secret: str, overlap: timedelta, at: datetime) -> Subscription:
        if overlap < timedelta(0) or overlap > MAX_OVERLAP:
            raise InvalidArgument([("overlap", f"must be between 0s and {int(MAX_OVERLAP.total_seconds())}s")])
        return replace(
            self, secret=secret, previous_secret=self.secret, previous_secret_expires_at=at + overlap,
            version=self.version + 1,
        )  # fmt: skip


def firms_told_of(intro: intros.Introduction) -> frozenset[int]:
    """The firms whose subscriptions hear of a change to an introduction: its firm, once the company consented
    (double opt-in) or if the firm asked for it itself (a partner made it); no firm before that."""
    asked = bool(intro.history) and intro.history[0].actor.startswith("partner:")
    return frozenset({intro.firm_id}) if intro.shared_at is not None or asked else frozenset()


def endpoint_problem(url: str, *, allow_http_loopback: bool) -> str | None:
    """What is wrong with an endpoint, or None: https with a host; http only to a loopback host when allowed."""
    parts = urlsplit(url.strip())
    if parts.scheme not in ("https", "http") or not parts.hostname:
        return "must be an https:// URL with a host"
    if parts.username or parts.password:
        return "must not carry a user name or password (the signature authenticates the hub)"
    if parts.scheme == "http" and not (allow_http_loopback and parts.hostname in LOOPBACK_HOSTS):
        return "must be https:// (http:// is refused: deliveries carry signed partner data)"
    return None


def event_types(requested: Iterable[str], field: str) -> tuple[str, ...]:
    """The types as sent: at least one, each known, in the catalog's order."""
    wanted = [t.strip() for t in requested]
    unknown = [t for t in wanted if t not in EVENT_TYPES]
    if unknown:
        raise InvalidArgument([(field, f"{unknown[0]!r} is not an event type (known: {', '.join(EVENT_TYPES)})")])
    if not wanted:
        raise InvalidArgument([(field, "needs at least one event type")])
    return tuple(t for t in EVENT_TYPES if t in wanted)


# Deliveries


@dataclass(frozen=True)
class Delivery:
    id: int
    delivery_id: str  # X-Hub-Delivery: the same on every attempt and replay
    subscription_id: int
    event_type: str
    event_id: str
    occurred_at: datetime
    body: str  # the JSON sent, made once: every attempt sends the same bytes
    retry_from: datetime  # the retry window starts here: the event, or the last replay
    state: str = PENDING
    attempts: int = 0
    last_status: int = 0
    last_error: str = ""
    next_attempt_at: datetime | None = None
    delivered_at: datetime | None = None
    replays: int = 0
    claim: str = ""
    lease_until: datetime | None = None
    created_at: datetime | None = None
    updated_at: datetime | None = None

    @property
    def name(self) -> str:
        return f"webhookSubscriptions/{self.subscription_id}/deliveries/{self.delivery_id}"


def body(delivery_id: str, event: WebhookEvent, subscription: str, data: dict[str, Any]) -> str:
    """What a receiver gets: the delivery id (X-Hub-Delivery), the event type and time, the hub's event id, the
    subscription, and the event's payload as proto JSON (its "@type" says which message)."""
    document = {
        "id": delivery_id,
        "type": event.type,
        "occurred_time": event.occurred_at.isoformat().replace("+00:00", "Z"),
        "event_id": event.event_id,
        "subscription": subscription,
        "data": data,
    }
    return json.dumps(document, ensure_ascii=False, separators=(",", ":"))


def backoff(elapsed: float, base: float, cap: float, rand: Callable[[], float] = random.random) -> float:
    """Seconds before the next attempt, `elapsed` seconds into the retry window: about as long again (so the
    waits double: exponential), at least base and at most cap, the upper half random (so that many deliveries
    failing together do not come back together). From the time, not a count: a replay starts it afresh."""
    return min(cap, max(base, elapsed)) * (0.5 + rand() / 2)


def after_failure(delivery: Delivery, at: datetime, delay: float, window: timedelta) -> tuple[str, datetime | None]:
    """The state and next attempt after a failed attempt: again after the delay, or FAILED once the retry window
    (from the event or the last replay) is over; the last attempt is made at its end, never skipped."""
    end = delivery.retry_from + window
    if at >= end:
        return FAILED, None
    return PENDING, min(at + timedelta(seconds=delay), end)


def succeeded(status: int) -> bool:
    return 200 <= status < 300


def gone(status: int) -> bool:
    """Every answer but 2xx is retried (a 4xx may be a receiver deployed wrong for a while; the window bounds
    the cost), except 410 Gone: the endpoint says it is gone for good, and the delivery fails at once."""
    return status == 410
