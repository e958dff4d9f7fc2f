"""Sessions and action items: the consulting service's events (published here as it would publish them)
drive reminders that move and cancel with the session, the recap, and action-item reminders, nudges and
escalations. KPI reminders run on the clock. A real SMTP server counts what goes out, and the worker's
clock is moved to each due time."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, date, datetime, timedelta
from email.message import EmailMessage
from zoneinfo import ZoneInfo

import nats
import pytest
from google.protobuf import any_pb2
from google.protobuf.message import Message
from google.type import date_pb2
from hub.events.v1 import companies_pb2 as companies_ev
from hub.events.v1 import consulting_pb2 as consulting_ev
from hub.events.v1 import envelope_pb2
from hub.notifications.v1 import notifications_pb2 as pb
from hub.ops.v1 import ops_pb2
from nats.js import JetStreamContext

from hubcore.db import uuid7
from hublocal.mailsink import MailSink
from hublocal.natsserver import NatsServer
from services.notifications import domain, rules
from tests.conftest import ADMIN, RunningConsulting, RunningNotifications, eventually

SEOUL = domain.SEOUL


@pytest.fixture
async def js(nats_server: NatsServer) -> AsyncIterator[JetStreamContext]:
    nc = await nats.connect(nats_server.url)
    yield nc.jetstream()
    await nc.close()


class Publisher:
    def __init__(self, js: JetStreamContext) -> None:
        self.js = js
        self.versions: dict[str, int] = {}

    async def __call__(self, subject: str, subject_id: str, payload: Message, at: datetime | None = None) -> None:
        self.versions[subject_id] = self.versions.get(subject_id, 0) + 1
        packed = any_pb2.Any()
        packed.Pack(payload)
        envelope = envelope_pb2.Envelope(
            id=uuid7(), type=subject, source=subject.split(".")[1], subject_id=subject_id,
            version=self.versions[subject_id], payload=packed,
        )  # fmt: skip
        envelope.occurred_at.FromDatetime((at or datetime.now(UTC)).astimezone(UTC))
        await self.js.publish(subject, envelope.SerializeToString(), headers={"Nats-Msg-Id": envelope.id})


async def follow_ups(notifications: RunningNotifications, filter: str) -> list[pb.FollowUp]:
    listed = await notifications.api.ListFollowUps(pb.ListFollowUpsRequest(filter=filter), metadata=ADMIN)
    return list(listed.follow_ups)


async def mail_count(sink: MailSink, count: int) -> bool:
    return len(sink.messages) == count


def session(start: datetime, state: str = "SCHEDULED") -> consulting_ev.SessionSnapshot:
    snapshot = consulting_ev.SessionSnapshot(
        name="sessions/12", company="companies/3", mentor="mentors/4", mentor_name="박교수",
        session_type_name="1:1 기술 자문", room="rooms/2", agenda="GPU 클러스터 활용", state=state,
    )  # fmt: skip
    snapshot.start_time.FromDatetime(start.astimezone(UTC))
    snapshot.end_time.FromDatetime((start + timedelta(hours=1)).astimezone(UTC))
    return snapshot


async def people(publish: Publisher, notifications: RunningNotifications) -> None:
    company = companies_ev.CompanySnapshot(name="companies/3", korean_name="메디비전", status="SELECTED")
    await publish("hub.companies.company.registered", company.name, companies_ev.CompanyRegistered(company=company))
    for n, email in ((7, "seoyeon@medivision.kr"), (8, "junho@medivision.kr")):
        person = companies_ev.PersonSnapshot(name=f"people/{n}", korean_name="김서연", email=email,
                                             company="companies/3", role="FOUNDER")  # fmt: skip
        await publish("hub.companies.person.registered", person.name, companies_ev.PersonRegistered(person=person))

    async def known() -> bool:
        listed = await notifications.api.ListRecipients(pb.ListRecipientsRequest(filter="kind=PERSON"), metadata=ADMIN)
        return len(listed.recipients) == 2

    await eventually(known, timeout=20)


async def test_session_reminders_move_with_the_session_and_stop_when_it_is_cancelled(
    notifications: RunningNotifications, js: JetStreamContext, mail_sink: MailSink
) -> None:
    publish = Publisher(js)
    await people(publish, notifications)
    start = datetime.now(SEOUL).replace(microsecond=0) + timedelta(days=3)
    await publish("hub.consulting.session.scheduled", "sessions/12",
                  consulting_ev.SessionScheduled(session=session(start)))  # fmt: skip

    async def pending() -> list[pb.FollowUp]:
        found = await follow_ups(notifications, "entity=sessions/12 AND state=PENDING")
        return found if len(found) == 2 else []

    planned = await eventually(pending, timeout=20)
    assert {f.rule for f in planned} == {rules.SESSION_REMINDER_24H, rules.SESSION_REMINDER_1H}

    # Moved two days later: the old reminders are cancelled, new ones planned for the new time.
    moved = start + timedelta(days=2)
    await publish("hub.consulting.session.rescheduled", "sessions/12",
                  consulting_ev.SessionRescheduled(session=session(moved)))  # fmt: skip

    async def moved_ones() -> list[pb.FollowUp]:
        found = await follow_ups(notifications, "entity=sessions/12 AND state=PENDING")
        return found if {f.occasion for f in found} == {moved.astimezone(UTC).isoformat()} else []

    [first, _] = sorted(await eventually(moved_ones, timeout=20), key=lambda f: f.due_time.seconds)
    assert first.due_time.ToDatetime(tzinfo=UTC) == moved - timedelta(hours=24)
    assert len(await follow_ups(notifications, "entity=sessions/12 AND state=CANCELLED")) == 2

    # A day before: both of the company's people get the reminder, with the time in Seoul.
    notifications.clock.move_to(moved - timedelta(hours=24) + timedelta(seconds=1))
    await eventually(lambda: mail_count(mail_sink, 2), timeout=20)
    body = mail_sink.messages[0].get_content()
    assert domain.format_datetime(moved, SEOUL, "ko") in body and "박교수" in body
    notes = (await follow_ups(notifications, f"rule={rules.SESSION_REMINDER_24H} AND state=DISPATCHED"))[0].note
    assert "mentors/4" in notes, "the mentor has no address in any event yet: named as unknown"

    # Cancelled: the 1-hour reminder never goes.
    notifications.clock.offset = timedelta()
    await publish("hub.consulting.session.cancelled", "sessions/12",
                  consulting_ev.SessionCancelled(session=session(moved, "CANCELLED")))  # fmt: skip

    async def all_cancelled() -> bool:
        return not await follow_ups(notifications, "entity=sessions/12 AND state=PENDING")

    await eventually(all_cancelled, timeout=20)
    notifications.clock.move_to(moved)
    assert await notifications.scheduler.tick() == 0
    assert len(mail_sink.messages) == 2


async def test_an_event_that_cannot_be_handled_is_dead_lettered_at_once_and_the_next_goes_on(
    notifications: RunningNotifications, js: JetStreamContext
) -> None:
    """A session at 0001-01-01 (from before the services bounded times): its reminder would fall before year
    1. Retrying cannot help, so the first delivery makes it a dead letter with its reason, and the session
    published after it gets its reminders."""
    publish = Publisher(js)
    await people(publish, notifications)
    poisoned = session(datetime(1, 1, 1, 0, 30, tzinfo=UTC))
    await publish("hub.consulting.session.scheduled", "sessions/12", consulting_ev.SessionScheduled(session=poisoned))
    fine = session(datetime.now(SEOUL).replace(microsecond=0) + timedelta(days=3))
    fine.name = "sessions/13"
    await publish("hub.consulting.session.scheduled", "sessions/13", consulting_ev.SessionScheduled(session=fine))

    async def dead() -> list[ops_pb2.DeadLetter]:
        listed = await notifications.ops.ListDeadLetters(ops_pb2.ListDeadLettersRequest(), metadata=ADMIN)
        return list(listed.dead_letters)

    [letter] = await eventually(dead, timeout=20)
    assert letter.event_type == "hub.consulting.session.scheduled" and letter.deliveries == 1
    assert letter.error.startswith("cannot be handled: OverflowError"), letter.error

    async def planned() -> list[pb.FollowUp]:
        return await follow_ups(notifications, "entity=sessions/13 AND state=PENDING")

    assert len(await eventually(planned, timeout=20)) == 2
    assert await follow_ups(notifications, "entity=sessions/12") == []
    assert len(await dead()) == 1


async def test_a_completed_session_sends_its_recap_and_its_action_items_are_followed(
    notifications: RunningNotifications, js: JetStreamContext, mail_sink: MailSink
) -> None:
    publish = Publisher(js)
    await people(publish, notifications)
    start = datetime.now(SEOUL).replace(microsecond=0) - timedelta(hours=2)
    due = (start + timedelta(days=7)).date()
    item = consulting_ev.ActionItemSnapshot(
        name="actionItems/5", session="sessions/12", company="companies/3", mentor="mentors/4",
        description="벤치마크 정리", owner="people/7", state="OPEN",
        due_date=date_pb2.Date(year=due.year, month=due.month, day=due.day),
    )  # fmt: skip
    completed = consulting_ev.SessionCompleted(session=session(start, "COMPLETED"), notes="경량화 논의",
                                               action_items=[item.name])  # fmt: skip
    await publish("hub.consulting.session.completed", "sessions/12", completed)
    await publish("hub.consulting.action_item.created", item.name, consulting_ev.ActionItemCreated(action_item=item))

    [recap] = await eventually(lambda: follow_ups(notifications, f"rule={rules.SESSION_RECAP}"), timeout=20)
    notifications.clock.move_to(recap.due_time.ToDatetime(tzinfo=UTC) + timedelta(seconds=1))
    await eventually(lambda: mail_count(mail_sink, 2), timeout=20)
    body = mail_sink.messages[0].get_content()
    assert "경량화 논의" in body and "벤치마크 정리" in body and domain.format_date(due, "ko") in body
    # The owner is named as a person, not by a resource name.
    assert "담당: 김서연" in body and "people/7" not in body

    # The day before it falls due, its owner (and only the owner) is reminded at 09:00 Seoul time.
    [reminder] = await follow_ups(notifications, f"rule={rules.ACTION_ITEM_REMINDER}")
    eve = datetime.combine(due - timedelta(days=1), datetime.min.time(), tzinfo=SEOUL).replace(hour=9)
    assert reminder.due_time.ToDatetime(tzinfo=UTC) == eve
    notifications.clock.move_to(eve + timedelta(seconds=1))
    await eventually(lambda: mail_count(mail_sink, 3), timeout=20)
    assert "seoyeon@medivision.kr" in str(mail_sink.messages[-1]["To"])
    assert "김서연" in mail_sink.messages[-1].get_content() and "people/7" not in mail_sink.messages[-1].get_content()

    # Overdue: a nudge now, and the managers after the grace period unless it is done meanwhile.
    overdue_at = datetime.combine(due + timedelta(days=1), datetime.min.time(), tzinfo=SEOUL)
    notifications.clock.move_to(overdue_at)
    await publish("hub.consulting.action_item.overdue", item.name, consulting_ev.ActionItemOverdue(action_item=item),
                  at=overdue_at)  # fmt: skip
    await eventually(lambda: mail_count(mail_sink, 4), timeout=20)
    [escalation] = await eventually(
        lambda: follow_ups(notifications, f"rule={rules.ACTION_ITEM_ESCALATION} AND state=PENDING"), timeout=20
    )
    item.state = "DONE"
    await publish(
        "hub.consulting.action_item.completed", item.name, consulting_ev.ActionItemCompleted(action_item=item)
    )
    await eventually(
        lambda: follow_ups(notifications, f"rule={rules.ACTION_ITEM_ESCALATION} AND state=CANCELLED"), timeout=20
    )
    notifications.clock.move_to(escalation.due_time.ToDatetime(tzinfo=UTC) + timedelta(hours=1))
    assert await notifications.scheduler.tick() == 0
    assert len(mail_sink.messages) == 4 and not [m for m in mail_sink.messages if "pm@" in str(m["To"])]
    assert date.today()  # the dates above are relative to today, so the test holds on any day


async def test_the_real_consulting_service_drives_reminders(
    consulting: RunningConsulting, notifications: RunningNotifications, js: JetStreamContext
) -> None:
    """Through the consulting service's own API and events: schedule, move, cancel."""
    from hub.consulting.v1 import consulting_pb2 as spb

    from tests.integration.consulting_world import (
        future_monday,
        interval,
        know_company,
        make_mentor,
        make_type,
        schedule_request,
    )  # fmt: skip

    company = await know_company(consulting, 3)
    mentor, kind = await make_mentor(consulting), await make_type(consulting)
    start = future_monday()
    made = await consulting.consulting.ScheduleSession(schedule_request(company, mentor, kind, start), metadata=ADMIN)

    async def reminders(occasion: datetime) -> list[pb.FollowUp]:
        found = await follow_ups(notifications, f"entity={made.name} AND state=PENDING")
        return found if {f.occasion for f in found} == {occasion.isoformat()} and len(found) == 2 else []

    planned = await eventually(lambda: reminders(start), timeout=20)
    assert {f.due_time.ToDatetime(tzinfo=UTC) for f in planned} == {
        start - timedelta(hours=24),
        start - timedelta(hours=1),
    }
    moved = start + timedelta(days=1)
    await consulting.consulting.RescheduleSession(
        spb.RescheduleSessionRequest(name=made.name, interval=interval(moved), reason="멘토 일정"), metadata=ADMIN
    )
    await eventually(lambda: reminders(moved), timeout=20)
    await consulting.consulting.CancelSession(
        spb.CancelSessionRequest(name=made.name, reason="회사 사정"), metadata=ADMIN
    )

    async def none_pending() -> bool:
        return not await follow_ups(notifications, f"entity={made.name} AND state=PENDING")

    await eventually(none_pending, timeout=20)
    assert len(await follow_ups(notifications, f"entity={made.name} AND state=CANCELLED")) == 4


