"""The services as the console calls them: one gRPC channel per service, every call with the signed-in person's
token and a deadline. A refused call becomes a Refusal that says in words what went wrong (the page shows it;
nothing of the call's internals reaches the browser)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import grpc
from google.rpc import error_details_pb2
from grpc_status import rpc_status
from hub.companies.v1 import companies_pb2_grpc, program_pb2_grpc
from hub.consulting.v1 import consulting_pb2_grpc
from hub.investors.v1 import investors_pb2_grpc
from hub.notifications.v1 import notifications_pb2_grpc
from hub.ops.v1 import identities_pb2_grpc, ops_pb2_grpc
from hub.playbooks.v1 import playbooks_pb2_grpc

from hubcore.calls import FORWARDED_FOR

# Each stub the pages use: its attribute name -> (service, stub class).
STUBS: dict[str, tuple[str, Any]] = {
    "companies": ("companies", companies_pb2_grpc.CompanyServiceStub),
    "program": ("companies", program_pb2_grpc.ProgramServiceStub),
    "identities": ("companies", identities_pb2_grpc.IdentityServiceStub),
    "investors": ("investors", investors_pb2_grpc.InvestorServiceStub),
    "consulting": ("consulting", consulting_pb2_grpc.ConsultingServiceStub),
    "notifications": ("notifications", notifications_pb2_grpc.NotificationServiceStub),
    "playbooks": ("playbooks", playbooks_pb2_grpc.PlaybookServiceStub),
}


@dataclass
class Refusal(Exception):
    """A call the service refused: its status, its message, and the fields or conditions it named."""

    code: grpc.StatusCode
    message: str
    fields: list[tuple[str, str]] = field(default_factory=list)  # (field, what is wrong with it)
    kinds: list[str] = field(default_factory=list)  # precondition types: BOOKING_CONFLICT, …

    @classmethod
    def of(cls, error: grpc.aio.AioRpcError) -> Refusal:
        refusal = cls(error.code(), error.details() or "")
        status = rpc_status.from_call(error)
        for detail in status.details if status else ():
            if detail.Is(error_details_pb2.BadRequest.DESCRIPTOR):
                bad = error_details_pb2.BadRequest()
                detail.Unpack(bad)
                refusal.fields += [(v.field, v.description) for v in bad.field_violations]
            elif detail.Is(error_details_pb2.PreconditionFailure.DESCRIPTOR):
                failure = error_details_pb2.PreconditionFailure()
                detail.Unpack(failure)
                refusal.kinds += [v.type for v in failure.violations]
        return refusal


class Hub:
    """The channels to the services, shared by every request."""

    def __init__(self, addresses: dict[str, str], timeout: float, service_token: str = "") -> None:
        self.timeout = timeout
        self.service_token = service_token
        self.channels = {name: grpc.aio.insecure_channel(address) for name, address in addresses.items()}

    def signed(self, token: str) -> Signed:
        return Signed(self, token)

    def for_browser(self, address: str) -> Signed:
        """The open calls (asking for a code, signing in) made for a browser: with the console's service token
        and the browser's address, so the service limits each person, not the console as one caller. Without a
        service token they go as the console itself."""
        if not self.service_token:
            return Signed(self, "")
        return Signed(self, self.service_token, ((FORWARDED_FOR, address),))

    async def close(self) -> None:
        for channel in self.channels.values():
            await channel.close()


class Signed:
    """The services as one person calls them: `await hub.companies.GetCompany(request)` carries their token."""

    def __init__(self, hub: Hub, token: str, extra: tuple[tuple[str, str], ...] = ()) -> None:
        self._hub = hub
        self._metadata = ((("authorization", f"Bearer {token}"),) if token else ()) + extra

    def __getattr__(self, name: str) -> _Service:
        service, stub = STUBS[name]
        return _Service(stub(self._hub.channels[service]), self._metadata, self._hub.timeout)

    def ops(self, service: str) -> _Service:
        stub = ops_pb2_grpc.OperationsServiceStub(self._hub.channels[service])
        return _Service(stub, self._metadata, self._hub.timeout)


class _Service:
    def __init__(self, stub: Any, metadata: tuple[tuple[str, str], ...], timeout: float) -> None:
        self._stub, self._metadata, self._timeout = stub, metadata, timeout

    def __getattr__(self, method: str) -> Any:
        call = getattr(self._stub, method)

        async def invoke(request: Any) -> Any:
            try:
                return await call(request, metadata=self._metadata, timeout=self._timeout)
            except grpc.aio.AioRpcError as error:
                raise Refusal.of(error) from None

        return invoke
