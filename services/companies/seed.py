"""The demo hub `make run` seeds on first start: resident AI startups and their founders.

Seeding goes through the public API with request ids, so it emits the same events as real use and a
repeated seed creates nothing twice."""

from __future__ import annotations

from datetime import date, timedelta

import grpc
from google.type import date_pb2, money_pb2
from hub.companies.v1 import companies_pb2 as pb
from hub.companies.v1 import companies_pb2_grpc, program_pb2_grpc
from hub.companies.v1 import program_pb2 as ppb

S, ST = pb.Sector, pb.Stage
DEMO = [
    # korean name, english name, sector, stage, tags, status, founder (Korean, English, email)
    ("메디비전", "MediVision", S.SECTOR_MEDICAL, ST.STAGE_SEED, ["의료영상", "vision"], "RESIDENT",
     ("김서연", "Seoyeon Kim", "seoyeon@medivision.kr")),
    ("닥터노트", "DoctorNote", S.SECTOR_MEDICAL, ST.STAGE_PRE_A, ["llm", "emr"], "RESIDENT",
     ("이준호", "Junho Lee", "junho@doctornote.kr")),
    ("에듀마인드", "EduMind", S.SECTOR_EDUCATION, ST.STAGE_SEED, ["에듀테크", "tutoring"], "RESIDENT",
     ("박지민", "Jimin Park", "jimin@edumind.kr")),
    ("코딩하랑", "CodingHarang", S.SECTOR_EDUCATION, ST.STAGE_PRE_SEED, ["coding"], "SELECTED",
     ("최하랑", "Harang Choi", "harang@codingharang.kr")),
    ("스마트팩토리랩", "SmartFactory Lab", S.SECTOR_MANUFACTURING, ST.STAGE_SERIES_A, ["예지보전", "iot"], "RESIDENT",
     ("정민수", "Minsu Jung", "minsu@sflab.kr")),
    ("비전검사", "VisionInspect", S.SECTOR_MANUFACTURING, ST.STAGE_SEED, ["vision", "qa"], "APPLICANT",
     ("한예린", "Yerin Han", "yerin@visioninspect.kr")),
]  # fmt: skip
# Residents become RESIDENT by moving into an office (AssignSpace), not by a status change.
PATH = {"APPLICANT": [], "SELECTED": ["SELECTED"], "RESIDENT": ["SELECTED"]}
# The hub's spaces: 16 private offices on floors 6 and 8, and a 30-desk open space (on floor 6).
OFFICES = [(floor, f"{floor}{n:02d}") for floor in (6, 8) for n in range(1, 9)]
DESKS = [f"D-{n:02d}" for n in range(1, 31)]


def _day(value: date) -> date_pb2.Date:
    return date_pb2.Date(year=value.year, month=value.month, day=value.day)


def run(address: str, token: str) -> None:
    metadata = (("authorization", f"Bearer {token}"),)
    with grpc.insecure_channel(address) as channel:
        stub = companies_pb2_grpc.CompanyServiceStub(channel)
        program = program_pb2_grpc.ProgramServiceStub(channel)
        offices = [
            program.CreateSpace(
                ppb.CreateSpaceRequest(
                    space=ppb.Space(kind=ppb.SPACE_KIND_PRIVATE_OFFICE, label=label, floor=floor, seats=4),
                    request_id=f"demo-space-{label}",
                ),
                metadata=metadata,
            )
            for floor, label in OFFICES
        ]
        for label in DESKS:
            program.CreateSpace(
                ppb.CreateSpaceRequest(
                    space=ppb.Space(kind=ppb.SPACE_KIND_OPEN_DESK, label=label, floor=6, seats=1),
                    request_id=f"demo-space-{label}",
                ),
                metadata=metadata,
            )
        today = date.today()
        names: dict[str, str] = {}
        for number, (ko, en, sector, stage, tags, status, founder) in enumerate(DEMO, 1):
            company = stub.CreateCompany(
                pb.CreateCompanyRequest(
                    company=pb.Company(korean_name=ko, english_name=en, sector=sector, stage=stage, tags=tags),
                    request_id=f"demo-company-{number}",
                ),
                metadata=metadata,
            )
            # a repeated seed gets the first response back: ask for the company as it is now
            company = stub.GetCompany(pb.GetCompanyRequest(name=company.name), metadata=metadata)
            if company.status == pb.COMPANY_STATUS_APPLICANT:
                for step in PATH[status]:
                    stub.ChangeCompanyStatus(
                        pb.ChangeCompanyStatusRequest(
                            name=company.name,
                            status=pb.CompanyStatus.Value(f"COMPANY_STATUS_{step}"),
                            reason="demo",
                        ),
                        metadata=metadata,
                    )
            names[en] = company.name
            if status == "RESIDENT":
                program.AssignSpace(
                    ppb.AssignSpaceRequest(
                        assignment=ppb.Assignment(
                            space=offices[number - 1].name,
                            company=company.name,
                            move_in_date=_day(today - timedelta(days=90)),
                        ),
                        request_id=f"demo-assignment-{number}",
                    ),
                    metadata=metadata,
                )
                seed_kpi_and_support(program, metadata, company.name, number, today)
            stub.CreatePerson(
                pb.CreatePersonRequest(
                    person=pb.Person(
                        korean_name=founder[0],
                        english_name=founder[1],
                        email=founder[2],
                        company=company.name,
                        role=pb.PERSON_ROLE_FOUNDER,
                        title="대표이사",
                    ),
                    request_id=f"demo-founder-{number}",
                ),
                metadata=metadata,
            )
        seed_round(stub, program, metadata, names, today)