async def test_kpi_reminders_on_the_clock_once_and_cancelled_by_a_report(
    notifications: RunningNotifications, js: JetStreamContext, mail_sink: MailSink
) -> None:
    """The clock's rule, with the company and KPI events the companies service publishes."""
    from services.notifications.handlers import Handlers
    from tests.conftest import notify_config

    publish = Publisher(js)
    # The quarter's report first: the people registered after it are the sign that it was taken in (one
    # consumer, stream order).
    quarter = companies_ev.KpiReported(report="kpiReports/1", company="companies/2", period="2026-Q4", version=1)
    await publish("hub.companies.kpi.reported", "companies/2/kpi/2026-Q4", quarter)
    for n, status in ((1, "RESIDENT"), (2, "RESIDENT"), (3, "SELECTED")):
        company = companies_ev.CompanySnapshot(name=f"companies/{n}", korean_name=f"회사{n}", status=status)
        await publish("hub.companies.company.registered", company.name, companies_ev.CompanyRegistered(company=company))
        person = companies_ev.PersonSnapshot(name=f"people/{n}", korean_name=f"사람{n}", email=f"ceo@c{n}.kr",
                                             company=company.name, role="FOUNDER")  # fmt: skip
        await publish("hub.companies.person.registered", person.name, companies_ev.PersonRegistered(person=person))

    async def known() -> bool:
        listed = await notifications.api.ListRecipients(pb.ListRecipientsRequest(filter="kind=PERSON"), metadata=ADMIN)
        return len(listed.recipients) == 3

    await eventually(known, timeout=20)
    clock = notifications.clock
    clock.move_to(datetime(2026, 12, 3, 10, tzinfo=SEOUL))
    rules_on_clock = Handlers(notify_config(mail_sink), clock)

    async def planned_once() -> bool:  # the quarterly report arrived: only companies/1 is missing November
        return await rules_on_clock.clock_rules(notifications.runtime.db) == 0 and bool(
            await follow_ups(notifications, f"rule={rules.KPI_REMINDER}")
        )

    await eventually(planned_once, timeout=20)
    [reminder] = await follow_ups(notifications, f"rule={rules.KPI_REMINDER}")
    assert (reminder.entity, reminder.occasion) == ("companies/1", "2026-11")
    assert reminder.due_time.ToDatetime(tzinfo=UTC) == datetime(2026, 12, 7, 9, tzinfo=SEOUL)

    clock.move_to(datetime(2026, 12, 7, 9, 0, 1, tzinfo=SEOUL))
    [mail] = await eventually(lambda: _mail(mail_sink), timeout=20)
    assert str(mail["To"]).endswith("<ceo@c1.kr>") and "2026-11 KPI" in str(mail["Subject"])

    # December's reminder is planned in January; a report filed before its day cancels it for good.
    clock.move_to(datetime(2027, 1, 4, 10, tzinfo=SEOUL))
    assert await rules_on_clock.clock_rules(notifications.runtime.db) == 1  # companies/2: Q4 covers December
    december = companies_ev.KpiReported(report="kpiReports/2", company="companies/1", period="2026-12", version=1)
    await publish("hub.companies.kpi.reported", "companies/1/kpi/2026-12", december)

    async def cancelled() -> list[pb.FollowUp]:
        return await follow_ups(notifications, f"rule={rules.KPI_REMINDER} AND state=CANCELLED")

    [gone] = await eventually(cancelled, timeout=20)
    assert gone.entity == "companies/1" and await rules_on_clock.clock_rules(notifications.runtime.db) == 0
    assert len(await cancelled()) == 1, "the clock does not bring back a reminder a report cancelled"


