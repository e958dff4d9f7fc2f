"""Messages from templates: templates/<language>/<rule>.txt, Jinja2, each with a subject and a body block.

Templates see the follow-up's context (what the rule recorded) and the recipient's name; the filters
`when` (a timestamp in the recipient's time zone), `day` (a date) and `krw` (an amount in won) write them
the way the recipient's language does."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import jinja2

from hubcore.korean import format_krw
from services.notifications import domain

TEMPLATES = Path(__file__).parent / "templates"


@dataclass(frozen=True)
class Message:
    subject: str
    body: str

    @property
    def text(self) -> str:
        """One text for chat (Slack's `text`): the subject in bold, then the body."""
        return f"*{self.subject}*\n{self.body}"


@jinja2.pass_context
def _when(ctx: jinja2.runtime.Context, value: str) -> str:
    return domain.format_datetime(datetime.fromisoformat(value), ctx["tz"], ctx["language"])


@jinja2.pass_context
def _day(ctx: jinja2.runtime.Context, value: str) -> str:
    return domain.format_date(date.fromisoformat(value), ctx["language"])


@jinja2.pass_context
def _krw(ctx: jinja2.runtime.Context, value: int | str) -> str:
    return format_krw(int(value), ctx["language"])


@jinja2.pass_context
def _name(ctx: jinja2.runtime.Context, korean: str, english: str = "") -> str:
    return domain.pick_name(korean, english, ctx["language"])


def _environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES),
        undefined=jinja2.StrictUndefined,  # a template naming a missing value fails its test, not a send
        autoescape=False,  # plain text mail and chat
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=False,
    )
    env.filters.update(when=_when, day=_day, krw=_krw)
    env.globals["name"] = _name
    return env


ENV = _environment()


def template_names(language: str) -> set[str]:
    return {p.stem for p in (TEMPLATES / language).glob("*.txt")}


def render(rule: str, language: str, tz: ZoneInfo, context: dict[str, Any], recipient_name: str) -> Message:
    language = language if language in domain.LANGUAGES else "ko"
    template = ENV.get_template(f"{language}/{rule}.txt")
    values = dict(context) | {"language": language, "tz": tz, "recipient_name": recipient_name}
    ctx = template.new_context(values)
    subject = "".join(template.blocks["subject"](ctx)).strip()
    body = "".join(template.blocks["body"](ctx)).strip() + "\n"
    return Message(subject=" ".join(subject.split()), body=body)
