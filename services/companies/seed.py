"""The demo hub `make run` seeds on first start: resident AI startups and their founders.

Seeding goes through the public API with request ids, so it emits the same events as real use and a
repeated seed creates nothing twice."""

from __future__ import annotations

import grpc
from hub.companies.v1 import companies_pb2 as pb
from hub.companies.v1 import companies_pb2_grpc

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
PATH = {"APPLICANT": [], "SELECTED": ["SELECTED"], "RESIDENT": ["SELECTED", "RESIDENT"]}


def run(address: str, token: str) -> None:
    metadata = (("authorization", f"Bearer {token}"),)
    with grpc.insecure_channel(address) as channel:
        stub = companies_pb2_grpc.CompanyServiceStub(channel)
        for number, (ko, en, sector, stage, tags, status, founder) in enumerate(DEMO, 1):
            company = stub.CreateCompany(
                pb.CreateCompanyRequest(
                    company=pb.Company(korean_name=ko, english_name=en, sector=sector, stage=stage, tags=tags),
                    request_id=f"demo-company-{number}",
                ),
                metadata=metadata,
            )
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
