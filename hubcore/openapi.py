"""The OpenAPI 3.1 document of the HTTP/JSON routes (hubcore.gateway), made from the same service descriptors
the routes are: one `POST /<package.Service>/<Method>` per unary method, each message a schema in the proto
JSON mapping (lowerCamel names, enums by name, 64-bit integers as strings, Timestamp as RFC 3339). Nothing is
written by hand, so the document cannot drift from the protos; the gateway serves it at GET /openapi.json."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from google.api import field_behavior_pb2
from google.protobuf.descriptor import Descriptor, FieldDescriptor, ServiceDescriptor

F = FieldDescriptor
SCALARS: dict[int, dict[str, Any]] = {
    F.TYPE_DOUBLE: {"type": "number", "format": "double"},
    F.TYPE_FLOAT: {"type": "number", "format": "float"},
    F.TYPE_INT32: {"type": "integer", "format": "int32"},
    F.TYPE_SINT32: {"type": "integer", "format": "int32"},
    F.TYPE_SFIXED32: {"type": "integer", "format": "int32"},
    F.TYPE_UINT32: {"type": "integer", "format": "int32", "minimum": 0},
    F.TYPE_FIXED32: {"type": "integer", "format": "int32", "minimum": 0},
    # The proto JSON mapping writes 64-bit integers as strings (JavaScript numbers lose precision past 2^53).
    F.TYPE_INT64: {"type": "string", "format": "int64"},
    F.TYPE_SINT64: {"type": "string", "format": "int64"},
    F.TYPE_SFIXED64: {"type": "string", "format": "int64"},
    F.TYPE_UINT64: {"type": "string", "format": "int64"},
    F.TYPE_FIXED64: {"type": "string", "format": "int64"},
    F.TYPE_BOOL: {"type": "boolean"},
    F.TYPE_STRING: {"type": "string"},
    F.TYPE_BYTES: {"type": "string", "contentEncoding": "base64"},
}
# Well-known types have a JSON form of their own.
WELL_KNOWN: dict[str, dict[str, Any]] = {
    "google.protobuf.Timestamp": {"type": "string", "format": "date-time"},
    "google.protobuf.Duration": {"type": "string", "pattern": r"^-?[0-9]+(\.[0-9]+)?s$"},
    "google.protobuf.FieldMask": {"type": "string", "description": "comma-separated lowerCamel field paths"},
    "google.protobuf.Struct": {"type": "object"},
    "google.protobuf.Value": {},
    "google.protobuf.ListValue": {"type": "array"},
    "google.protobuf.Empty": {"type": "object"},
    "google.protobuf.Any": {"type": "object", "properties": {"@type": {"type": "string"}}, "required": ["@type"]},
    **{
        f"google.protobuf.{kind}Value": SCALARS[number]
        for kind, number in (
            ("Double", F.TYPE_DOUBLE),
            ("Float", F.TYPE_FLOAT),
            ("Int64", F.TYPE_INT64),
            ("UInt64", F.TYPE_UINT64),
            ("Int32", F.TYPE_INT32),
            ("UInt32", F.TYPE_UINT32),
            ("Bool", F.TYPE_BOOL),
            ("String", F.TYPE_STRING),
            ("Bytes", F.TYPE_BYTES),
        )
    },
}
# The Connect protocol's error body, as hubcore.gateway writes it.
ERROR = {
    "type": "object",
    "properties": {
        "code": {"type": "string", "description": "the gRPC code's name in lower case: not_found, invalid_argument"},
        "message": {"type": "string"},
        "details": {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {
                    "type": {"type": "string", "description": "google.rpc.BadRequest, google.rpc.RetryInfo, …"},
                    "value": {"type": "string", "contentEncoding": "base64", "description": "the detail, encoded"},
                    "debug": {"type": "object", "description": "the detail in the proto JSON mapping"},
                },
                "required": ["type", "value"],
            },
        },
    },
    "required": ["code"],
}
ERROR_STATUSES = {
    "400": "invalid_argument (details: google.rpc.BadRequest naming each field), failed_precondition",
    "401": "unauthenticated: no key, or one that is not valid (unknown, expired, revoked)",
    "403": "permission_denied",
    "404": "not_found: nothing of that name that your firm may see",
    "409": "aborted (a stale etag) or already_exists",
    "429": "resource_exhausted: over a rate limit; the Retry-After header says when to try again",
}


def _behaviors(field: FieldDescriptor) -> set[int]:
    return set(field.GetOptions().Extensions[field_behavior_pb2.field_behavior])


class Schemas:
    """The component schemas a set of messages needs, each message once, named by its full proto name."""

    def __init__(self) -> None:
        self.found: dict[str, dict[str, Any]] = {}

    def ref(self, message: Descriptor) -> dict[str, Any]:
        if message.full_name in WELL_KNOWN:
            return dict(WELL_KNOWN[message.full_name])
        if message.full_name not in self.found:
            self.found[message.full_name] = {}  # first, so that a recursive message ends
            self.found[message.full_name] = self._object(message)
        return {"$ref": f"#/components/schemas/{message.full_name}"}

    def _object(self, message: Descriptor) -> dict[str, Any]:
        properties, required = {}, []
        for field in message.fields:
            schema = self._field(field)
            behaviors = _behaviors(field)
            if field_behavior_pb2.OUTPUT_ONLY in behaviors:
                schema["readOnly"] = True
            if field_behavior_pb2.REQUIRED in behaviors:
                required.append(field.json_name)
            properties[field.json_name] = schema
        found: dict[str, Any] = {"type": "object", "properties": properties}
        if required:
            found["required"] = required
        return found

    def _field(self, field: FieldDescriptor) -> dict[str, Any]:
        if field.message_type is not None and field.message_type.GetOptions().map_entry:
            value = field.message_type.fields_by_name["value"]
            return {"type": "object", "additionalProperties": self._single(value)}
        single = self._single(field)
        repeated = getattr(field, "is_repeated", None)  # protobuf 7; before it, the label said
        if repeated if repeated is not None else getattr(field, "label", 0) == 3:
            return {"type": "array", "items": single}
        return single

    def _single(self, field: FieldDescriptor) -> dict[str, Any]:
        if field.type == F.TYPE_MESSAGE and field.message_type is not None:
            return self.ref(field.message_type)
        if field.type == F.TYPE_ENUM and field.enum_type is not None:
            return {"type": "string", "enum": [value.name for value in field.enum_type.values]}
        return dict(SCALARS[field.type])


def document(services: Iterable[ServiceDescriptor], *, version: str = "v1") -> dict[str, Any]:
    """The OpenAPI 3.1 document of every unary method of `services`."""
    services = list(services)
    schemas = Schemas()
    paths: dict[str, Any] = {}
    for service in services:
        for method in service.methods:
            if method.client_streaming or method.server_streaming:
                continue
            error = {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}
            errors = {status: {"description": text, "content": error} for status, text in ERROR_STATUSES.items()}
            errors["429"]["headers"] = {"Retry-After": {"schema": {"type": "integer"}, "description": "seconds"}}
            paths[f"/{service.full_name}/{method.name}"] = {
                "post": {
                    "operationId": f"{service.name}_{method.name}",
                    "tags": [service.name],
                    "requestBody": {
                        "required": True,
                        "content": {"application/json": {"schema": schemas.ref(method.input_type)}},
                    },
                    "responses": {
                        "200": {
                            "description": "OK",
                            "content": {"application/json": {"schema": schemas.ref(method.output_type)}},
                        },
                        **errors,
                    },
                }
            }
    return {
        "openapi": "3.1.0",
        "info": {
            "title": ", ".join(service.full_name for service in services),
            "version": version,
            "description": "HTTP/JSON beside gRPC (the Connect protocol's unary JSON form): POST a JSON body in the "
            "proto JSON mapping to /<package.Service>/<Method>, with `Authorization: Bearer <key>`.",
        },
        "paths": paths,
        "components": {
            "schemas": {**dict(sorted(schemas.found.items())), "Error": ERROR},
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
        },
        "security": [{"bearer": []}],
    }
