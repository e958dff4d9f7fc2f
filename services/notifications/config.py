"""The notifications worker's own settings (HUB_* environment variables): where mail and webhooks go,
who the program managers are, quiet hours, retries and the rules' periods."""

from __future__ import annotations

import re
from dataclasses import dataclass, replace

from hubcore.settings import DEFAULT_MAIL_SINK_PORT, _env


def _flag(name: str, default: str) -> bool:
    return _env(name, default).strip().lower() in ("1", "true", "yes", "on")


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
    smtp_host: str = "127.0.0.1"
    smtp_port: int = DEFAULT_MAIL_SINK_PORT
    smtp_starttls: bool = False  # STARTTLS after connecting (port 587)
    smtp_ssl: bool = False  # implicit TLS (port 465)
    smtp_username: str = ""
    smtp_password: str = ""
    smtp_timeout: float = 30.0
    smtp_helo: str = ""  # the name in EHLO; empty: this host's FQDN, looked up once
    mail_from: str = "KAIST AI 허브 <noreply@hub.kaist.ac.kr>"
    # Webhooks are signed with HMAC-SHA256 over "<timestamp>.<body>"; without a secret none is sent.
    webhook_secret: str = ""
    webhook_timeout: float = 10.0
    # Program managers: escalations and notes go to these addresses and, if set, this webhook (Slack).
    manager_emails: tuple[str, ...] = ()
    manager_webhook_url: str = ""
    # Defaults for recipients who have not set their own.
    language: str = "ko"
    time_zone: str = "Asia/Seoul"
    quiet_start: int = 22 * 60  # minutes after midnight, local time
    quiet_end: int = 8 * 60
    # Retries: exponential back-off with jitter from retry_base, capped, max_attempts in all.
    max_attempts: int = 6
    retry_base: float = 30.0
    retry_cap: float = 3600.0
    # The scheduler loop.
    poll_seconds: float = 1.0
    lease_seconds: float = 120.0  # a claimed delivery not marked within this is taken up again
    batch_size: int = 32
    concurrency: int = 4
    overdue_after: float = 300.0  # a pending follow-up this late for dispatch is "stuck"
    # Rules.
    nudge_business_days: int = 3  # introductions: nudge after N business days, escalate after 2N
    action_item_grace_days: int = 2  # business days after the due date before escalating
    expire_after_hours: float = 72.0  # an immediate note that could not go out in this time is dropped
    kpi_due_business_day: int = 5  # KPI reminders: on this business day of the month, for the month before
    kpi_request_reminder_days: int = 3  # KPI requests: remind this many days before the due date
    clock_rules_seconds: float = 600.0  # how often the clock's rules (KPI reminders) look; 0: never

    @classmethod
    def from_env(cls) -> Config:
        quiet = parse_hours(_env("QUIET_HOURS", "22:00-08:00"))
        emails = tuple(e.strip().lower() for e in _env("PROGRAM_MANAGER_EMAILS", "").split(",") if e.strip())
        return cls(
            smtp_host=_env("SMTP_HOST", "127.0.0.1"),
            smtp_port=int(_env("SMTP_PORT", str(DEFAULT_MAIL_SINK_PORT))),
            smtp_starttls=_flag("SMTP_STARTTLS", "0"),
            smtp_ssl=_flag("SMTP_SSL", "0"),
            smtp_username=_env("SMTP_USERNAME", ""),
            smtp_password=_env("SMTP_PASSWORD", ""),
            smtp_timeout=float(_env("SMTP_TIMEOUT", "30")),
            smtp_helo=_env("SMTP_HELO", ""),
            mail_from=_env("MAIL_FROM", cls.mail_from),
            webhook_secret=_env("WEBHOOK_SECRET", ""),
            webhook_timeout=float(_env("WEBHOOK_TIMEOUT", "10")),
            manager_emails=emails,
            manager_webhook_url=_env("PROGRAM_MANAGER_WEBHOOK_URL", ""),
            language=_env("NOTIFY_LANGUAGE", "ko"),
            time_zone=_env("NOTIFY_TIME_ZONE", "Asia/Seoul"),
            quiet_start=quiet[0],
            quiet_end=quiet[1],
            max_attempts=int(_env("NOTIFY_MAX_ATTEMPTS", "6")),
            retry_base=float(_env("NOTIFY_RETRY_BASE", "30")),
            retry_cap=float(_env("NOTIFY_RETRY_CAP", "3600")),
            poll_seconds=float(_env("NOTIFY_POLL_SECONDS", "1")),
            lease_seconds=float(_env("NOTIFY_LEASE_SECONDS", "120")),
            nudge_business_days=int(_env("INTRO_NUDGE_BUSINESS_DAYS", "3")),
            action_item_grace_days=int(_env("ACTION_ITEM_GRACE_DAYS", "2")),
            kpi_due_business_day=int(_env("KPI_REMINDER_BUSINESS_DAY", "5")),
            kpi_request_reminder_days=int(_env("KPI_REQUEST_REMINDER_DAYS", "3")),
            clock_rules_seconds=float(_env("NOTIFY_CLOCK_SECONDS", "600")),
        )

    def with_(self, **changes: object) -> Config:
        return replace(self, **changes)  # type: ignore[arg-type]
