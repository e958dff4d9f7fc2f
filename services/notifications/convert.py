"""Protos <-> domain objects for the notifications service: the API's resources (the *_pb functions), the
preference fields a caller sends, and the snapshot a delivery event carries. The servicer and the scheduler
import them; nothing here reads the database."""

from __future__ import annotations

from dataclasses import asdict

from google.type import timeofday_pb2
from hub.notifications.v1 import notifications_pb2 as pb

from hubcore import errors
from hubcore.convert import Writer, timestamp
from hubcore.requests import enum_number, parse_name, short_enum_name
from services.notifications import domain
from services.notifications.config import Config

follow_up_pb = Writer(pb.FollowUp, domain.FollowUp)
delivery_pb = Writer(
    pb.Delivery,
    domain.Delivery,
    refs={"follow_up": "followUps", "recipient": "recipients"},
    rename={"send_time": "sent_at"},
)
_recipient = Writer(pb.Recipient, domain.Recipient, skip=("preference",))


def time_of_day(minutes: int) -> timeofday_pb2.TimeOfDay:
    return timeofday_pb2.TimeOfDay(hours=minutes // 60, minutes=minutes % 60)


def minutes(value: timeofday_pb2.TimeOfDay, field: str) -> int:
    if not (0 <= value.hours <= 23 and 0 <= value.minutes <= 59) or value.seconds or value.nanos:
        raise errors.invalid(field, "must be a time of day between 00:00 and 23:59, in whole minutes")
    return value.hours * 60 + value.minutes


def preference_pb(recipient: domain.Recipient, cfg: Config) -> pb.Preference:
    """A recipient's preference, with the service's defaults where they chose none."""
    own = recipient.preference
    start = cfg.quiet_start if own.quiet_start is None else own.quiet_start
    end = cfg.quiet_end if own.quiet_end is None else own.quiet_end
    return pb.Preference(
        name=f"{recipient.name}/preference",
        channels=[enum_number(pb.Channel, "CHANNEL", c) for c in own.effective_channels],
        language=own.language or cfg.language,
        time_zone=own.time_zone or cfg.time_zone,
        quiet_start=time_of_day(start),
        quiet_end=time_of_day(end),
        muted_rules=sorted(set(own.muted_rules)),
        webhook_url=own.webhook_url,
        etag=str(own.version),
    )


def recipient_pb(recipient: domain.Recipient, cfg: Config) -> pb.Recipient:
    return _recipient(recipient, preference=preference_pb(recipient, cfg))


def preference_id(name: str, field: str) -> int:
    """recipients/<number>/preference -> number."""
    if not name.endswith("/preference"):
        raise errors.invalid(field, "must look like recipients/<number>/preference")
    return parse_name(name.removesuffix("/preference"), "recipients", field)


def preference_fields(sent: pb.Preference, paths: set[str]) -> dict[str, object]:
    """The masked fields of a Preference as domain values (channels by short name, times in minutes); what the
    values may be is the domain's to say (domain.check_preference)."""
    values: dict[str, object] = {}
    problems: list[tuple[str, str]] = []
    if "channels" in paths:
        chosen: list[str] = []
        for number in sent.channels:
            if number == pb.CHANNEL_UNSPECIFIED:
                problems.append(("preference.channels", "must not contain CHANNEL_UNSPECIFIED"))
                break
            short = short_enum_name(pb.Channel, "CHANNEL", number)
            if short not in chosen:
                chosen.append(short)
        values["channels"] = tuple(chosen)
    for path in ("language", "time_zone"):
        if path in paths:
            values[path] = getattr(sent, path)
    for path in ("quiet_start", "quiet_end"):
        if path in paths:
            try:
                values[path] = minutes(getattr(sent, path), f"preference.{path}")
            except errors.InvalidArgument as exc:
                problems += exc.violations
    if "muted_rules" in paths:
        values["muted_rules"] = tuple(sorted(set(sent.muted_rules)))
    if "webhook_url" in paths:
        values["webhook_url"] = sent.webhook_url.strip()
    if problems:
        raise errors.InvalidArgument(problems)
    return values


def stuck_pb(stuck: domain.Stuck) -> pb.ListStuckFollowUpsResponse:
    return pb.ListStuckFollowUpsResponse(
        overdue_follow_ups=[follow_up_pb(f) for f in stuck.overdue],
        failing_deliveries=[delivery_pb(d) for d in stuck.failing],
        overdue_count=stuck.overdue_count,
        failing_count=stuck.failing_count,
    )


def stats_pb(stats: domain.Stats) -> pb.NotificationStats:
    """The counts keep their names; the two moments become Timestamps."""
    counts = {field: value for field, value in asdict(stats).items() if isinstance(value, int)}
    return pb.NotificationStats(
        **counts, next_due_time=timestamp(stats.next_due_at), held_until_time=timestamp(stats.held_until)
    )


message_template_pb = Writer(pb.MessageTemplate, domain.MessageTemplate)
