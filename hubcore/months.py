"""Month-by-month running totals for the dashboards' charts. Months are Asia/Seoul months; each total is
counted in SQL as "rows before the month's end", one sum per month in one query, so it reads the same on
SQLite and PostgreSQL and costs one pass over the rows counted, whatever the number of months."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

import sqlalchemy as sa

from hubcore.convert import SEOUL

DEFAULT_MONTHS, MAX_MONTHS = 12, 60


def last_months(count: int, today: date) -> list[tuple[str, datetime]]:
    """The `count` months up to today's, oldest first: ("2026-03", the instant the month ends, in UTC)."""
    months = []
    year, month = today.year, today.month
    for _ in range(count):
        following = date(year + (month == 12), month % 12 + 1, 1)
        end = datetime(following.year, following.month, 1, tzinfo=SEOUL).astimezone(UTC)
        months.append((f"{year:04d}-{month:02d}", end))
        year, month = (year - 1, 12) if month == 1 else (year, month - 1)
    return months[::-1]


def running_totals(moment: Any, ends: list[datetime], weight: Any = 1) -> list[Any]:
    """One column per end: how many rows have `moment` before it (0 when there are none), each row counting
    `weight` (a column: a row that stands for several)."""
    return [sa.func.coalesce(sa.func.sum(sa.case((moment < end, weight), else_=0)), 0) for end in ends]
