"""HTTP/JSON beside gRPC for a listener (the partner API): every unary method of its services is a route of the
Connect protocol's unary JSON form (`POST /<package.Service>/<Method>`, the request as a JSON body in the proto
JSON mapping, the response likewise), generated from the service descriptors, so a method added to the proto is
served over HTTP without a line here. Each HTTP call is forwarded to the listener's own gRPC server over a private
unix socket: the same interceptor decides (authentication, roles, input rules, rate limits, audit) as for a gRPC
caller. The response's metadata (retry-after, rate-limit fields) comes back as HTTP headers; an error is the
Connect error JSON (the code's name, the message, and each google.rpc detail both encoded and as JSON) with the
HTTP status of its code. The contract is served too: GET /openapi.json (hubcore.openapi), from the same
descriptors. docs/decisions/0019-http-json-beside-grpc.md says why this shape."""

from __future__ import annotations

import base64
import contextlib
import re
import shutil
import socket
import tempfile
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import grpc
import uvicorn
from google.protobuf import descriptor_pool, json_format, message_factory
from google.protobuf.descriptor import MethodDescriptor, ServiceDescriptor
from google.rpc import status_pb2
from grpc_status import rpc_status
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from hubcore import errors, openapi
from hubcore.calls import FORWARDED_PEER, GATEWAY_SECRET, TRACE_HEADERS
from hubcore.settings import Settings

# The HTTP status of each code, as google/rpc/code.proto and the Connect protocol map them.
HTTP_STATUS = {
    grpc.StatusCode.OK: 200,
    grpc.StatusCode.CANCELLED: 499,
    grpc.StatusCode.UNKNOWN: 500,
    grpc.StatusCode.INVALID_ARGUMENT: 400,
    grpc.StatusCode.DEADLINE_EXCEEDED: 504,
    grpc.StatusCode.NOT_FOUND: 404,
    grpc.StatusCode.ALREADY_EXISTS: 409,
    grpc.StatusCode.PERMISSION_DENIED: 403,
    grpc.StatusCode.RESOURCE_EXHAUSTED: 429,
    grpc.StatusCode.FAILED_PRECONDITION: 400,
    grpc.StatusCode.ABORTED: 409,
    grpc.StatusCode.OUT_OF_RANGE: 400,
    grpc.StatusCode.UNIMPLEMENTED: 501,
    grpc.StatusCode.INTERNAL: 500,
    grpc.StatusCode.UNAVAILABLE: 503,
    grpc.StatusCode.DATA_LOSS: 500,
    grpc.StatusCode.UNAUTHENTICATED: 401,
}
CODES = {code.value[0]: code for code in grpc.StatusCode}
# What an HTTP caller's headers carry into the call's metadata; nothing else passes (the gateway's own headers
# cannot be forged by a caller).
FORWARDED_HEADERS = ("authorization", "x-request-id", *TRACE_HEADERS)
JSON, PROTO = "application/json", "application/proto"


def code_name(code: grpc.StatusCode) -> str:
    """The Connect spelling of a gRPC code: NOT_FOUND -> not_found (CANCELLED is `canceled` there)."""
    return "canceled" if code == grpc.StatusCode.CANCELLED else code.name.lower()


def error_body(status: status_pb2.Status) -> dict[str, Any]:
    """A google.rpc.Status as the Connect error JSON: each detail as its type, its bytes (base64, unpadded) and,
    for people reading it with curl, its JSON (`debug`)."""
    code = CODES.get(status.code, grpc.StatusCode.UNKNOWN)
    details = []
    for packed in status.details:
        type_name = packed.type_url.rsplit("/", 1)[-1]
        detail: dict[str, Any] = {"type": type_name, "value": base64.b64encode(packed.value).decode().rstrip("=")}
        with contextlib.suppress(KeyError, TypeError):
            kind = descriptor_pool.Default().FindMessageTypeByName(type_name)
            message = message_factory.GetMessageClass(kind).FromString(packed.value)
            detail["debug"] = json_format.MessageToDict(message)
        details.append(detail)
    body: dict[str, Any] = {"code": code_name(code), "message": status.message}
    if details:
        body["details"] = details
    return body


def error_response(status: status_pb2.Status, headers: dict[str, str] | None = None) -> JSONResponse:
    code = CODES.get(status.code, grpc.StatusCode.UNKNOWN)
    return JSONResponse(error_body(status), status_code=HTTP_STATUS[code], headers=headers)


