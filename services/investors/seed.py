"""The demo investors `make run` seeds on first start: Korean VCs, CVCs, an angel club, a public fund and an
accelerator (fictional), their partners, introductions at several stages, and rounds; and a partner API key
for the demo, kept in var/partner-key.

Seeding goes through the public API with request ids, like real use. The companies seed ran just before,
making companies/1-6 in its order; their events reach this service's directory over NATS within moments,
so the first introduction waits for them."""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import grpc
from hub.investors.v1 import investors_pb2 as pb
from hub.investors.v1 import investors_pb2_grpc

from hubcore.convert import money
from hubcore.settings import Settings

T = TypeVar("T")
EOK = 100_000_000  # 억 (10^8 won)
S, R = pb.IntroductionState, pb.RoundType
KEY_FILE = "partner-key"


def thesis(title: str, sectors: list[str], stages: list[str], low: int, high: int, geo: list[str]) -> pb.Thesis:
    return pb.Thesis(
        title=title, sectors=sectors, stages=stages, ticket_min=money(low), ticket_max=money(high), geographies=geo
    )


FIRMS = [
    # korean, english, type, website, thesis, partner (korean, english, title, email)
    ("한빛벤처스", "Hanbit Ventures", pb.FIRM_TYPE_VC, "https://hanbit.vc",
     thesis("AI 헬스케어 시드", ["MEDICAL"], ["SEED", "PRE_A"], 5 * EOK, 30 * EOK, ["KR"]),
     ("김도윤", "Doyun Kim", "파트너", "doyun@hanbit.vc")),
    ("누리캐피탈", "Nuri Capital", pb.FIRM_TYPE_VC, "https://nuri.capital",
     thesis("에듀테크와 핀테크 초기", ["EDUCATION", "FINANCE"], ["PRE_SEED", "SEED"], 1 * EOK, 10 * EOK, ["KR"]),
     ("이서준", "Seojun Lee", "심사역", "seojun@nuri.capital")),
    ("가온모빌리티 CVC", "Gaon Mobility CVC", pb.FIRM_TYPE_CVC, "https://cvc.gaon-mobility.kr",
     thesis("제조·모빌리티 AI", ["MANUFACTURING", "MOBILITY", "ROBOTICS"], ["SERIES_A", "SERIES_B"], 20 * EOK,
            100 * EOK, ["KR", "US"]),
     ("박하은", "Haeun Park", "상무", "haeun@gaon-mobility.kr")),
    ("세움헬스케어벤처스", "Seum Healthcare Ventures", pb.FIRM_TYPE_CVC, "https://seum.health",
     thesis("디지털 헬스", ["MEDICAL"], ["SEED", "PRE_A", "SERIES_A"], 10 * EOK, 50 * EOK, ["KR"]),
     ("정우진", "Woojin Jung", "팀장", "woojin@seum.health")),
    ("대덕엔젤클럽", "Daedeok Angels", pb.FIRM_TYPE_ANGEL_NETWORK, "",
     thesis("딥테크 엔젤", [], ["IDEA", "PRE_SEED", "SEED"], 3 * EOK // 10, 3 * EOK, ["KR"]), None),
    ("미래혁신펀드", "Future Innovation Fund", pb.FIRM_TYPE_PUBLIC_FUND, "",
     thesis("소부장·에너지 성장", ["MANUFACTURING", "ENERGY", "AGRICULTURE"], ["SEED", "PRE_A", "SERIES_A", "SERIES_B"],
            10 * EOK, 50 * EOK, ["KR"]), None),
    ("로켓스테이션", "Rocket Station", pb.FIRM_TYPE_ACCELERATOR, "https://rocketstation.kr",
     thesis("프리시드 배치", [], ["IDEA", "PRE_SEED"], EOK // 2, 2 * EOK, ["KR"]), None),
]  # fmt: skip

CONSENT, ACCEPT, MEET = (
    S.INTRODUCTION_STATE_COMPANY_CONSENTED,
    S.INTRODUCTION_STATE_PARTNER_ACCEPTED,
    S.INTRODUCTION_STATE_MEETING_HELD,
)
INTRODUCTIONS = [
    # company, firm number, note, states after REQUESTED, shared fields
    (5, 3, "스마트팩토리랩의 예지보전 솔루션이 가온의 공장 라인과 잘 맞습니다.",
     [CONSENT, ACCEPT, MEET, S.INTRODUCTION_STATE_INVESTED], []),
    (1, 1, "메디비전은 의료영상 AI로 시드 라운드를 준비 중입니다.", [CONSENT],
     ["korean_name", "english_name", "sector", "stage", "website", "tags"]),
    (2, 1, "닥터노트의 EMR 요약 LLM, 프리A 리드를 찾고 있습니다.", [CONSENT, ACCEPT, MEET], []),
    (3, 2, "에듀마인드: AI 튜터링, 누리캐피탈 에듀테크 포트폴리오와 시너지.", [], []),
]  # fmt: skip
ROUNDS = [
    # company, type, amount, lead firm number, participants (firm number, amount), status
    (5, R.ROUND_TYPE_SERIES_A, 50 * EOK, 3, [(6, 20 * EOK)], pb.ROUND_STATUS_CLOSED),
    (1, R.ROUND_TYPE_SEED, 8 * EOK, 1, [(5, EOK)], pb.ROUND_STATUS_CLOSED),
    (2, R.ROUND_TYPE_PRE_A, 15 * EOK, 1, [], pb.ROUND_STATUS_OPEN),
]

G = pb.FieldGroup
# What founders let firms see, for the partner API's deal flow and updates (recorded here for them, with a
# reason): company, firm number (None: every firm), groups. Company 1 reports KPIs and firm 1 led its round.
GRANTS = [
    (3, None, [G.FIELD_GROUP_NAMES, G.FIELD_GROUP_PROFILE, G.FIELD_GROUP_DEAL_FLOW]),
    (6, 1, [G.FIELD_GROUP_NAMES, G.FIELD_GROUP_PROFILE, G.FIELD_GROUP_WEBSITE, G.FIELD_GROUP_DEAL_FLOW]),
    (1, 1, [G.FIELD_GROUP_NAMES, G.FIELD_GROUP_PROFILE, G.FIELD_GROUP_WEBSITE, G.FIELD_GROUP_KPI_TEAM,
            G.FIELD_GROUP_KPI_TRACTION]),
]  # fmt: skip


def _until_known(call: Callable[[], T], timeout: float = 60) -> T:
    """Retries a call that is NOT_FOUND while the directory catches up with the companies' events."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            return call()
        except grpc.RpcError as exc:
            if exc.code() != grpc.StatusCode.NOT_FOUND or time.monotonic() > deadline:
                raise
            time.sleep(0.2)


def run(address: str, token: str) -> None:
    metadata = (("authorization", f"Bearer {token}"),)
    with grpc.insecure_channel(address) as channel:
        stub = investors_pb2_grpc.InvestorServiceStub(channel)
        firms, partners = [], {}
        for number, (ko, en, kind, website, firm_thesis, partner) in enumerate(FIRMS, 1):
            firm = stub.CreateFirm(
                pb.CreateFirmRequest(
                    firm=pb.Firm(korean_name=ko, english_name=en, type=kind, website=website, theses=[firm_thesis]),
                    request_id=f"demo-firm-{number}",
                ),
                metadata=metadata,
            )
            firms.append(firm.name)
            if partner:
                made = stub.CreatePartner(
                    pb.CreatePartnerRequest(
                        partner=pb.Partner(
                            firm=firm.name, korean_name=partner[0], english_name=partner[1], title=partner[2],
                            email=partner[3],
                        ),
                        request_id=f"demo-partner-{number}",
                    ),
                    metadata=metadata,
                )  # fmt: skip
                partners[number] = made.name
        for number, (company, firm_number, note, states, shared) in enumerate(INTRODUCTIONS, 1):
            request = pb.CreateIntroductionRequest(
                introduction=pb.Introduction(
                    company=f"companies/{company}", firm=firms[firm_number - 1], partner=partners.get(firm_number, ""),
                    note=note, shared_fields=shared,
                ),
                request_id=f"demo-introduction-{number}",
            )  # fmt: skip

            def create(request: pb.CreateIntroductionRequest = request) -> Any:
                return stub.CreateIntroduction(request, metadata=metadata)

            intro = _until_known(create)
            for state in states:
                intro = stub.ChangeIntroductionState(
                    pb.ChangeIntroductionStateRequest(name=intro.name, state=state, reason="demo", etag=intro.etag),
                    metadata=metadata,
                )
        for number, (company, round_type, amount, lead, participants, status) in enumerate(ROUNDS, 1):
            stub.CreateRound(
                pb.CreateRoundRequest(
                    round=pb.Round(
                        company=f"companies/{company}", round_type=round_type, amount=money(amount),
                        lead_firm=firms[lead - 1], status=status,
                        participants=[pb.Participant(firm=firms[f - 1], amount=money(a)) for f, a in participants],
                    ),
                    request_id=f"demo-round-{number}",
                ),
                metadata=metadata,
            )  # fmt: skip
        for company, grantee, groups in GRANTS:
            _grant(stub, metadata, f"companies/{company}", firms[grantee - 1] if grantee else "firms/-", groups)
        key = stub.CreateApiKey(
            pb.CreateApiKeyRequest(api_key=pb.ApiKey(partner=partners[1], description="make run demo")),
            metadata=metadata,
        )
    path = Path(Settings.from_env("investors").data_dir) / KEY_FILE
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(key.secret)


def _grant(stub: Any, metadata: Any, company: str, firm: str, groups: list[Any]) -> None:
    """Grants the firm the groups, widening a grant it holds (a consented introduction made one)."""
    reason = "데모 데이터: 창업자 요청"
    try:
        stub.CreateSharingGrant(
            pb.CreateSharingGrantRequest(parent=company, sharing_grant=pb.SharingGrant(firm=firm, field_groups=groups),
                                         reason=reason),
            metadata=metadata,
        )  # fmt: skip
    except grpc.RpcError as exc:
        if exc.code() != grpc.StatusCode.ALREADY_EXISTS:
            raise
        name = f"{company}/sharingGrants/{firm.rsplit('/', 1)[1]}"
        stub.UpdateSharingGrant(
            pb.UpdateSharingGrantRequest(sharing_grant=pb.SharingGrant(name=name, field_groups=groups), reason=reason),
            metadata=metadata,
        )


def banner(data_dir: os.PathLike[str], env: dict[str, str]) -> list[str]:
    """How to reach the partner API, for the launcher's banner."""
    settings = Settings.from_env("investors")
    address = f"{settings.partner_host}:{settings.partner_port}"
    cert = env.get("HUB_INVESTORS_PARTNER_TLS_CERT", "")
    key_file = Path(data_dir) / KEY_FILE
    tls = f"--cacert {cert} https" if cert else "--http2-prior-knowledge http"
    # The key itself is never printed: the terminal's output is a log too (scrollback, CI logs, screenshots).
    where = f"in {key_file} (mode 0600)" if key_file.exists() else "(none: the demo was seeded before keys existed)"
    http = ""
    if settings.partner_http_port:
        scheme = "https" if cert else "http"
        http = f"{scheme}://{settings.partner_host}:{settings.partner_http_port}"
    lines = [
        f"Partner API (VC partners): {'grpcs' if cert else 'grpc'}://{address}"
        + (f", TLS certificate {cert}" if cert else ""),
        f"  demo partner key (한빛벤처스, 김도윤) {where}",
        f'  .venv/bin/buf curl --protocol grpc -H "authorization: Bearer $(cat {key_file})" {tls}://{address}'
        "/hub.investors.v1.PartnerService/ListIntroductions",
        "  .venv/bin/python examples/partner_client.py   (lists the firm's introductions over TLS)",
        "  .venv/bin/python examples/partner_client.py --deal-flow   (companies shown to the firm, with their fit)",
        "",
    ]
    if http:
        lines += [
            f"Partner API over HTTP/JSON: {http} (contract: {http}/openapi.json)",
            f'  curl {f"--cacert {cert} " if cert else ""}-H "Authorization: Bearer $(cat {key_file})" '
            f"-H 'Content-Type: application/json' -d '{{}}' {http}/hub.investors.v1.PartnerService/ListIntroductions",
            "  sh examples/partner_journey.sh   (list, accept, read back: curl; or node examples/partner_journey.mjs)",
        ]
    return [*lines, ""]
