"""Pages that change without a reload: the console listens to the hub's events (a plain NATS subscription
to hub.>; the services publish every committed event there) and tells each open page, over server-sent
events, which companies just changed. The page's script (static/live.js) then fetches the page again and
swaps its content, unless someone is typing in one of its forms. Nothing of an event's content is sent: only
its type and the companies it concerns, and a founder only hears of their own company."""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncGenerator
from typing import Any

import structlog
from google.protobuf.message import Message
from hub.events.v1 import envelope_pb2
from nats.aio.client import Client as NATS
from nats.aio.msg import Msg
from starlette.requests import Request
from starlette.responses import Response, StreamingResponse

from hubcore import events
from services.console.web import Page

log = structlog.get_logger()
HEARTBEAT_SECONDS = 15.0  # a comment line keeps proxies from closing a quiet stream
QUEUE_SIZE = 100  # a page that falls this far behind only needs to know that something changed


def companies_of(envelope: envelope_pb2.Envelope) -> list[str]:
    """The companies an event concerns: its subject, and any `company` (or a company's `name`) in its payload,
    two levels deep (a snapshot inside the event)."""
    found = {envelope.subject_id} if envelope.subject_id.startswith("companies/") else set()
    try:
        payload: Any = events.unpack(envelope)
    except Exception:  # a type this console's code does not know yet
        return sorted(found)
    for message in [payload, *(v for _, v in payload.ListFields() if isinstance(v, Message))]:
        for field, value in message.ListFields():
            if field.name in ("company", "name") and isinstance(value, str) and value.startswith("companies/"):
                found.add(value)
    return sorted(found)


class Live:
    """One subscription for the process, fanned out to every open page's queue."""

    def __init__(self, nats_url: str) -> None:
        self.nats_url = nats_url
        self.listeners: set[asyncio.Queue[dict[str, Any]]] = set()
        self.nc: NATS | None = None
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="live")

    async def _run(self) -> None:
        self.nc = await events.connect(self.nats_url, name="console")  # retries until NATS answers
        await self.nc.subscribe("hub.>", cb=self._heard)

    async def _heard(self, msg: Msg) -> None:
        envelope = envelope_pb2.Envelope()
        try:
            envelope.ParseFromString(msg.data)
        except Exception:
            return
        change = {"type": envelope.type, "companies": companies_of(envelope)}
        for queue in list(self.listeners):
            with contextlib.suppress(asyncio.QueueFull):
                queue.put_nowait(change)

    async def stop(self) -> None:
        if self._task:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._task
        if self.nc and not self.nc.is_closed:
            with contextlib.suppress(Exception):
                await self.nc.close()

    async def stream(self, allowed: str | None) -> AsyncGenerator[str, None]:
        """Server-sent events for one page: the changes it may hear of (allowed: None for every company, or
        the one company a founder acts for)."""
        queue: asyncio.Queue[dict[str, Any]] = asyncio.Queue(QUEUE_SIZE)
        self.listeners.add(queue)
        try:
            yield "retry: 3000\n\n"
            while True:
                try:
                    change = await asyncio.wait_for(queue.get(), HEARTBEAT_SECONDS)
                except TimeoutError:
                    yield ": still here\n\n"
                    continue
                if allowed is not None:
                    if allowed not in change["companies"]:
                        continue
                    change = {"type": change["type"], "companies": [allowed]}
                yield f"event: change\ndata: {json.dumps(change)}\n\n"
        finally:
            self.listeners.discard(queue)


async def changes(request: Request) -> Response:
    """GET /events: the stream a page's script listens to. Program managers hear of every company, a founder
    of their own; anyone else (or no one signed in) of nothing."""
    page = Page(request)
    account = page.account
    if account is None or account.role not in ("admin", "founder"):
        return Response(status_code=204)  # EventSource stops asking on 204
    allowed = None if account.role == "admin" else account.scope
    live: Live = page.app.live
    return StreamingResponse(live.stream(allowed), media_type="text/event-stream",
                             headers={"cache-control": "no-store", "x-accel-buffering": "no"})  # fmt: skip
