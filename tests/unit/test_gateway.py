"""The HTTP/JSON gateway's pure parts: every gRPC code has its HTTP status, errors keep their google.rpc details
in the Connect error JSON, a JSON parse error names its field, and the OpenAPI document made from the partner
API's descriptor is valid OpenAPI 3.1 and holds every RPC with its messages."""

from __future__ import annotations

import base64

import grpc
from google.rpc import error_details_pb2
from hub.investors.v1 import partner_pb2 as ppb
from openapi_spec_validator import validate

from hubcore import errors, gateway, openapi

PARTNER = ppb.DESCRIPTOR.services_by_name["PartnerService"]


def test_every_code_has_an_http_status() -> None:
    assert set(gateway.HTTP_STATUS) == set(grpc.StatusCode)
    assert gateway.HTTP_STATUS[grpc.StatusCode.UNAUTHENTICATED] == 401
    assert gateway.HTTP_STATUS[grpc.StatusCode.RESOURCE_EXHAUSTED] == 429
    assert gateway.code_name(grpc.StatusCode.NOT_FOUND) == "not_found"
    assert gateway.code_name(grpc.StatusCode.CANCELLED) == "canceled"  # the Connect spelling


def test_an_error_keeps_its_details_encoded_and_readable() -> None:
    body = gateway.error_body(errors.invalid("reason", "at most 500 characters").to_status())
    assert body["code"] == "invalid_argument" and body["message"] == "invalid request: reason: at most 500 characters"
    info, bad = body["details"]
    assert info["type"] == "google.rpc.ErrorInfo" and info["debug"]["reason"] == "INVALID_ARGUMENT"
    assert bad["debug"] == {"fieldViolations": [{"field": "reason", "description": "at most 500 characters"}]}
    value = bad["value"] + "=" * (-len(bad["value"]) % 4)  # unpadded, as Connect writes it
    decoded = error_details_pb2.BadRequest.FromString(base64.b64decode(value))
    assert decoded.field_violations[0].field == "reason"


def test_a_parse_error_names_its_field() -> None:
    cases = {
        "Failed to parse pageSize field: invalid literal for int() with base 10: 'x'.": "pageSize",
        'Message type "X" has no field named "pageSiz" at "X".\n Available Fields': "pageSiz",
        "Failed to load JSON: Expecting value: line 1 column 1 (char 0).": "body",
    }
    for message, field in cases.items():
        assert gateway.parse_error(message)[0] == field, message


def test_metadata_becomes_headers_without_grpc_own_or_binary_entries() -> None:
    metadata = [("retry-after", "2"), ("grpc-status-details-bin", b"x"), ("grpc-message", "m"), ("x-limit", "900")]
    assert gateway.headers_of(metadata) == {"retry-after": "2", "x-limit": "900"}


def test_the_openapi_document_is_valid_and_holds_every_rpc() -> None:
    document = openapi.document([PARTNER])
    validate(document)  # raises on anything OpenAPI 3.1 refuses
    assert set(document["paths"]) == {f"/{PARTNER.full_name}/{method.name}" for method in PARTNER.methods}
    schemas = document["components"]["schemas"]
    for method in PARTNER.methods:
        post = document["paths"][f"/{PARTNER.full_name}/{method.name}"]["post"]
        assert post["requestBody"]["content"]["application/json"]["schema"] == {
            "$ref": f"#/components/schemas/{method.input_type.full_name}"
        }
        assert method.output_type.full_name in schemas
    intro = schemas["hub.investors.v1.SharedIntroduction"]
    assert intro["properties"]["state"]["enum"][1] == "INTRODUCTION_STATE_REQUESTED"
    assert intro["properties"]["company"] == {
        "$ref": "#/components/schemas/hub.investors.v1.SharedCompany",
        "readOnly": True,
    }
    assert schemas["hub.investors.v1.PartnerServiceGetIntroductionRequest"]["required"] == ["name"]
    assert "google.type.Money" in schemas  # ReportRound's amount, reached through Round
    assert schemas["google.type.Money"]["properties"]["units"] == {"type": "string", "format": "int64"}
