"""hubctl privacy: export everything the hub holds about a company or a person, and erase it on request.

`export` asks every service at once (PrivacyService.ExportPersonalData) and writes one JSON document; a
service that does not answer is named in it rather than failing the export whole. For a person it first
reads their name, email and phone from the companies service, so that services which hold a person only by
what was typed (a program registration) find them too. `erase` calls the companies service, which erases
its own data and tells the others by an event."""

from __future__ import annotations

import json
import sys
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any

import grpc
import typer
from google.protobuf.json_format import MessageToDict
from hub.companies.v1 import companies_pb2 as cpb
from hub.ops.v1 import privacy_pb2, privacy_pb2_grpc

from hubctl.client import Client, Commands, explain, fail, out, print_json

privacy_app = Commands(
    help=(
        "개인정보: 기업이나 사람에 대해 가진 것 내보내기, 지우기 (personal data: export what the hub holds "
        "about a company or a person; erase it)."
    )
)


def subject(text: str) -> str:
    """people/7, companies/3 (or person/7, company/3)."""
    kind, _, number = text.strip().partition("/")
    kind = {"person": "people", "company": "companies"}.get(kind, kind)
    if kind not in ("people", "companies") or not number.isdigit():
        fail(f"name a company or a person: companies/3 or people/7, not {text!r}", 3)
    return f"{kind}/{int(number)}"


def known_values(hub: Client, name: str) -> list[str]:
    """What the companies service knows of the subject, to find it by value elsewhere (empty once erased)."""
    try:
        if name.startswith("people/"):
            p = hub.send(hub.companies.GetPerson, cpb.GetPersonRequest(name=name))
            values = [p.korean_name, p.english_name, p.email, p.phone]
            erased = p.HasField("erase_time")
        else:
            c = hub.send(hub.companies.GetCompany, cpb.GetCompanyRequest(name=name))
            values = [c.korean_name, c.english_name, c.website]
            erased = c.HasField("erase_time")
    except grpc.RpcError:
        return []  # the export still asks every service; the companies part says what went wrong
    return [] if erased else [v for v in values if v]


def gather(hub: Client, name: str) -> dict[str, Any]:
    request = privacy_pb2.ExportPersonalDataRequest(name=name, match_values=known_values(hub, name))

    def ask(service: str) -> privacy_pb2.PersonalDataExport:
        stub = privacy_pb2_grpc.PrivacyServiceStub(hub.channel(service))
        return hub.send(stub.ExportPersonalData, request)

    services: dict[str, Any] = {}
    missing: dict[str, str] = {}
    with ThreadPoolExecutor(max_workers=len(hub.config.addresses)) as pool:
        futures = {service: pool.submit(ask, service) for service in hub.config.addresses}
        for service, future in futures.items():
            try:
                answer = future.result()
            except grpc.RpcError as error:
                if error.code() in (grpc.StatusCode.INVALID_ARGUMENT, grpc.StatusCode.PERMISSION_DENIED,
                                    grpc.StatusCode.UNAUTHENTICATED):  # fmt: skip
                    explain(error)  # the same for every service: the request or the token is wrong
                missing[service] = f"{error.code().name}: {error.details()}"
                continue
            tables: dict[str, list[Any]] = {}
            for record in answer.records:
                tables.setdefault(record.table, []).append(MessageToDict(record.row))
            services[service] = {"erased": answer.erased, "tables": tables} if answer.erased else {"tables": tables}
    return {
        "subject": name,
        "exported_at": datetime.now(UTC).isoformat(),
        "services": services,
        "not_answering": missing,
    }


@privacy_app.command("export")
def export_command(
    hub: Client,
    name: Annotated[str, typer.Argument(help="people/7 or companies/3")],
    output: Annotated[Path | None, typer.Option("-o", "--output", help="write the JSON here (default: stdout)")] = None,
) -> None:
    """기업이나 사람에 대해 모든 서비스가 가진 것을 하나의 JSON으로 (everything every service holds about a
    company or a person, as one JSON document)."""
    document = gather(hub, subject(name))
    text = json.dumps(document, ensure_ascii=False, indent=2) + "\n"
    if output is None:
        sys.stdout.write(text)
    else:
        output.write_text(text, encoding="utf-8")
        rows: list[tuple[str, Any, str]] = [
            (s, sum(len(v) for v in d["tables"].values()), ", ".join(sorted(d["tables"])))
            for s, d in document["services"].items()
        ]
        rows += [(s, "—", f"not answering: {why}") for s, why in document["not_answering"].items()]
        hub.show(
            {"written": str(output), "not_answering": document["not_answering"]},
            f"{document['subject']} → {output}",
            ["service", "records", "tables"],
            rows,
        )
    if document["not_answering"]:
        raise SystemExit(7)


@privacy_app.command("erase")
def erase_command(
    hub: Client,
    name: Annotated[str, typer.Argument(help="people/7 or companies/3")],
    reason: Annotated[str, typer.Option(help="why (the request's reference); kept in the erasure log")],
    yes: Annotated[bool, typer.Option("--yes", help="do not ask for confirmation")] = False,
    request_id: Annotated[str, typer.Option(help="retry an erasure with the same id (default: a new one)")] = "",
) -> None:
    """기업이나 사람의 개인정보를 모든 서비스에서 지웁니다 (erases a company's or a person's data in every service
    (names, email, phone, free text); a tombstone with the id stays. Cannot be undone)."""
    target = subject(name)
    if not yes and not typer.confirm(f"erase {target} in every service? This cannot be undone"):
        raise SystemExit(1)
    request_id = request_id or f"hubctl-erase-{uuid.uuid4()}"
    if target.startswith("people/"):
        result: Any = hub.call(
            hub.companies.ErasePerson, cpb.ErasePersonRequest(name=target, reason=reason, request_id=request_id)
        )
    else:
        result = hub.call(
            hub.companies.EraseCompany, cpb.EraseCompanyRequest(name=target, reason=reason, request_id=request_id)
        )
    if hub.config.json:
        print_json(result)
    else:
        out.print(f"erased {target}; the other services erase their copies as the event reaches them")
