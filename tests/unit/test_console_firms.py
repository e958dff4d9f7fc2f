"""What the console's firm and preference forms send, without a hub: tickets typed the Korean way, a thesis read
from its form, the update mask of only the fields changed, quiet hours, and the recipients' Hangul search."""

from __future__ import annotations

import pytest
from hub.investors.v1 import investors_pb2 as ipb
from hub.notifications.v1 import notifications_pb2 as npb
from starlette.datastructures import FormData

from hubcore.korean import read_krw
from services.console.pages import firms, recipients


@pytest.mark.parametrize(
    ("typed", "won"),
    [("500000000", 500_000_000), ("500,000,000", 500_000_000), ("5억", 500_000_000), ("10억 5,000만", 1_050_000_000),
     ("5000만 원", 50_000_000), ("1조 2000억", 1_200_000_000_000), ("9000원", 9_000)],
)  # fmt: skip
def test_amounts_are_read_as_people_type_them(typed: str, won: int) -> None:
    assert read_krw(typed) == won


@pytest.mark.parametrize("typed", ["", "오억", "1.5억", "-3", "5만억"])
def test_what_is_not_an_amount_is_none(typed: str) -> None:
    assert read_krw(typed) is None


def test_a_thesis_is_read_from_its_form() -> None:
    form = FormData([
        ("title", " 의료 AI "), ("sector", "MEDICAL"), ("sector", "NOT_A_SECTOR"), ("stage", "SEED"),
        ("ticket_min", "1억"), ("ticket_max", ""), ("geographies", "kr, us SG"),
    ])  # fmt: skip
    thesis = firms.thesis_of(form)
    assert (thesis.title, list(thesis.sectors), list(thesis.stages)) == ("의료 AI", ["MEDICAL"], ["SEED"])
    assert thesis.ticket_min.units == 100_000_000 and not thesis.HasField("ticket_max")
    assert list(thesis.geographies) == ["KR", "US", "SG"]
    assert firms.has_thesis(form) and not firms.has_thesis(FormData([("ticket_min", " ")]))
    with pytest.raises(firms.NotAnAmount):
        firms.thesis_of(FormData([("ticket_max", "삼십억")]))


def test_an_edit_sends_only_the_fields_changed() -> None:
    current = ipb.Firm(korean_name="새봄벤처스", website="https://saebom.vc", type=ipb.FIRM_TYPE_VC)
    wanted = ipb.Firm(korean_name="새봄벤처스", english_name="Saebom", website="https://saebom.vc")
    wanted.type = ipb.FIRM_TYPE_CVC
    assert firms.changed(current, wanted, (*firms.FIRM_FIELDS, "type")) == ["english_name", "type"]


def test_quiet_hours_are_times_of_day() -> None:
    assert recipients.time_of_day("22:30") == recipients.time_of_day("22:30:00")
    made = recipients.time_of_day("07:05")
    assert made is not None and (made.hours, made.minutes) == (7, 5) and recipients.clock(made) == "07:05"
    assert recipients.time_of_day("") is None and recipients.time_of_day("7시") is None


def test_recipients_are_found_by_a_part_of_their_hangul_name_or_email() -> None:
    kim = npb.Recipient(korean_name="김서연", english_name="Seoyeon Kim", email="seoyeon@medivision.kr")
    assert recipients.matches(kim, "서연") and recipients.matches(kim, "seoyeon KIM")
    assert recipients.matches(kim, "medivision") and not recipients.matches(kim, "이준호")
