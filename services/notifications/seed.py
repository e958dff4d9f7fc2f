"""What the notifications worker says in `make run`'s banner (it seeds nothing: its follow-ups come from the
other services' demo data): during quiet hours, that the demo's emails wait, how many, and until when."""

from __future__ import annotations

import os
from datetime import UTC, datetime
from pathlib import Path

import grpc
from hub.notifications.v1 import notifications_pb2 as pb
from hub.notifications.v1 import notifications_pb2_grpc

from hubcore.korean import held_mail
from hubcore.settings import Settings
from services.notifications import domain
from services.notifications.config import Config


def banner(data_dir: os.PathLike[str], env: dict[str, str]) -> list[str]:
    cfg = Config.from_env()
    tz = domain.zone(cfg.time_zone)
    now = datetime.now(UTC)
    until = domain.quiet_until(now, tz, cfg.quiet_start, cfg.quiet_end)
    if until is None:
        return []
    settings = Settings.from_env("notifications")
    token = (Path(data_dir) / "admin-token").read_text().strip()
    try:
        with grpc.insecure_channel(f"{settings.grpc_host}:{settings.grpc_port}") as channel:
            stats = notifications_pb2_grpc.NotificationServiceStub(channel).GetNotificationStats(
                pb.GetNotificationStatsRequest(), metadata=(("authorization", f"Bearer {token}"),), timeout=5
            )
    except grpc.RpcError:
        stats = pb.NotificationStats()
    if stats.held_for_quiet_hours:
        until = stats.held_until_time.ToDatetime(tzinfo=UTC)
    return [held_mail(stats.held_for_quiet_hours, until, tz, now.astimezone(tz).date()), ""]
