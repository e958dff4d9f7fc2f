"""The notifications worker's own settings (HUB_* environment variables): where mail and webhooks go,
who the program managers are, quiet hours, retries and the rules' periods."""

from __future__ import annotations

import re
from dataclasses import dataclass, replace

from hubcore.settings import DEFAULT_MAIL_SINK_PORT, env_field, from_env_fields, variable
from hubcore.text import email_address


def parse_hours(text: str) -> tuple[int, int]:
    """'22:00-08:00' -> minutes after midnight (1320, 480); '' or 'off' -> no quiet hours (0, 0)."""
    text = text.strip()
    if text.lower() in ("", "off", "none"):
        return 0, 0
    match = re.fullmatch(r"(\d{1,2}):(\d{2})\s*-\s*(\d{1,2}):(\d{2})", text)
    if not match:
        raise ValueError(f"quiet hours must look like 22:00-08:00, not {text!r}")
    h1, m1, h2, m2 = (int(g) for g in match.groups())
    if h1 > 23 or h2 > 23 or m1 > 59 or m2 > 59:
        raise ValueError(f"quiet hours must look like 22:00-08:00, not {text!r}")
    return h1 * 60 + m1, h2 * 60 + m2


@dataclass(frozen=True)
class Config:
    # SMTP: the default is the local sink of `make run`; production sets a real relay.
    smtp_host: str = env_field("SMTP_HOST", "127.0.0.1")
    smtp_port: int = env_field("SMTP_PORT", DEFAULT_MAIL_SINK_PORT)
    smtp_starttls: bool = env_field("SMTP_STARTTLS", False)  # STARTTLS after connecting (port 587)
    smtp_ssl: bool = env_field("SMTP_SSL", False)  # implicit TLS (port 465)
    smtp_username: str = env_field("SMTP_USERNAME", "")
    smtp_password: str = env_field("SMTP_PASSWORD", "")
    smtp_timeout: float = env_field("SMTP_TIMEOUT", 30.0)
    smtp_helo: str = env_field("SMTP_HELO", "")  # the name in EHLO; empty: this host's FQDN, looked up once
    mail_from: str = env_field("MAIL_FROM", "KAIST AI 허브 <noreply@hub.kaist.ac.kr>")
    # Webhooks are signed with HMAC-SHA256 over "<timestamp>.<body>"; without a secret none is sent.
    webhook_secret: str = env_field("WEBHOOK_SECRET", "")
    webhook_timeout: float = env_field("WEBHOOK_TIMEOUT", 10.0)
    # Program managers: escalations and notes go to these addresses (HUB_PROGRAM_MANAGER_EMAILS, comma-separated)
    # and, if set, this webhook (Slack).
    manager_emails: tuple[str, ...] = ()
    manager_webhook_url: str = env_field("PROGRAM_MANAGER_WEBHOOK_URL", "")
    # Defaults for recipients who have not set their own.
    language: str = env_field("NOTIFY_LANGUAGE", "ko")
    time_zone: str = env_field("NOTIFY_TIME_ZONE", "Asia/Seoul")
    quiet_start: int = 22 * 60  # minutes after midnight, local time (HUB_QUIET_HOURS: 22:00-08:00)
    quiet_end: int = 8 * 60
    # Retries: exponential back-off with jitter from retry_base, capped, max_attempts in all.
    max_attempts: int = env_field("NOTIFY_MAX_ATTEMPTS", 6)
    retry_base: float = env_field("NOTIFY_RETRY_BASE", 30.0)
    retry_cap: float = env_field("NOTIFY_RETRY_CAP", 3600.0)
    # The scheduler loop.
    poll_seconds: float = env_field("NOTIFY_POLL_SECONDS", 1.0)
    # A claimed delivery not marked within this is taken up again.
    lease_seconds: float = env_field("NOTIFY_LEASE_SECONDS", 120.0)
    batch_size: int = 32
    concurrency: int = 4
    overdue_after: float = 300.0  # a pending follow-up this late for dispatch is "stuck"
    # Rules.
    # Introductions: nudge after N business days, escalate after 2N.
    nudge_business_days: int = env_field("INTRO_NUDGE_BUSINESS_DAYS", 3)
    # Business days after the due date before escalating.
    action_item_grace_days: int = env_field("ACTION_ITEM_GRACE_DAYS", 2)
    expire_after_hours: float = 72.0  # an immediate note that could not go out in this time is dropped
    # KPI reminders: on this business day of the month, for the month before.
    kpi_due_business_day: int = env_field("KPI_REMINDER_BUSINESS_DAY", 5)
    # KPI requests: remind this many days before the due date.
    kpi_request_reminder_days: int = env_field("KPI_REQUEST_REMINDER_DAYS", 3)
    # How often the clock's rules (KPI reminders) look; 0: never.
    clock_rules_seconds: float = env_field("NOTIFY_CLOCK_SECONDS", 600.0)

    @classmethod
    def from_env(cls) -> Config:
        quiet = parse_hours(variable("HUB_QUIET_HOURS", "22:00-08:00"))
        emails = variable("HUB_PROGRAM_MANAGER_EMAILS").split(",")
        return from_env_fields(
            cls,
            quiet_start=quiet[0],
            quiet_end=quiet[1],
            manager_emails=tuple(email_address(e) for e in emails if e.strip()),
        )

    def with_(self, **changes: object) -> Config:
        return replace(self, **changes)  # type: ignore[arg-type]
