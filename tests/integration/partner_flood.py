"""Calls the partner API with keys that are not valid, as a flood would: `python -m tests.integration.partner_flood
ADDRESS CALLS IN_FLIGHT` prints the codes it got as JSON. Run as its own process by test_partner_limits.py, so
that the flood's client work does not share the measuring client's event loop."""

from __future__ import annotations

import asyncio
import collections
import json
import secrets
import sys

import grpc
from hub.investors.v1 import partner_pb2 as ppb
from hub.investors.v1 import partner_pb2_grpc


def bad_token(n: int) -> tuple[tuple[str, str], ...]:
    """A made-up key of the right shape, a malformed one, or none at all."""
    kind = n % 3
    if kind == 0:
        return (("authorization", "Bearer hubpk_" + secrets.token_urlsafe(32)),)
    if kind == 1:
        return (("authorization", "Bearer not-a-key"),)
    return ()


async def flood(address: str, calls: int, in_flight: int) -> dict[str, int]:
    codes: collections.Counter[str] = collections.Counter()
    queue = iter(range(calls))
    async with grpc.aio.insecure_channel(address) as channel:
        stub = partner_pb2_grpc.PartnerServiceStub(channel)

        async def worker() -> None:
            for n in queue:
                try:
                    await stub.ListIntroductions(ppb.PartnerServiceListIntroductionsRequest(), metadata=bad_token(n))
                    codes["OK"] += 1
                except grpc.aio.AioRpcError as exc:
                    codes[exc.code().name] += 1

        await asyncio.gather(*(worker() for _ in range(in_flight)))
    return dict(codes)


if __name__ == "__main__":
    address, calls, in_flight = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    print(json.dumps(asyncio.run(flood(address, calls, in_flight))))
