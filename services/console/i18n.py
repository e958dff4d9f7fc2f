"""Korean first, English on request: message catalogs (gettext .po files under locale/, read with Babel when the
console starts, so nothing is compiled or generated), one Jinja environment per language, and the ways people
here read numbers, amounts and times (1억 2,000만 원, 2026년 12월 5일 (토) 오후 2:00, in Asia/Seoul)."""

from __future__ import annotations

import gettext
import io
from collections.abc import Callable
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import jinja2
from babel.dates import format_date, format_datetime, get_day_names
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.numbers import format_decimal
from babel.support import Translations
from google.protobuf.timestamp_pb2 import Timestamp
from google.type import date_pb2

from hubcore.korean import format_krw
from services.console.labels import LABELS, enum_name
from services.console.session import LANGUAGES

HERE = Path(__file__).parent
LOCALES = HERE / "locale"
DOMAIN = "console"


def translations(language: str) -> gettext.NullTranslations:
    """The catalog of a language (English is the messages as written)."""
    po = LOCALES / language / "LC_MESSAGES" / f"{DOMAIN}.po"
    if not po.exists():
        return gettext.NullTranslations()
    with po.open("rb") as f:
        catalog = read_po(f, locale=language, domain=DOMAIN)
    compiled = io.BytesIO()
    write_mo(compiled, catalog)
    compiled.seek(0)
    return Translations(compiled, domain=DOMAIN)


class Formats:
    """How one language writes what the pages show."""

    def __init__(self, language: str, time_zone: str) -> None:
        self.language = language
        self.zone = ZoneInfo(time_zone)

    def when(self, value: Timestamp | datetime | None, pattern: str = "medium") -> str:
        moment = _moment(value)
        if moment is None:
            return ""
        if pattern == "medium":
            pattern = "y년 M월 d일 (E) a h:mm" if self.language == "ko" else "EEE d MMM y, HH:mm"
        return format_datetime(moment, pattern, tzinfo=self.zone, locale=self.language)

    def day(self, value: Timestamp | datetime | date | date_pb2.Date | None) -> str:
        if isinstance(value, date_pb2.Date):
            shown: date | None = date(value.year, value.month, value.day) if value.year else None
        elif isinstance(value, date) and not isinstance(value, datetime):
            shown = value
        else:
            moment = _moment(value)
            shown = moment.astimezone(self.zone).date() if moment else None
        if shown is None:
            return ""
        return format_date(shown, "y년 M월 d일 (E)" if self.language == "ko" else "EEE d MMM y", locale=self.language)

    def clock(self, value: Timestamp | datetime | None) -> str:
        """The time of day alone: 오후 2:30, 14:30."""
        moment = _moment(value)
        if moment is None:
            return ""
        return format_datetime(moment, "a h:mm" if self.language == "ko" else "HH:mm", tzinfo=self.zone,
                               locale=self.language)  # fmt: skip

    def span(self, start: Timestamp | datetime | None, end: Timestamp | datetime | None) -> str:
        """From one time of day to another, the half of the day said once where it does not change: 오전 10:00–11:00,
        오전 11:00–오후 12:30, 10:00–11:00."""
        first, last = self.clock(start), self.clock(end)
        if self.language == "ko" and first[:2] == last[:2]:
            last = last[2:].strip()
        return f"{first}–{last}" if last else first

    def period(self, start: Timestamp | None, end: Timestamp | None) -> str:
        """From one moment to another; whole days (midnight to midnight here) as the days they cover."""
        first, last = _moment(start), _moment(end)
        if first is None or last is None:
            return self.when(first or last)
        first, last = first.astimezone(self.zone), last.astimezone(self.zone)
        if first.time() == last.time() == time(0):
            final = (last - timedelta(days=1)).date()
            return self.day(first) if final <= first.date() else f"{self.day(first)} – {self.day(final)}"
        if first.date() == last.date():
            return f"{self.day(first)} {self.span(first, last)}"
        return f"{self.when(first)} – {self.when(last)}"

    def short_day(self, value: date) -> str:
        """A day of a week already named: 3월 2일 (월), Mon 2 Mar."""
        return format_date(value, "M월 d일 (E)" if self.language == "ko" else "EEE d MMM", locale=self.language)

    def month(self, label: str, with_year: bool = True) -> str:
        """A month as the services name it ("2026-03"), as the language says it: 2026년 3월 (3월), Mar 2026 (Mar)."""
        year, month = map(int, label.split("-"))
        if self.language == "ko":
            return f"{year}년 {month}월" if with_year else f"{month}월"
        return format_date(date(year, month, 1), "MMM y" if with_year else "MMM", locale=self.language)

    def weekday(self, number: int) -> str:
        """google.type.DayOfWeek (1 = Monday) as the language abbreviates it: 월, Mon."""
        return str(get_day_names("abbreviated", locale=self.language)[(number - 1) % 7])

    def weekday_name(self, number: int) -> str:
        """google.type.DayOfWeek (1 = Monday) in full: 월요일, Monday."""
        return str(get_day_names("wide", locale=self.language)[(number - 1) % 7])

    def number(self, value: float | int) -> str:
        return format_decimal(value, locale=self.language)

    def won(self, value: Any) -> str:
        units = getattr(value, "units", value)
        return format_krw(int(units or 0), self.language)

    def percent(self, part: float, whole: float) -> int:
        return min(100, round(100 * part / whole)) if whole else 0


def _moment(value: Timestamp | datetime | None) -> datetime | None:
    if value is None:
        return None
    if isinstance(value, Timestamp):
        if not value.seconds and not value.nanos:
            return None
        return value.ToDatetime(tzinfo=UTC)
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def environments(time_zone: str, globals_: dict[str, Any]) -> dict[str, jinja2.Environment]:
    """A Jinja environment per language: the templates, the catalog's gettext, the language's formats."""
    made = {}
    for language in LANGUAGES:
        env = jinja2.Environment(
            loader=jinja2.FileSystemLoader(HERE / "templates"),
            autoescape=True,
            extensions=["jinja2.ext.i18n"],
            undefined=jinja2.StrictUndefined,
            trim_blocks=True,
            lstrip_blocks=True,
        )
        env.install_gettext_translations(translations(language), newstyle=True)  # type: ignore[attr-defined]
        formats = Formats(language, time_zone)
        translate = translations(language).gettext

        def label(short: str, translate: Callable[[str], str] = translate) -> str:
            return translate(LABELS[short]) if short in LABELS else short

        def enum(message: Any, field: str, label: Callable[[str], str] = label) -> str:
            return label(enum_name(message, field))

        filters: dict[str, Callable[..., Any]] = {
            "when": formats.when, "day": formats.day, "number": formats.number, "won": formats.won, "enum": enum,
            "label": label, "short": enum_name, "clock": formats.clock, "span": formats.span, "period": formats.period,
            "short_day": formats.short_day, "weekday": formats.weekday, "weekday_name": formats.weekday_name,
            "month": formats.month,
        }  # fmt: skip
        env.filters.update(filters)
        env.globals.update(globals_ | {"percent": formats.percent, "language": language})
        made[language] = env
    return made


def gettext_for(language: str) -> Callable[[str], str]:
    """The language's gettext; its catalog read once (reading it compiles the .po file: milliseconds a call)."""
    if language not in _CATALOGS:
        _CATALOGS[language] = translations(language)
    return _CATALOGS[language].gettext


_CATALOGS: dict[str, gettext.NullTranslations] = {}
