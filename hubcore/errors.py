"""Errors a caller can act on, carried as google.rpc.Status with details (AIP-193).

Plain exceptions: domain code and use cases raise them without knowing of gRPC; the server interceptor
(hubcore.server) turns them into the call's status in one place. Anything else is INTERNAL, which is always
our bug, never the caller's mistake.
"""

from __future__ import annotations

import math
from collections.abc import Iterable

from google.protobuf import any_pb2, duration_pb2
from google.rpc import code_pb2, error_details_pb2, status_pb2

DOMAIN = "hub.kaist.ac.kr"


class HubError(Exception):
    code: int = code_pb2.UNKNOWN  # google.rpc.Code
    reason: str = ""  # ErrorInfo.reason; a class that names none has its code's name (NOT_FOUND)
    metadata: tuple[tuple[str, str], ...] = ()  # trailing metadata besides the status (retry-after)

    def __init__(self, message: str, *, details: Iterable[object] = ()) -> None:
        super().__init__(message)
        self.message = message
        self.details = list(details)

    def to_status(self) -> status_pb2.Status:
        info = error_details_pb2.ErrorInfo(reason=self.reason or code_pb2.Code.Name(self.code), domain=DOMAIN)
        packed = []
        for detail in [info, *self.details]:
            any_msg = any_pb2.Any()
            any_msg.Pack(detail)
            packed.append(any_msg)
        return status_pb2.Status(code=self.code, message=self.message, details=packed)


class InvalidArgument(HubError):
    code = code_pb2.INVALID_ARGUMENT

    def __init__(self, violations: list[tuple[str, str]]) -> None:
        self.violations = violations
        request = error_details_pb2.BadRequest(
            field_violations=[
                error_details_pb2.BadRequest.FieldViolation(field=f, description=d) for f, d in violations
            ]
        )
        summary = "; ".join(f"{f}: {d}" for f, d in violations)
        super().__init__(f"invalid request: {summary}", details=[request])


def invalid(field: str, description: str) -> InvalidArgument:
    return InvalidArgument([(field, description)])


class NotFound(HubError):
    code = code_pb2.NOT_FOUND

    def __init__(self, resource_type: str, name: str) -> None:
        info = error_details_pb2.ResourceInfo(resource_type=resource_type, resource_name=name)
        super().__init__(f"{name} not found", details=[info])


class AlreadyExists(HubError):
    code = code_pb2.ALREADY_EXISTS

    def __init__(self, resource_type: str, name: str, message: str = "") -> None:
        info = error_details_pb2.ResourceInfo(resource_type=resource_type, resource_name=name)
        super().__init__(message or f"{name} already exists", details=[info])


class FailedPrecondition(HubError):
    code = code_pb2.FAILED_PRECONDITION

    def __init__(self, message: str, *, type_: str, subject: str) -> None:
        failure = error_details_pb2.PreconditionFailure(
            violations=[
                error_details_pb2.PreconditionFailure.Violation(type=type_, subject=subject, description=message)
            ]
        )
        super().__init__(message, details=[failure])


class Aborted(HubError):
    code = code_pb2.ABORTED
    reason = "ETAG_MISMATCH"


class StaleWrite(Aborted):
    """Another transaction changed the resource between our read and our write (optimistic concurrency): the
    caller reads it again and retries."""

    def __init__(self, name: str) -> None:
        super().__init__(f"{name} changed meanwhile; read it again and retry")
        self.name = name


class Unauthenticated(HubError):
    code = code_pb2.UNAUTHENTICATED


class PermissionDenied(HubError):
    code = code_pb2.PERMISSION_DENIED


class ResourceExhausted(HubError):
    """Too many calls: RetryInfo and a retry-after trailer (whole seconds) say when to try again."""

    code = code_pb2.RESOURCE_EXHAUSTED
    reason = "RATE_LIMITED"

    def __init__(self, message: str, *, retry_after: float) -> None:
        delay = duration_pb2.Duration()
        delay.FromNanoseconds(int(retry_after * 1e9))
        super().__init__(message, details=[error_details_pb2.RetryInfo(retry_delay=delay)])
        self.metadata = (("retry-after", str(max(1, math.ceil(retry_after)))),)


class Unavailable(HubError):
    code = code_pb2.UNAVAILABLE


class Internal(HubError):
    code = code_pb2.INTERNAL


def refuse_if(*checks: tuple[bool, str, str]) -> None:
    """Field checks declared as data, (failed, field, description) each: INVALID_ARGUMENT naming every failed one."""
    problems = [(field, description) for failed, field, description in checks if failed]
    if problems:
        raise InvalidArgument(problems)