async def _mail(sink: MailSink) -> list[EmailMessage]:
    return [m for m in sink.messages if "KPI" in str(m["Subject"])]  # (the people got their welcome too)


async def test_mentors_become_recipients_through_the_consulting_service(
    consulting: RunningConsulting, notifications: RunningNotifications, mail_sink: MailSink
) -> None:
    """A mentor registered in consulting gets the session's reminders at their address, in their time zone;
    a changed address in consulting is where the next one goes."""
    from google.protobuf.field_mask_pb2 import FieldMask
    from hub.consulting.v1 import consulting_pb2 as spb

    from tests.integration.consulting_world import future_monday, know_company, make_type, schedule_request, week

    company = await know_company(consulting, 3)
    mentor = await consulting.consulting.CreateMentor(
        spb.CreateMentorRequest(mentor=spb.Mentor(
            korean_name="이지은", english_name="Jieun Lee", kind=spb.MENTOR_KIND_EXPERT, email="jieun@kaist.example",
            weekly_availability=week(),
        )),
        metadata=ADMIN,
    )  # fmt: skip
    kind = await make_type(consulting)
    start = future_monday()
    made = await consulting.consulting.ScheduleSession(schedule_request(company, mentor, kind, start), metadata=ADMIN)

    async def planned() -> list[pb.FollowUp]:
        found = await follow_ups(notifications, f"entity={made.name} AND state=PENDING")
        return found if len(found) == 2 else []

    await eventually(planned, timeout=20)
    notifications.clock.move_to(start - timedelta(hours=24) + timedelta(seconds=1))
    await eventually(lambda: mail_count(mail_sink, 1), timeout=20)
    [first] = mail_sink.messages
    assert "jieun@kaist.example" in str(first["To"])
    assert domain.format_datetime(start, SEOUL, "ko") in first.get_content()

    # Moved to Stanford: the address and the time zone change in consulting, the 1-hour reminder follows.
    changed = spb.Mentor(name=mentor.name, email="jieun@stanford.example", time_zone="America/Los_Angeles",
                         etag=mentor.etag)  # fmt: skip
    await consulting.consulting.UpdateMentor(
        spb.UpdateMentorRequest(mentor=changed, update_mask=FieldMask(paths=["email", "time_zone"])), metadata=ADMIN
    )

    async def moved() -> bool:
        found = await notifications.api.ListRecipients(pb.ListRecipientsRequest(filter=f"source={mentor.name}"),
                                                       metadata=ADMIN)  # fmt: skip
        return bool(found.recipients) and found.recipients[0].email == "jieun@stanford.example"

    await eventually(moved, timeout=20)
    notifications.clock.move_to(start - timedelta(hours=1) + timedelta(seconds=1))
    await eventually(lambda: mail_count(mail_sink, 2), timeout=20)
    second = mail_sink.messages[-1]
    assert "jieun@stanford.example" in str(second["To"])
    assert domain.format_datetime(start, ZoneInfo("America/Los_Angeles"), "ko") in second.get_content()