def seed_kpi_and_support(
    program: program_pb2_grpc.ProgramServiceStub, metadata: tuple[tuple[str, str], ...], company: str, n: int,
    today: date,
) -> None:  # fmt: skip
    quarter = f"{today.year}-Q{(today.month - 1) // 3 + 1}"
    program.ReportKpi(
        ppb.ReportKpiRequest(
            report=ppb.KpiReport(
                company=company, period=quarter, headcount=4 + n * 2, customers=n * 3, patents=n % 3,
                revenue=money_pb2.Money(currency_code="KRW", units=n * 150_000_000), note="분기 보고",
            ),
            request_id=f"demo-kpi-{n}",
            reason="데모 데이터: 창업자 대신 입력",
        ),
        metadata=metadata,
    )  # fmt: skip
    program.SetSupportQuota(
        ppb.SetSupportQuotaRequest(quota=ppb.SupportQuota(company=company, kind=ppb.SUPPORT_KIND_GPU_HOURS, quota=500)),
        metadata=metadata,
    )
    program.RecordSupport(
        ppb.RecordSupportRequest(
            grant=ppb.SupportGrant(
                company=company, kind=ppb.SUPPORT_KIND_GPU_HOURS, amount=40 * n, note="A100 클러스터"
            ),
            request_id=f"demo-gpu-{n}",
        ),
        metadata=metadata,
    )
    if n % 2:  # half the residents have a first customer: the dashboard's "firms grown" and why
        program.CreateMilestone(
            ppb.CreateMilestoneRequest(
                milestone=ppb.Milestone(
                    company=company, kind=ppb.MILESTONE_KIND_FIRST_CUSTOMER, achieve_date=_day(today),
                    evidence="첫 유료 고객 계약 (데모)",
                ),
                request_id=f"demo-milestone-{n}",
            ),
            metadata=metadata,
        )  # fmt: skip


def seed_round(
    stub: companies_pb2_grpc.CompanyServiceStub, program: program_pb2_grpc.ProgramServiceStub,
    metadata: tuple[tuple[str, str], ...], names: dict[str, str], today: date,
) -> None:  # fmt: skip
    """An open call with a few applications and reviewers' scores (one conflict of interest declared)."""
    kinds = ppb.SeatKind
    call = program.CreateRound(
        ppb.CreateRoundRequest(
            round=ppb.Round(
                title=f"{today.year} 입주기업 모집",
                open_date=_day(today - timedelta(days=14)),
                close_date=_day(today + timedelta(days=14)),
                seats=[
                    ppb.Round.Seats(kind=kinds.SEAT_KIND_PRIVATE_OFFICE, count=2),
                    ppb.Round.Seats(kind=kinds.SEAT_KIND_OPEN_DESK, count=4),
                    ppb.Round.Seats(kind=kinds.SEAT_KIND_INDIVIDUAL, count=2),
                ],
                criteria=[
                    ppb.Round.Criterion(key="tech", title="기술성", weight=40),
                    ppb.Round.Criterion(key="market", title="시장성", weight=30),
                    ppb.Round.Criterion(key="team", title="팀 역량", weight=30),
                ],
                questions=["해결하려는 문제는?", "핵심 AI 기술은?"],
            ),
            request_id="demo-round-1",
        ),
        metadata=metadata,
    )
    individual = stub.CreatePerson(
        pb.CreatePersonRequest(
            person=pb.Person(
                korean_name="오지훈",
                english_name="Jihoon Oh",
                role=pb.PERSON_ROLE_INDIVIDUAL,
                email="jihoon@example.kr",
            ),
            request_id="demo-individual-1",
        ),
        metadata=metadata,
    )
    applicants = [(names["VisionInspect"], kinds.SEAT_KIND_OPEN_DESK), (individual.name, kinds.SEAT_KIND_INDIVIDUAL)]
    for n, (applicant, kind) in enumerate(applicants, 1):
        application = program.CreateApplication(
            ppb.CreateApplicationRequest(
                application=ppb.Application(
                    round=call.name, applicant=applicant, seat_kind=kind,
                    answers=[ppb.Application.Answer(question="핵심 AI 기술은?", text="비전 기반 불량 검출")],
                    attachment_urls=[f"https://example.kr/decks/{n}.pdf"],
                ),
                request_id=f"demo-application-{n}",
            ),
            metadata=metadata,
        )  # fmt: skip
        if application.state == ppb.APPLICATION_STATE_SUBMITTED and n == 1:
            for reviewer, values in (("reviewer1@hub.kr", (8, 7, 7)), ("reviewer2@hub.kr", (9, 6, 8))):
                try:
                    program.ScoreApplication(
                        ppb.ScoreApplicationRequest(
                            score=ppb.Score(
                                application=application.name, reviewer=reviewer,
                                values=dict(zip(("tech", "market", "team"), values, strict=True)),
                            )
                        ),
                        metadata=metadata,
                    )  # fmt: skip
                except grpc.RpcError as error:  # scored by an earlier seed
                    if error.code() != grpc.StatusCode.ALREADY_EXISTS:
                        raise
    program.DeclareConflict(
        ppb.DeclareConflictRequest(
            conflict=ppb.Conflict(
                round=call.name, reviewer="reviewer1@hub.kr", applicant=individual.name, reason="지도교수"
            )
        ),
        metadata=metadata,
    )
