"""The demo consulting calendar `make run` seeds on first start: KAIST-style faculty and experts, the
5th-floor rooms, the session types, a week of sessions with the demo companies, and an education program.

Seeding goes through the public API with request ids, like real use. The companies come from the
companies service's seed (companies/1..6): consulting learns of them from their events, so booking a
session waits until its company directory has heard of the company."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from functools import partial
from zoneinfo import ZoneInfo

import grpc
from google.protobuf import duration_pb2, timestamp_pb2
from google.type import dayofweek_pb2, interval_pb2, timeofday_pb2
from hub.consulting.v1 import consulting_pb2 as pb
from hub.consulting.v1 import consulting_pb2_grpc

SEOUL = ZoneInfo("Asia/Seoul")
K = pb.MentorKind
D = dayofweek_pb2
WEEKDAYS = [D.MONDAY, D.TUESDAY, D.WEDNESDAY, D.THURSDAY, D.FRIDAY]
MENTORS = [
    # korean, english, kind, affiliation, expertise, zone, days, from, to
    ("김도현", "Dohyun Kim", K.MENTOR_KIND_FACULTY, "KAIST 전산학부 교수", ["vision", "의료영상"], "", WEEKDAYS, 9, 18),
    ("이수진", "Sujin Lee", K.MENTOR_KIND_FACULTY, "KAIST 산업및시스템공학과 교수", ["제조", "예지보전"], "",
     [D.TUESDAY, D.THURSDAY], 13, 18),
    ("박정훈", "Jeonghoon Park", K.MENTOR_KIND_EXPERT, "전 AI 연구소장", ["llm", "nlp"], "", WEEKDAYS, 10, 17),
    ("최유나", "Yuna Choi", K.MENTOR_KIND_VC, "벤처캐피탈 수석심사역", ["투자", "시리즈a"], "", WEEKDAYS, 9, 12),
    ("정하늘", "Haneul Jung", K.MENTOR_KIND_EXPERT, "특허법인 변리사", ["특허", "ip"], "", [D.WEDNESDAY], 14, 18),
    ("박은혜", "Grace Park", K.MENTOR_KIND_EXPERT, "Silicon Valley GTM advisor", ["overseas", "미국진출"],
     "America/Los_Angeles", WEEKDAYS, 16, 19),
]  # fmt: skip
ROOMS = [("501호 회의실", 8), ("502호 회의실", 6), ("503호 세미나실", 30), ("505호 포커스룸", 4)]
C = pb.SessionCategory
TYPES = [
    ("성장전략 컨설팅", C.SESSION_CATEGORY_GROWTH_STRATEGY, 90, 0, 15),
    ("1:1 기술 자문", C.SESSION_CATEGORY_TECHNICAL, 60, 0, 10),
    ("VC 투자 자문", C.SESSION_CATEGORY_VC_ADVISORY, 60, 10, 10),
    ("해외진출 클리닉", C.SESSION_CATEGORY_OVERSEAS_EXPANSION, 60, 0, 0),
]
SESSIONS = [
    # weekday (0 = Monday), Seoul hour, mentor, company, type, room (0 = online), agenda
    (0, 10, 1, 1, 2, 1, "의료영상 판독 모델 검증 설계"),
    (0, 14, 3, 2, 2, 2, "EMR 요약 LLM 평가"),
    (1, 9, 6, 1, 4, 0, "미국 FDA 인허가 및 현지 파트너"),
    (1, 14, 2, 5, 1, 1, "예지보전 사업 확장 전략"),
    (2, 10, 4, 2, 3, 4, "시리즈 A 투자 유치 준비"),
    (2, 15, 5, 6, 2, 2, "비전 검사 특허 포트폴리오"),
    (3, 11, 1, 6, 2, 1, "불량 검출 모델 경량화"),
    (4, 10, 4, 3, 3, 4, "시드 라운드 밸류에이션"),
]


def _ts(value: datetime) -> timestamp_pb2.Timestamp:
    message = timestamp_pb2.Timestamp()
    message.FromDatetime(value)
    return message


def _minutes(n: int) -> duration_pb2.Duration:
    return duration_pb2.Duration(seconds=n * 60)


def _next_monday() -> date:
    today = datetime.now(SEOUL).date()
    return today + timedelta(days=7 - today.weekday())


def _at(day: date, hour: int) -> datetime:
    return datetime(day.year, day.month, day.day, hour, tzinfo=SEOUL).astimezone(UTC)


def run(address: str, token: str, *, wait_seconds: float = 60) -> None:
    metadata = (("authorization", f"Bearer {token}"),)
    with grpc.insecure_channel(address) as channel:
        stub = consulting_pb2_grpc.ConsultingServiceStub(channel)
        for n, (ko, en, kind, affiliation, tags, zone, days, start, end) in enumerate(MENTORS, 1):
            week = [
                pb.WeeklyWindow(
                    day=d, start_time=timeofday_pb2.TimeOfDay(hours=start), end_time=timeofday_pb2.TimeOfDay(hours=end)
                )
                for d in days
            ]
            mentor = pb.Mentor(
                korean_name=ko, english_name=en, kind=kind, affiliation=affiliation, expertise=tags, time_zone=zone,
                weekly_availability=week,
            )  # fmt: skip
            stub.CreateMentor(pb.CreateMentorRequest(mentor=mentor, request_id=f"demo-mentor-{n}"), metadata=metadata)
        for n, (name, capacity) in enumerate(ROOMS, 1):
            room = pb.Room(display_name=name, floor=5, capacity=capacity)
            stub.CreateRoom(pb.CreateRoomRequest(room=room, request_id=f"demo-room-{n}"), metadata=metadata)
        for n, (name, category, length, before, after) in enumerate(TYPES, 1):
            kind_ = pb.SessionType(
                display_name=name, category=category, default_duration=_minutes(length),
                buffer_before=_minutes(before), buffer_after=_minutes(after),
            )  # fmt: skip
            request = pb.CreateSessionTypeRequest(session_type=kind_, request_id=f"demo-type-{n}")
            stub.CreateSessionType(request, metadata=metadata)

        monday = _next_monday()
        for n, (weekday, hour, mentor_n, company_n, type_n, room_n, agenda) in enumerate(SESSIONS, 1):
            session = pb.Session(
                company=f"companies/{company_n}",
                mentor=f"mentors/{mentor_n}",
                session_type=f"sessionTypes/{type_n}",
                interval=interval_pb2.Interval(start_time=_ts(_at(monday + timedelta(days=weekday), hour))),
                room=f"rooms/{room_n}" if room_n else "",
                agenda=agenda,
            )
            booking = pb.ScheduleSessionRequest(session=session, request_id=f"demo-session-{n}")
            _when_known(partial(stub.ScheduleSession, booking, metadata=metadata), wait_seconds)

        thursday = monday + timedelta(days=3)
        program = stub.CreateProgram(
            pb.CreateProgramRequest(
                program=pb.Program(
                    display_name="AI 실무 교육 1기", kind=pb.PROGRAM_KIND_EDUCATION, room="rooms/3", capacity=30,
                    description="입주기업 실무자를 위한 생성형 AI 활용 교육",
                    interval=interval_pb2.Interval(start_time=_ts(_at(thursday, 14)), end_time=_ts(_at(thursday, 17))),
                ),
                request_id="demo-program-1",
            ),
            metadata=metadata,
        )  # fmt: skip
        for n, (participant, company) in enumerate([("김서연", 1), ("이준호", 2), ("박지민", 3), ("정민수", 5)], 1):
            registration = pb.Registration(
                program=program.name, participant_name=participant, company=f"companies/{company}"
            )
            register = pb.CreateRegistrationRequest(registration=registration, request_id=f"demo-registration-{n}")
            _when_known(partial(stub.CreateRegistration, register, metadata=metadata), wait_seconds)


def _when_known(call: Callable[[], object], wait_seconds: float) -> None:
    """Retries while the company directory has not yet heard of the company (NOT_FOUND)."""
    deadline = time.monotonic() + wait_seconds
    while True:
        try:
            call()
            return
        except grpc.RpcError as exc:
            not_yet = isinstance(exc, grpc.Call) and exc.code() == grpc.StatusCode.NOT_FOUND
            if not not_yet or time.monotonic() > deadline:
                raise
            time.sleep(0.5)
