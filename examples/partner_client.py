"""A VC partner's client for the Hub CRM partner API: lists your firm's introductions, and can accept or
decline one; browses the deal flow, asks for an introduction, and reads the KPI updates of invested companies.

    .venv/bin/python examples/partner_client.py                        # list (make run's demo key and certificate)
    .venv/bin/python examples/partner_client.py --accept introductions/2 --reason "미팅 원합니다"
    .venv/bin/python examples/partner_client.py --decline introductions/2 --reason "포트폴리오 충돌"
    .venv/bin/python examples/partner_client.py --deal-flow [--filter "sector=EDUCATION"]   # with each fit
    .venv/bin/python examples/partner_client.py --request companies/3 --note "시드 리드 검토 중입니다"
    .venv/bin/python examples/partner_client.py --updates               # KPI updates of invested companies

Connection: TLS with the hub's certificate (for `make run`, var/tls/partner.crt, self-signed), the key in
metadata as `authorization: Bearer <key>`. Settings: --address or HUB_PARTNER_ADDRESS (default
127.0.0.1:50072), --key or HUB_PARTNER_KEY (default: the contents of var/partner-key), --ca (default
var/tls/partner.crt; a public certificate needs none), --plaintext for a loopback server without TLS.

Outside this repository, generate the client code from protos/hub/investors/v1/partner.proto (and
investors.proto, which it imports) with grpcio-tools, with the googleapis-common-protos protos on the path.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import Any

import grpc
from hub.investors.v1 import investors_pb2 as pb
from hub.investors.v1 import partner_dealflow_pb2 as dpb
from hub.investors.v1 import partner_pb2 as ppb
from hub.investors.v1 import partner_pb2_grpc

VAR = Path(__file__).resolve().parent.parent / "var"


def channel(address: str, ca: Path | None, plaintext: bool) -> grpc.Channel:
    if plaintext:
        return grpc.insecure_channel(address)
    roots = ca.read_bytes() if ca and ca.exists() else None  # None: the system's trusted roots
    return grpc.secure_channel(address, grpc.ssl_channel_credentials(root_certificates=roots))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--address", default=os.environ.get("HUB_PARTNER_ADDRESS", "127.0.0.1:50072"))
    parser.add_argument("--key", default=os.environ.get("HUB_PARTNER_KEY", ""))
    parser.add_argument("--ca", type=Path, default=VAR / "tls" / "partner.crt")
    parser.add_argument("--plaintext", action="store_true")
    answer = parser.add_mutually_exclusive_group()
    answer.add_argument("--accept", metavar="INTRODUCTION")
    answer.add_argument("--decline", metavar="INTRODUCTION")
    answer.add_argument("--deal-flow", action="store_true", help="the companies shown to your firm, best fit first")
    answer.add_argument("--request", metavar="COMPANY", help="ask for an introduction (with --note)")
    answer.add_argument("--updates", action="store_true", help="KPI updates of the companies your firm invested in")
    parser.add_argument("--reason", default="")
    parser.add_argument("--note", default="")
    parser.add_argument("--filter", default="")
    args = parser.parse_args()
    key = args.key or ((VAR / "partner-key").read_text().strip() if (VAR / "partner-key").exists() else "")
    if not key:
        print("no API key: pass --key, set HUB_PARTNER_KEY, or run `make run` for a demo key", file=sys.stderr)
        return 2
    metadata = (("authorization", f"Bearer {key}"),)
    with channel(args.address, args.ca, args.plaintext) as ch:
        stub = partner_pb2_grpc.PartnerServiceStub(ch)
        try:
            if args.deal_flow or args.request or args.updates:
                deal_flow(stub, metadata, args)
                return 0
            if args.accept or args.decline:
                answered = stub.RespondToIntroduction(
                    ppb.RespondToIntroductionRequest(
                        name=args.accept or args.decline, accept=bool(args.accept), reason=args.reason
                    ),
                    metadata=metadata,
                    timeout=10,
                )
                print(f"{answered.name}: {pb.IntroductionState.Name(answered.state)}")
                return 0
            request = ppb.PartnerServiceListIntroductionsRequest(page_size=50)
            while True:
                page, call = stub.ListIntroductions.with_call(request, metadata=metadata, timeout=10)
                headers = dict(call.initial_metadata() or ())  # the key's rate limit, on every answer
                if headers.get("ratelimit-remaining") == "0":
                    print(f"limit reached: the window ends in {headers.get('ratelimit-reset')} s", file=sys.stderr)
                for intro in page.introductions:
                    company = intro.company
                    label = " / ".join(x for x in (company.korean_name, company.english_name) if x) or company.name
                    state = pb.IntroductionState.Name(intro.state).removeprefix("INTRODUCTION_STATE_")
                    print(f"{intro.name:<20} {state:<18} {label} [{company.sector or '-'} {company.stage or '-'}]")
                    print(f"{'':<20} {intro.note}")
                if not page.next_page_token:
                    return 0
                request.page_token = page.next_page_token
        except grpc.RpcError as exc:
            print(f"{exc.code().name}: {exc.details()}", file=sys.stderr)  # type: ignore[attr-defined]
            if exc.code() == grpc.StatusCode.RESOURCE_EXHAUSTED:  # type: ignore[attr-defined]
                retry = dict(exc.trailing_metadata() or ()).get("retry-after", "1")  # type: ignore[attr-defined]
                print(f"rate limited: retry after {retry} s", file=sys.stderr)
            return 1


def deal_flow(stub: partner_pb2_grpc.PartnerServiceStub, metadata: Any, args: argparse.Namespace) -> None:
    if args.request:
        # The request_id makes a retry safe: the hub answers it with the first request's introduction.
        request_id = f"{args.request}:{args.note}"[:100]
        asked = stub.RequestIntroduction(
            dpb.RequestIntroductionRequest(company=args.request, note=args.note, request_id=request_id),
            metadata=metadata, timeout=10,
        )  # fmt: skip
        print(f"{asked.name}: {pb.IntroductionState.Name(asked.state)}")
    elif args.updates:
        found = stub.ListCompanyUpdates(
            dpb.ListCompanyUpdatesRequest(filter=args.filter), metadata=metadata, timeout=10
        )
        for u in found.company_updates:
            figures = {f.name: v for f, v in u.ListFields() if f.name not in ("name", "company", "period", "version",
                       "field_groups", "report", "report_time")}  # fmt: skip
            print(f"{u.company:<14} {u.period:<8} v{u.version} {figures}")
    else:
        found = stub.ListDealFlow(dpb.ListDealFlowRequest(filter=args.filter), metadata=metadata, timeout=10)
        for c in found.companies:
            label = " / ".join(x for x in (c.korean_name, c.english_name) if x) or c.name
            print(f"{c.name:<14} {c.fit.score:>3}  {label} [{c.sector or '-'} {c.stage or '-'}] ({c.fit.thesis})")
            for part in c.fit.components:
                mark = "+" if part.points == part.max_points else ("~" if part.points else "-")
                print(f"{'':<19}{mark} {part.component} {part.points}/{part.max_points}: {part.explanation}")


if __name__ == "__main__":
    sys.exit(main())
