"""Writing amounts and times the way Korean readers do, shared by the services (messages) and hubctl (tables)."""

from __future__ import annotations

import re
from datetime import date, datetime
from zoneinfo import ZoneInfo

UNITS = ((10**12, "조"), (10**8, "억"), (10**4, "만"))


def format_krw(amount: int, language: str = "ko") -> str:
    """Korean: 15억 원, 15억 3,000만 원, 1조 2,000억 원, 3,500만 원, 9,000원 (remainders under 10,000 won
    are dropped once a larger unit is present, as people write them). Other languages: ₩1,500,000,000."""
    if language != "ko":
        return f"-₩{-amount:,}" if amount < 0 else f"₩{amount:,}"
    sign, rest = ("-" if amount < 0 else ""), abs(amount)
    if rest < 10**4:
        return f"{sign}{rest:,}원"
    parts = []
    for unit, label in UNITS:
        count, rest = divmod(rest, unit)
        if count:
            parts.append(f"{count:,}{label}")
    return f"{sign}{' '.join(parts)} 원"


def read_krw(text: str) -> int | None:
    """An amount as people type it: 1500000000, 1,500,000,000, 15억, 15억 5000만, 5000만 원 → won; None when it
    is not one."""
    compact = text.replace(",", "").replace(" ", "").removesuffix("원")
    match = re.fullmatch(r"(?:(\d+)조)?(?:(\d+)억)?(?:(\d+)만)?(\d+)?", compact)
    if not compact or not match or not any(match.groups()):
        return None
    jo, eok, man, units = (int(g) if g else 0 for g in match.groups())
    return jo * 10**12 + eok * 10**8 + man * 10**4 + units


def held_mail(count: int, until: datetime, tz: ZoneInfo, today: date) -> str:
    """Mail held by quiet hours: "조용한 시간: 메일 3통이 08:00(KST)에 발송됩니다" (with the day when it is not
    today; count 0: what is sent from now on waits), then the same in English."""
    local = until.astimezone(tz)
    day = "" if local.date() == today else f"{local.month}월 {local.day}일 "
    at = f"{local:%H:%M}({local:%Z})"
    if not count:
        return (
            f"조용한 시간: 지금 보내는 메일은 {day}{at}에 발송됩니다 (quiet hours: email waits until {local:%H:%M %Z})"
        )
    return (
        f"조용한 시간: 메일 {count}통이 {day}{at}에 발송됩니다 (quiet hours: {count} emails leave at {local:%H:%M %Z})"
    )
