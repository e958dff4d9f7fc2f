"""Partner keys' rules, pure: scopes parsed and normalized, write includes read, expiry, rotation and its overlap;
the per-peer bucket's peek; the RateLimit headers of a quota."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from hubcore.calls import Quota, TokenBuckets
from hubcore.errors import FailedPrecondition, InvalidArgument
from services.investors import domain

NOW = datetime(2026, 12, 6, 3, 0, tzinfo=UTC)


def key(**fields: object) -> domain.ApiKey:
    values: dict[str, object] = {
        "id": 3,
        "partner_id": 1,
        "firm_id": 1,
        "prefix": "hubpk_abc",
        "expire_at": NOW + timedelta(days=30),
    }
    return domain.ApiKey(**(values | fields))  # type: ignore[arg-type]


def test_scopes_are_normalized_and_all_expands() -> None:
    assert domain.parse_scopes(["rounds:read", " Introductions:WRITE ", "rounds:write", "rounds:read"]) == (
        "introductions:write",
        "rounds:write",
    )
    assert domain.parse_scopes(["all:read", "webhooks:write"]) == (
        "introductions:read", "rounds:read", "dealflow:read", "updates:read", "webhooks:write",
    )  # fmt: skip
    assert domain.parse_scopes([]) == domain.EVERY_SCOPE == tuple(f"{g}:write" for g in domain.KEY_GROUPS)
    for bad in ("rounds", "rounds:admin", "deals:read", ":read", "all"):
        with pytest.raises(InvalidArgument) as caught:
            domain.parse_scopes(["rounds:read", bad])
        assert caught.value.violations[0][0] == "api_key.scopes[1]"


def test_write_includes_read_and_any_key_needs_nothing() -> None:
    assert domain.allows(["introductions:write"], domain.reads("introductions"))
    assert domain.allows(["introductions:read"], domain.reads("introductions"))
    assert not domain.allows(["introductions:read"], domain.writes("introductions"))
    assert not domain.allows(["rounds:write"], domain.reads("introductions"))
    assert domain.allows([], domain.ANY_KEY)
    lacking = key(scopes=("introductions:read",)).missing(domain.writes("introductions"))
    assert lacking == "this API key lacks the scope introductions:write (it has introductions:read)"


def test_expiry_revocation_and_the_previous_secret() -> None:
    k = key()
    assert k.refusal(NOW) is None and k.refusal(NOW + timedelta(days=30)) == "the API key has expired"
    assert k.refusal(NOW, previous=True) is not None  # never rotated: no previous secret works
    rotated = k.rotate(NOW, timedelta(hours=2), "hubpk_new")
    assert (rotated.prefix, rotated.rotations, rotated.rotated_at) == ("hubpk_new", 1, NOW)
    assert rotated.refusal(NOW + timedelta(hours=1), previous=True) is None
    assert "rotated out" in str(rotated.refusal(NOW + timedelta(hours=2), previous=True))
    assert (
        rotated.overlapping(NOW) == NOW + timedelta(hours=2) and rotated.overlapping(NOW + timedelta(hours=3)) is None
    )
    with pytest.raises(FailedPrecondition, match="previous secret works until"):
        rotated.rotate(NOW + timedelta(hours=1), timedelta(0), "hubpk_x")
    assert rotated.rotate(NOW + timedelta(hours=2), timedelta(0), "hubpk_y").rotations == 2
    with pytest.raises(FailedPrecondition):
        k.revoke(NOW).rotate(NOW, timedelta(0), "hubpk_z")
    assert domain.rotation_overlap(None) == timedelta(hours=24)
    for bad in (timedelta(seconds=-1), timedelta(days=30, seconds=1)):
        with pytest.raises(InvalidArgument):
            domain.rotation_overlap(bad)


def test_the_peer_bucket_can_be_read_without_spending() -> None:
    clock = [0.0]
    buckets = TokenBuckets(rate=1.0, burst=2, clock=lambda: clock[0])
    assert buckets.wait("p") == 0.0 and buckets.wait("p") == 0.0  # reading takes nothing
    buckets.take("p")
    buckets.take("p")
    assert buckets.wait("p") == pytest.approx(1.0)
    clock[0] = 1.0
    assert buckets.wait("p") == 0.0


def test_a_quotas_headers() -> None:
    admitted = Quota(limit=900, used=10, window=60, reset=12.2)
    assert dict(admitted.headers()) == {
        "ratelimit-limit": "900", "ratelimit-remaining": "890", "ratelimit-reset": "13", "ratelimit-policy": "900;w=60",
    }  # fmt: skip
    refused = dict(Quota(limit=900, used=900, window=60, reset=0.2, admitted=False).headers())
    assert refused["ratelimit-remaining"] == "0" and refused["retry-after"] == refused["ratelimit-reset"] == "1"
