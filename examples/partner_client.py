"""A VC partner's client for the Hub CRM partner API: lists your firm's introductions, and can accept or
decline one.

    .venv/bin/python examples/partner_client.py                        # list (make run's demo key and certificate)
    .venv/bin/python examples/partner_client.py --accept introductions/2 --reason "미팅 원합니다"
    .venv/bin/python examples/partner_client.py --decline introductions/2 --reason "포트폴리오 충돌"

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

import grpc
from hub.investors.v1 import investors_pb2 as pb
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
    parser.add_argument("--reason", default="")
    args = parser.parse_args()
    key = args.key or ((VAR / "partner-key").read_text().strip() if (VAR / "partner-key").exists() else "")
    if not key:
        print("no API key: pass --key, set HUB_PARTNER_KEY, or run `make run` for a demo key", file=sys.stderr)
        return 2
    metadata = (("authorization", f"Bearer {key}"),)
    with channel(args.address, args.ca, args.plaintext) as ch:
        stub = partner_pb2_grpc.PartnerServiceStub(ch)
        try:
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


if __name__ == "__main__":
    sys.exit(main())
