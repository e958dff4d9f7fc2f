"""OperationsService, served by every service: dead letters (list, replay) and the outbox backlog."""

from __future__ import annotations

from typing import Any

import grpc
import sqlalchemy as sa
from hub.events.v1 import envelope_pb2
from hub.ops.v1 import ops_pb2, ops_pb2_grpc

from hubcore import errors
from hubcore.convert import timestamp
from hubcore.db import Database, dead_letters, now, outbox
from hubcore.events import EventConsumer
from hubcore.requests import PageTokens, page_size, parse_name


class OperationsApi(ops_pb2_grpc.OperationsServiceServicer):
    def __init__(self, db: Database, consumers: list[EventConsumer]) -> None:
        self.db = db
        self.consumers = consumers  # filled once the backbone runs

    async def ListDeadLetters(
        self, request: ops_pb2.ListDeadLettersRequest, context: grpc.aio.ServicerContext
    ) -> ops_pb2.ListDeadLettersResponse:
        size = page_size(request.page_size)
        query_key = f"dead_letters:{request.show_resolved}"
        after = PageTokens.decode(request.page_token, query_key, (int,))
        query = sa.select(dead_letters).order_by(dead_letters.c.id).limit(size + 1)
        if not request.show_resolved:
            query = query.where(dead_letters.c.resolved_at.is_(None))
        if after:
            query = query.where(dead_letters.c.id > after[0])
        async with self.db.read() as conn:
            rows = (await conn.execute(query)).all()
        response = ops_pb2.ListDeadLettersResponse(dead_letters=[_dead_letter(r) for r in rows[:size]])
        if len(rows) > size:
            response.next_page_token = PageTokens.encode(query_key, [rows[size - 1].id])
        return response

    async def ReplayDeadLetter(
        self, request: ops_pb2.ReplayDeadLetterRequest, context: grpc.aio.ServicerContext
    ) -> ops_pb2.DeadLetter:
        number = parse_name(request.name, "deadLetters")
        async with self.db.read() as conn:
            row = (await conn.execute(sa.select(dead_letters).where(dead_letters.c.id == number))).first()
        if row is None:
            raise errors.NotFound("DeadLetter", request.name)
        if row.resolved_at is not None:
            raise errors.FailedPrecondition(
                "this dead letter was already replayed", type_="STATE", subject=request.name
            )
        consumer = next((c for c in self.consumers if c.spec.durable == row.consumer), None)
        if consumer is None:
            raise errors.FailedPrecondition(
                f"consumer {row.consumer} is not running here", type_="CONSUMER", subject=row.consumer
            )
        try:
            envelope = envelope_pb2.Envelope.FromString(row.data)
            await consumer.apply(envelope)
        except Exception as exc:
            raise errors.FailedPrecondition(
                f"the event still fails: {exc!r}", type_="HANDLER", subject=request.name
            ) from exc
        async with self.db.begin() as conn:
            await conn.execute(dead_letters.update().where(dead_letters.c.id == number).values(resolved_at=now()))
            row = (await conn.execute(sa.select(dead_letters).where(dead_letters.c.id == number))).one()
        return _dead_letter(row)

    async def GetOutboxStatus(
        self, request: ops_pb2.GetOutboxStatusRequest, context: grpc.aio.ServicerContext
    ) -> ops_pb2.OutboxStatus:
        unpublished = outbox.c.published_at.is_(None)
        async with self.db.read() as conn:
            pending, oldest = (
                await conn.execute(sa.select(sa.func.count(), sa.func.min(outbox.c.created_at)).where(unpublished))
            ).one()
            done = (await conn.execute(sa.select(sa.func.count()).where(~unpublished))).scalar_one()
        return ops_pb2.OutboxStatus(unpublished=pending, oldest_unpublished_time=timestamp(oldest), published=done)


def _dead_letter(row: Any) -> ops_pb2.DeadLetter:
    return ops_pb2.DeadLetter(
        name=f"deadLetters/{row.id}",
        consumer=row.consumer,
        event_id=row.event_id,
        event_type=row.event_type,
        error=row.error,
        deliveries=row.deliveries,
        create_time=timestamp(row.created_at),
        resolve_time=timestamp(row.resolved_at),
    )
