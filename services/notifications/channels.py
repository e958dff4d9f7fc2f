"""The channels: email over SMTP (stdlib smtplib, in a worker thread) and signed webhooks (stdlib HTTP,
in a worker thread). A send either returns or raises DeliveryError, saying whether trying again can help.

Why the standard library: follow-ups are a trickle, not a mailing list, so a thread per send is cheap;
smtplib does STARTTLS, implicit TLS and AUTH, and http.client does what a webhook needs, with no client
library to keep up to date.

Webhooks carry a Slack-compatible JSON body (`text`, plus our fields) and two headers:
`X-Hub-Timestamp` (Unix seconds) and `X-Hub-Signature: v1=<hex HMAC-SHA256(secret, "<timestamp>.<body>")>`
(hubcore.signing, which the investors service's partner webhooks sign with too). Receivers recompute the
signature and refuse old timestamps (replays); `X-Hub-Delivery` (and the email's Message-ID) stays the same
across retries, so a receiver can also drop a copy."""

from __future__ import annotations

import asyncio
import functools
import json
import smtplib
import socket
import ssl
import time
import urllib.error
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import formatdate, parseaddr
from typing import Any

from hubcore.signing import (  # noqa: F401  (the receiver's side, verify, is used from here too)
    DELIVERY_HEADER,
    SIGNATURE_HEADER,
    SIGNATURE_TOLERANCE,
    TIMESTAMP_HEADER,
    post,
    signature,
    verify,
)
from services.notifications.config import Config
from services.notifications.messages import Message


class DeliveryError(Exception):
    def __init__(self, message: str, *, permanent: bool) -> None:
        super().__init__(message)
        self.permanent = permanent


def email_message(cfg: Config, *, to: str, to_name: str, message: Message, message_id: str, rule: str) -> EmailMessage:
    mail = EmailMessage()
    from_name, from_address = parseaddr(cfg.mail_from)
    mail["From"] = Address(display_name=from_name, addr_spec=from_address) if from_name else from_address
    mail["To"] = Address(display_name=to_name, addr_spec=to) if to_name else to
    mail["Subject"] = message.subject
    mail["Date"] = formatdate(localtime=False)
    mail["Message-ID"] = message_id
    mail["X-Hub-Rule"] = rule
    mail.set_content(message.body)  # UTF-8, as Korean needs
    return mail


@functools.cache
def _local_hostname(configured: str) -> str:
    """The name we greet the server with (EHLO). smtplib would look it up on every connection, and
    socket.getfqdn() can take most of a second where DNS is slow."""
    return configured or socket.getfqdn()


def _smtp_send(cfg: Config, mail: EmailMessage) -> None:
    context = ssl.create_default_context()
    helo = _local_hostname(cfg.smtp_helo)
    smtp: smtplib.SMTP
    if cfg.smtp_ssl:
        smtp = smtplib.SMTP_SSL(
            cfg.smtp_host, cfg.smtp_port, local_hostname=helo, timeout=cfg.smtp_timeout, context=context
        )
    else:
        smtp = smtplib.SMTP(cfg.smtp_host, cfg.smtp_port, local_hostname=helo, timeout=cfg.smtp_timeout)
    with smtp:
        if cfg.smtp_starttls and not cfg.smtp_ssl:
            smtp.starttls(context=context)
        if cfg.smtp_username:
            smtp.login(cfg.smtp_username, cfg.smtp_password)
        smtp.send_message(mail)


async def send_email(cfg: Config, mail: EmailMessage) -> None:
    try:
        await asyncio.to_thread(_smtp_send, cfg, mail)
    except smtplib.SMTPRecipientsRefused as exc:
        codes = [code for code, _ in exc.recipients.values()]
        raise DeliveryError(f"recipient refused: {exc.recipients}", permanent=all(c >= 500 for c in codes)) from exc
    except smtplib.SMTPResponseException as exc:
        text = exc.smtp_error.decode(errors="replace") if isinstance(exc.smtp_error, bytes) else str(exc.smtp_error)
        raise DeliveryError(f"SMTP {exc.smtp_code}: {text}", permanent=exc.smtp_code >= 500) from exc
    except (smtplib.SMTPException, OSError) as exc:  # refused, reset, timed out, TLS: try again later
        raise DeliveryError(f"SMTP {cfg.smtp_host}:{cfg.smtp_port}: {exc!r}", permanent=False) from exc


async def send_webhook(cfg: Config, url: str, payload: dict[str, Any], *, delivery: str) -> None:
    if not url.startswith(("http://", "https://")):
        raise DeliveryError(f"not an http(s) URL: {url!r}", permanent=True)
    if not cfg.webhook_secret:
        raise DeliveryError("HUB_WEBHOOK_SECRET is not set: webhooks are never sent unsigned", permanent=True)
    body = json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode()
    timestamp = str(int(time.time()))
    headers = {
        "Content-Type": "application/json; charset=utf-8",
        "User-Agent": "hub-notifications/1",
        TIMESTAMP_HEADER: timestamp,
        SIGNATURE_HEADER: signature(cfg.webhook_secret, timestamp, body),
        DELIVERY_HEADER: delivery,
    }
    try:
        status = await asyncio.to_thread(post, url, body, headers, cfg.webhook_timeout)
    except (OSError, urllib.error.URLError) as exc:
        raise DeliveryError(f"POST {url}: {exc!r}", permanent=False) from exc
    if 200 <= status < 300:
        return
    # 408 and 429 are "later", 5xx is the receiver's trouble; any other 4xx will not change on retry.
    raise DeliveryError(f"POST {url}: HTTP {status}", permanent=400 <= status < 500 and status not in (408, 429))