def refusal(exc: errors.HubError, http_status: int | None = None) -> JSONResponse:
    """A call the gateway refuses itself, before any gRPC (a body that is not JSON, nor the request message)."""
    response = error_response(exc.to_status())
    if http_status:
        response.status_code = http_status
    return response


def parse_error(message: str) -> tuple[str, str]:
    """The field a json_format.ParseError names (in the caller's spelling; `body` when it names none) and what
    is wrong with it."""
    first = message.split("\n")[0]
    if found := re.search(r'has no field named "([^"]+)"', first):
        return found.group(1), "is not a field of this request"
    if found := re.match(r"Failed to parse (\S+) field: (.*)", first):
        return found.group(1), found.group(2)
    return "body", first


def peer_of(request: Request) -> str:
    """The HTTP client's address in gRPC's peer form, which the door limits and records by."""
    host, port = request.client or ("unknown", 0)
    return f"ipv6:[{host}]:{port}" if ":" in host else f"ipv4:{host}:{port}"


def headers_of(metadata: Iterable[Any] | None) -> dict[str, str]:
    """Response metadata as HTTP headers: text entries only, not gRPC's own (grpc-*) nor binary ones (-bin)."""
    return {
        str(key): str(value)
        for key, value in metadata or ()
        if isinstance(value, str) and not key.startswith("grpc-") and not key.endswith("-bin") and key != "content-type"
    }


