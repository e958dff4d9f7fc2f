"""Each rule with a controllable clock: events in, the follow-ups they plan or cancel out."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from hub.events.v1 import companies_pb2 as companies_ev

from services.notifications import domain, kpi_rules, rules
from services.notifications.config import Config

NOW = datetime(2026, 12, 1, 1, 0, tzinfo=UTC)  # 10:00 in Seoul
CFG = Config()
COMPANY = companies_ev.CompanySnapshot(name="companies/3", korean_name="메디비전", english_name="MediVision")


def status_change(before: str, after: str) -> companies_ev.CompanyStatusChanged:
    company = companies_ev.CompanySnapshot()
    company.CopyFrom(COMPANY)
    company.status = after
    return companies_ev.CompanyStatusChanged(company=company, from_status=before, to_status=after, reason="심사")


def plans(actions: list[domain.Action]) -> dict[str, domain.Plan]:
    return {a.key: a for a in actions if isinstance(a, domain.Plan)}


def test_selection_congratulates_the_company_and_notes_it_for_the_managers() -> None:
    found = plans(rules.company_status_changed(status_change("APPLICANT", "SELECTED"), contacts=[], now=NOW, cfg=CFG))
    assert set(found) == {"company.status_note:companies/3:SELECTED", "company.selected:companies/3:SELECTED"}
    selected = found["company.selected:companies/3:SELECTED"]
    assert selected.audience == ("company:companies/3",) and selected.due_at == NOW
    assert selected.expires_at == NOW + timedelta(hours=CFG.expire_after_hours)
    assert selected.context["company_ko"] == "메디비전"
    note = found["company.status_note:companies/3:SELECTED"]
    assert note.audience == (domain.MANAGERS,) and note.context["reason"] == "심사"


def test_moving_in_welcomes_each_person_once() -> None:
    change = status_change("SELECTED", "RESIDENT")
    found = plans(rules.company_status_changed(change, contacts=["people/1", "people/2"], now=NOW, cfg=CFG))
    welcomes = {k: p for k, p in found.items() if p.rule == rules.COMPANY_WELCOME}
    assert set(welcomes) == {"company.welcome:companies/3:people/1", "company.welcome:companies/3:people/2"}
    assert welcomes["company.welcome:companies/3:people/1"].audience == ("recipient:people/1",)
    # The same event again (a redelivery) plans the same keys: the store keeps one of each.
    again = plans(rules.company_status_changed(change, contacts=["people/1", "people/2"], now=NOW, cfg=CFG))
    assert set(again) == set(found)


def test_graduation_only_notes_it_for_the_managers() -> None:
    found = plans(rules.company_status_changed(status_change("RESIDENT", "GRADUATED"), contacts=["people/1"],
                                               now=NOW, cfg=CFG))  # fmt: skip
    assert [p.rule for p in found.values()] == [rules.COMPANY_STATUS_NOTE]


def test_a_person_joining_a_resident_company_is_welcomed_but_not_elsewhere() -> None:
    person = companies_ev.PersonSnapshot(name="people/9", company="companies/3")
    resident = companies_ev.CompanySnapshot(name="companies/3", korean_name="메디비전", status="RESIDENT")
    [welcome] = rules.person_joined(person, resident, now=NOW, cfg=CFG)
    assert isinstance(welcome, domain.Plan) and welcome.key == "company.welcome:companies/3:people/9"
    selected = companies_ev.CompanySnapshot(name="companies/3", status="SELECTED")
    assert rules.person_joined(person, selected, now=NOW, cfg=CFG) == []
    assert rules.person_joined(person, None, now=NOW, cfg=CFG) == []
    archived = companies_ev.CompanySnapshot(name="companies/3", status="RESIDENT")
    archived.delete_time.GetCurrentTime()
    assert rules.person_joined(person, archived, now=NOW, cfg=CFG) == []


SEOUL = ZoneInfo("Asia/Seoul")
START = datetime(2026, 12, 3, 15, 0, tzinfo=SEOUL)


def session(state: str = "SCHEDULED", start: datetime = START) -> rules.SessionView:
    return rules.SessionView(
        name="sessions/12", company="companies/3", mentor="mentors/4", state=state, start=start,
        end=start + timedelta(hours=1), mentor_name="박교수", session_type="1:1 기술 자문", room="5층 A",
    )  # fmt: skip


def cancels(actions: list[domain.Action]) -> list[domain.Cancel]:
    return [a for a in actions if isinstance(a, domain.Cancel)]


def test_a_scheduled_session_gets_reminders_24_and_1_hours_ahead_to_the_company_and_the_mentor() -> None:
    actions = rules.session_changed(session(), now=NOW)
    found = plans(actions)
    occasion = START.isoformat()
    day, hour = (
        found[f"session.reminder_24h:sessions/12:{occasion}"],
        found[f"session.reminder_1h:sessions/12:{occasion}"],
    )
    assert day.due_at == START - timedelta(hours=24) and hour.due_at == START - timedelta(hours=1)
    assert day.audience == ("company:companies/3", "recipient:mentors/4") and day.expires_at == START
    [keep_current] = cancels(actions)
    assert keep_current.keep_occasions == (occasion,), "reminders of any other start time are cancelled"


def test_a_session_booked_at_short_notice_gets_only_the_reminders_still_ahead() -> None:
    soon = NOW + timedelta(hours=5)
    assert [p.rule for p in plans(rules.session_changed(session(start=soon), now=NOW)).values()] == [
        rules.SESSION_REMINDER_1H
    ]
    assert plans(rules.session_changed(session(start=NOW + timedelta(minutes=30)), now=NOW)) == {}


def test_a_moved_session_moves_its_reminders_and_a_cancelled_one_cancels_them() -> None:
    moved = START + timedelta(days=2)
    actions = rules.session_changed(session(start=moved), now=NOW)
    assert all(p.occasion == moved.isoformat() for p in plans(actions).values())
    assert cancels(actions)[0].keep_occasions == (moved.isoformat(),)
    for state in ("CANCELLED", "NO_SHOW", "COMPLETED"):
        [cancel] = rules.session_changed(session(state), now=NOW)
        assert isinstance(cancel, domain.Cancel) and cancel.keep_occasions == ()
        assert set(cancel.rules) == {rules.SESSION_REMINDER_24H, rules.SESSION_REMINDER_1H}


def test_the_recap_carries_notes_and_action_items_and_waits_for_them() -> None:
    item = rules.ActionItemView("actionItems/5", "sessions/12", "companies/3", "벤치마크 정리", "김서연",
                                date(2026, 12, 10))  # fmt: skip
    recap = rules.session_recap(session("COMPLETED"), "경량화 논의", [item], completed_at=NOW, cfg=CFG)
    assert recap.key == "session.recap:sessions/12:completed" and recap.due_at == NOW + timedelta(minutes=2)
    assert recap.context["notes"] == "경량화 논의"
    assert recap.context["action_items"] == [
        {"description": "벤치마크 정리", "owner": "김서연", "due_date": "2026-12-10"}
    ]


def test_missing_notes_nudge_the_mentor_when_due_and_written_notes_cancel_the_nudge() -> None:
    due = NOW + timedelta(hours=48)
    nudge = rules.session_notes_nudge(session("COMPLETED"), due, cfg=CFG)
    assert nudge.key == "session.notes_nudge:sessions/12:notes" and nudge.due_at == due
    assert nudge.audience == ("recipient:mentors/4",) and nudge.context["notes_due"] == due.isoformat()
    cancel = rules.notes_recorded(session("COMPLETED"))
    assert cancel.entity == "sessions/12" and cancel.rules == (rules.SESSION_NOTES_NUDGE,)


def test_a_rating_of_one_or_not_a_fit_goes_to_the_program_managers_and_nothing_else_does() -> None:
    extra = {"comment": "기대와 달랐습니다", "actor": "founder:accessTokens/ab", "reason": ""}
    for rating, fit in ((1, "GOOD_FIT"), (3, "NOT_A_FIT")):
        [plan] = rules.session_feedback(session("COMPLETED"), rating, fit, extra, now=NOW, cfg=CFG)
        assert isinstance(plan, domain.Plan) and plan.audience == (domain.MANAGERS,) and plan.due_at == NOW
        assert plan.key == "session.feedback_follow_up:sessions/12:feedback"
        assert (plan.context["rating"], plan.context["fit"], plan.context["comment"]) == (
            rating,
            fit,
            "기대와 달랐습니다",
        )
    for rating, fit in ((2, "STILL_DECIDING"), (4, "GOOD_FIT"), (2, "GOOD_FIT")):
        assert rules.session_feedback(session("COMPLETED"), rating, fit, extra, now=NOW, cfg=CFG) == []


def item(owner: str = "people/7", due: date | None = date(2026, 12, 10)) -> rules.ActionItemView:
    return rules.ActionItemView("actionItems/5", "sessions/12", "companies/3", "벤치마크 정리", owner, due)


def test_an_action_item_is_reminded_the_morning_before_it_falls_due() -> None:
    [reminder] = rules.action_item_created(item(), now=NOW)
    assert isinstance(reminder, domain.Plan)
    assert reminder.due_at == datetime(2026, 12, 9, 9, tzinfo=SEOUL) and reminder.audience == ("recipient:people/7",)
    [to_company] = plans(rules.action_item_created(item(owner="김서연"), now=NOW)).values()
    assert to_company.audience == ("company:companies/3",)
    assert rules.action_item_created(item(due=date(2026, 12, 1)), now=NOW) == []  # the eve has passed
    assert rules.action_item_created(item(due=None), now=NOW) == []


def test_an_overdue_item_nudges_now_and_escalates_after_the_grace_in_business_days() -> None:
    friday = date(2026, 9, 18)  # Chuseok falls on Thu 24 – Sat 26 September 2026
    overdue_at = datetime(2026, 9, 19, 0, 5, tzinfo=SEOUL)
    found = plans(rules.action_item_overdue(item(due=friday), now=overdue_at, cfg=CFG.with_(action_item_grace_days=4)))
    nudge = found["action_item.overdue:actionItems/5:2026-09-18"]
    assert nudge.due_at == overdue_at and nudge.audience == ("recipient:people/7",)
    escalation = found["action_item.escalation:actionItems/5:2026-09-18"]
    # Mon 21, Tue 22, Wed 23, (Thu 24, Fri 25 are Chuseok), Mon 28.
    assert escalation.due_at == datetime(2026, 9, 28, 9, tzinfo=SEOUL) and escalation.audience == (domain.MANAGERS,)
    [done] = rules.action_item_done(item())
    assert isinstance(done, domain.Cancel) and rules.ACTION_ITEM_ESCALATION in done.rules


def intro(state: str) -> rules.IntroductionView:
    return rules.IntroductionView("introductions/7", "companies/3", "firms/2", "partners/3", state,
                                  company_ko="메디비전", firm_ko="카이스트벤처스")  # fmt: skip


def test_an_introduction_asks_the_company_then_the_partner_and_nudges_in_business_days() -> None:
    [ask] = rules.introduction_changed(intro("REQUESTED"), at=NOW, now=NOW, cfg=CFG)
    assert isinstance(ask, domain.Plan) and ask.audience == ("company:companies/3",)
    consented_at = datetime(2026, 9, 22, 10, tzinfo=SEOUL)  # Tuesday before Chuseok
    found = plans(rules.introduction_changed(intro("COMPANY_CONSENTED"), at=consented_at, now=consented_at,
                                             cfg=CFG.with_(nudge_business_days=3)))  # fmt: skip
    assert found["introduction.answer_request:introductions/7:consented"].audience == ("recipient:partners/3",)
    # Wed 23, Mon 28, Tue 29 (Thu 24 – Fri 25 and the weekend are not business days) ...
    assert found["introduction.answer_nudge:introductions/7:consented"].due_at == datetime(
        2026, 9, 29, 10, tzinfo=SEOUL
    )
    # ... then Wed 30 Sep, Thu 1 Oct, Fri 2 Oct (Mon 5 Oct is the substitute for National Foundation Day).
    escalation = found["introduction.escalation:introductions/7:consented"]
    assert escalation.due_at == datetime(2026, 10, 2, 10, tzinfo=SEOUL) and escalation.audience == (domain.MANAGERS,)


def test_an_answer_stops_the_waiting_and_tells_the_company() -> None:
    for state in ("PARTNER_ACCEPTED", "PARTNER_DECLINED"):
        actions = rules.introduction_changed(intro(state), at=NOW, now=NOW, cfg=CFG)
        [cancel] = cancels(actions)
        assert set(cancel.rules) == {rules.INTRO_ANSWER_NUDGE, rules.INTRO_ESCALATION}
        [told] = plans(actions).values()
        assert told.rule == rules.INTRO_ANSWERED and told.context["answer"] == state
    for state in ("CANCELLED", "COMPANY_DECLINED"):
        assert plans(rules.introduction_changed(intro(state), at=NOW, now=NOW, cfg=CFG)) == {}


def test_a_closed_round_congratulates_the_company_and_notes_it_for_the_managers() -> None:
    round_ = rules.RoundView(
        "rounds/9", "companies/3", "SERIES_A", 1_500_000_000, lead_firm="firms/2", lead_firm_ko="카이스트벤처스",
        close_date=date(2026, 11, 30), company_ko="메디비전",
    )  # fmt: skip
    found = plans(rules.round_closed(round_, now=NOW, cfg=CFG))
    assert found["round.congratulations:rounds/9:closed"].audience == ("company:companies/3",)
    assert found["round.closed_note:rounds/9:closed"].audience == (domain.MANAGERS,)
    assert found["round.closed_note:rounds/9:closed"].context["amount"] == 1_500_000_000


def test_kpi_reminders_go_to_resident_companies_missing_last_months_report_on_the_fifth_business_day() -> None:
    residents = [kpi_rules.CompanyView("companies/1", "메디비전"), kpi_rules.CompanyView("companies/2", "닥터노트"),
                 kpi_rules.CompanyView("companies/3", "에듀마인드")]  # fmt: skip
    reported = {("companies/2", "2026-11"), ("companies/3", "2026-Q4")}  # a quarter's report covers its months
    [reminder] = kpi_rules.kpi_reminders(date(2026, 12, 3), residents, reported, cfg=CFG)
    assert isinstance(reminder, domain.Plan)
    assert reminder.key == "kpi.reminder:companies/1:2026-11" and reminder.audience == ("company:companies/1",)
    # Tue 1, Wed 2, Thu 3, Fri 4, Mon 7 December 2026: the fifth business day, 09:00 in Seoul.
    assert reminder.due_at == datetime(2026, 12, 7, 9, tzinfo=SEOUL)
    assert reminder.expires_at == datetime(2026, 12, 10, 9, tzinfo=SEOUL)  # not sent late
    # In January the month before is December, and New Year's Day is no business day.
    [january] = kpi_rules.kpi_reminders(date(2027, 1, 2), residents[:1], set(), cfg=CFG)
    assert isinstance(january, domain.Plan) and january.occasion == "2026-12"
    assert january.due_at == datetime(2027, 1, 8, 9, tzinfo=SEOUL)
    assert kpi_rules.months_covered("2026-Q4") == ["2026-10", "2026-11", "2026-12"]
    # A yearly report (graduates, the control group) covers its twelve months, and reports each of them.
    assert kpi_rules.months_covered("2026") == [f"2026-{m:02d}" for m in range(1, 13)]
    assert kpi_rules.kpi_reminders(date(2026, 12, 3), residents[:1], {("companies/1", "2026")}, cfg=CFG) == []
    # A company a KPI request asks for the month, or its quarter, gets the request's reminders instead.
    for asked in ({("companies/1", "2026-11")}, {("companies/1", "2026-Q4")}):
        assert kpi_rules.kpi_reminders(date(2026, 12, 3), residents, reported, cfg=CFG, requested=asked) == []


def kpi_request(state: str = "OPEN", due: date = date(2026, 12, 10)) -> companies_ev.KpiRequestChanged:
    event = companies_ev.KpiRequestChanged(
        request="kpiRequests/4", company="companies/1", period="2026-11", figures=["HEADCOUNT", "REVENUE"], state=state,
    )  # fmt: skip
    event.due_date.year, event.due_date.month, event.due_date.day = due.year, due.month, due.day
    return event


def test_an_open_kpi_request_is_reminded_before_its_due_date_and_nudged_after_an_answer_cancels_both() -> None:
    names = {"company_ko": "메디비전", "company_en": "MediVision"}
    opened_at = datetime(2026, 11, 2, 1, tzinfo=UTC)
    found = plans(kpi_rules.kpi_request_changed(kpi_request(), names, now=opened_at, cfg=CFG))
    reminder = found["kpi.request_reminder:kpiRequests/4:2026-11"]
    assert reminder.due_at == datetime(2026, 12, 7, 9, tzinfo=SEOUL) and reminder.audience == ("company:companies/1",)
    assert reminder.context["figures_ko"] == "인원, 매출" and reminder.context["due_day"] == "2026-12-10"
    nudge = found["kpi.request_overdue:kpiRequests/4:2026-11"]
    assert nudge.due_at == datetime(2026, 12, 11, 9, tzinfo=SEOUL) == reminder.expires_at
    # Opened two days before it falls due: the reminder goes at once.
    late = datetime(2026, 12, 8, 3, tzinfo=UTC)
    assert plans(kpi_rules.kpi_request_changed(kpi_request(), names, now=late, cfg=CFG))[reminder.key].due_at == late
    # Opened after it fell due: only the nudge.
    after = datetime(2026, 12, 12, tzinfo=UTC)
    assert list(plans(kpi_rules.kpi_request_changed(kpi_request(), names, now=after, cfg=CFG))) == [nudge.key]
    [cancel] = kpi_rules.kpi_request_changed(kpi_request("ANSWERED"), names, now=after, cfg=CFG)
    assert isinstance(cancel, domain.Cancel) and cancel.entity == "kpiRequests/4"
    assert set(cancel.rules) == {rules.KPI_REQUEST_REMINDER, rules.KPI_REQUEST_OVERDUE}
