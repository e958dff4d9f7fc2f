"""Signed webhooks, both ends: the headers a sender writes, its POST, and the check a receiver makes.

A webhook carries `X-Hub-Timestamp` (Unix seconds), `X-Hub-Delivery` (the same on every retry, so a receiver can
drop a copy) and `X-Hub-Signature: v1=<hex HMAC-SHA256(secret, "<timestamp>.<body>")>`. While a secret is being
rotated the header holds one `v1=` per secret, newest first, comma-separated (`v1=<new>,v1=<old>`): a receiver
accepts the request if any of them matches a secret it holds, and refuses a timestamp too far from its clock
(a replayed request). The notifications worker signs with one secret; the investors service's partner
webhooks with one or two."""

from __future__ import annotations

import hashlib
import hmac
import time
import urllib.error
import urllib.request
from collections.abc import Iterable
from typing import Any

SIGNATURE_HEADER = "X-Hub-Signature"
TIMESTAMP_HEADER = "X-Hub-Timestamp"
DELIVERY_HEADER = "X-Hub-Delivery"
SIGNATURE_TOLERANCE = 300  # seconds a receiver should accept between the timestamp and its clock


def signature(secret: str, timestamp: str, body: bytes) -> str:
    mac = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256)
    return "v1=" + mac.hexdigest()


def signatures(secrets: Iterable[str], timestamp: str, body: bytes) -> str:
    """The header's value for each secret that signs, in the order given (the newest first)."""
    return ",".join(signature(secret, timestamp, body) for secret in secrets if secret)


def verify(secret: str, headers: Any, body: bytes, *, now: float | None = None) -> bool:
    """What a receiver does: one of the header's signatures matches the secret and the timestamp is recent."""
    timestamp = headers.get(TIMESTAMP_HEADER, "")
    sent = headers.get(SIGNATURE_HEADER, "")
    if not timestamp.isdigit() or abs((now or time.time()) - int(timestamp)) > SIGNATURE_TOLERANCE:
        return False
    expected = signature(secret, timestamp, body)
    # Every candidate is compared (no early exit), each in constant time.
    return any([hmac.compare_digest(part.strip(), expected) for part in sent.split(",")])


def post(url: str, body: bytes, headers: dict[str, str], timeout: float) -> int:
    """POSTs the body (blocking: call it in a worker thread); the HTTP status, whatever it is. A connection that
    fails raises OSError (urllib.error.URLError is one)."""
    request = urllib.request.Request(url, data=body, headers=headers, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return int(response.status)
    except urllib.error.HTTPError as exc:
        return int(exc.code)