class Gateway:
    """The HTTP/JSON routes of `services`, forwarded to the gRPC server at `target` (its private unix socket)
    with `secret`, which lets the door believe the HTTP client's address the gateway passes on."""

    def __init__(
        self, services: list[ServiceDescriptor], target: str, secret: str, *, max_bytes: int, grace: float = 10.0
    ) -> None:
        self.services = services
        self.target = target
        self.secret = secret
        self.max_bytes = max_bytes
        self.grace = grace
        self.folder: SocketDir | None = None
        self.channel: grpc.aio.Channel | None = None
        self.server: uvicorn.Server | None = None
        self.port = 0
        self.document = openapi.document(services)
        routes = [Route("/openapi.json", self.contract, methods=["GET"])]
        for service in services:
            for method in service.methods:
                if not method.client_streaming and not method.server_streaming:
                    routes.append(Route(f"/{service.full_name}/{method.name}", self.endpoint(method), methods=["POST"]))
        routes.append(Route("/{path:path}", self.unknown, methods=["GET", "POST", "PUT", "PATCH", "DELETE"]))
        self.app = Starlette(routes=routes)

    @classmethod
    def of(
        cls, server: grpc.aio.Server, name: str, services: list[ServiceDescriptor], secret: str, settings: Settings
    ) -> Gateway:
        """The gateway of a listener's gRPC server (not started yet), which it reaches over a private unix socket."""
        folder = SocketDir(name)
        if not server.add_insecure_port(folder.socket):
            raise RuntimeError(f"cannot listen on {folder.socket}")
        found = cls(services, folder.socket, secret, max_bytes=settings.max_message_bytes, grace=settings.grace_period)
        found.folder = folder
        return found

    async def contract(self, request: Request) -> Response:
        return JSONResponse(self.document)

    async def unknown(self, request: Request) -> Response:
        """404 for a path that names no method; 405 for a method's path asked with another verb than POST."""
        path = request.url.path
        known = request.method != "POST" and any(
            path == f"/{s.full_name}/{m.name}" for s in self.services for m in s.methods
        )
        message = f"{path} takes POST with a JSON body" if known else f"no method {path}"
        response = error_response(status_pb2.Status(code=grpc.StatusCode.UNIMPLEMENTED.value[0], message=message))
        response.status_code = 405 if known else 404
        return response

    def endpoint(self, method: MethodDescriptor) -> Any:
        path = f"/{method.containing_service.full_name}/{method.name}"
        request_type = message_factory.GetMessageClass(method.input_type)
        response_type = message_factory.GetMessageClass(method.output_type)

        async def handle(request: Request) -> Response:
            media = request.headers.get("content-type", JSON).split(";")[0].strip().lower()
            if media not in (JSON, PROTO):
                return refusal(errors.invalid("content-type", f"must be {JSON} (or {PROTO}), not {media}"), 415)
            body = await self._body(request)
            if body is None:
                return refusal(errors.invalid("body", f"is over {self.max_bytes} bytes"), 413)
            if media == PROTO:  # Connect clients' default: the bytes go to the door as they came
                return await self._forward(path, request, body, None)
            try:
                message = json_format.Parse(body or b"{}", request_type())
            except json_format.ParseError as exc:
                field, problem = parse_error(str(exc))
                return refusal(errors.invalid(field, problem))
            return await self._forward(path, request, message.SerializeToString(), response_type)

        return handle

    async def _body(self, request: Request) -> bytes | None:
        """The request body, or None past the size limit (read no further than that)."""
        chunks, size = [], 0
        async for chunk in request.stream():
            size += len(chunk)
            if size > self.max_bytes:
                return None
            chunks.append(chunk)
        return b"".join(chunks)

    async def _forward(self, path: str, request: Request, payload: bytes, response_type: Any) -> Response:
        assert self.channel is not None
        metadata = [(name, request.headers[name]) for name in FORWARDED_HEADERS if name in request.headers]
        metadata += [(GATEWAY_SECRET, self.secret), (FORWARDED_PEER, peer_of(request))]
        timeout_ms = request.headers.get("connect-timeout-ms", "")
        timeout = int(timeout_ms) / 1000 if timeout_ms.isdigit() else None
        call = self.channel.unary_unary(path)(payload, metadata=metadata, timeout=timeout)
        try:
            answer = await call
        except grpc.aio.AioRpcError as exc:
            headers = headers_of(exc.initial_metadata()) | headers_of(exc.trailing_metadata())
            status = rpc_status.from_call(exc) or status_pb2.Status(code=exc.code().value[0], message=exc.details())
            return error_response(status, headers)
        headers = headers_of(await call.initial_metadata()) | headers_of(await call.trailing_metadata())
        if response_type is None:
            return Response(answer, media_type=PROTO, headers=headers)
        return JSONResponse(json_format.MessageToDict(response_type.FromString(answer)), headers=headers)

    async def start(self, host: str, port: int, *, tls_cert: str = "", tls_key: str = "") -> int:
        """Serves on host:port (TLS with the listener's certificate when it has one); returns the bound port."""
        self.channel = grpc.aio.insecure_channel(
            self.target,
            options=[
                ("grpc.max_receive_message_length", self.max_bytes),
                ("grpc.max_send_message_length", self.max_bytes),
            ],
        )
        config = uvicorn.Config(
            self.app, host=host, port=port, lifespan="off", log_level="warning", server_header=False,
            access_log=False, timeout_graceful_shutdown=max(1, round(self.grace)),
            ssl_certfile=tls_cert or None, ssl_keyfile=tls_key or None,
        )  # fmt: skip
        config.load()
        # startup() and shutdown() rather than serve(): serve() takes over the process's signals, which belong
        # to the service's own graceful stop.
        self.server = uvicorn.Server(config)
        self.server.lifespan = config.lifespan_class(config)
        listening = reusable_socket(host, port)
        try:
            await self.server.startup(sockets=[listening])
        except SystemExit:  # uvicorn's answer to a socket it cannot serve (it has logged why)
            listening.close()
            raise RuntimeError(f"cannot listen on {host}:{port}") from None
        self.port = listening.getsockname()[1]
        return self.port

    async def stop(self) -> None:
        if self.server is not None and self.server.started:
            await self.server.shutdown()
        if self.channel is not None:
            await self.channel.close()
        if self.folder is not None:
            self.folder.remove()


def reusable_socket(host: str, port: int) -> socket.socket:
    """A listening socket with SO_REUSEPORT, as gRPC binds its own ports: replicas on one host share the port
    and the kernel spreads connections among them (a second replica must not fail to start on it)."""
    listening = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_STREAM)
    try:
        listening.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listening.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        listening.bind((host, port))
    except OSError as exc:
        listening.close()
        raise RuntimeError(f"cannot listen on {host}:{port}: {exc.strerror}") from None
    listening.listen(2048)
    listening.setblocking(False)
    return listening


class SocketDir:
    """A private folder (0700) for the unix socket between a gateway and its gRPC server: nobody but this
    process's user can connect, and the socket never faces the network."""

    def __init__(self, name: str) -> None:
        self.path = Path(tempfile.mkdtemp(prefix=f"hub-{name}-"))
        self.socket = f"unix:{self.path / 'grpc.sock'}"

    def remove(self) -> None:
        shutil.rmtree(self.path, ignore_errors=True)
