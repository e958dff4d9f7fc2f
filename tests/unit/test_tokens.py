"""Signed access tokens without I/O: what verifies, what is refused and with which reason, key rotation."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime, timedelta

import pytest

from hubcore import errors, tokens
from hubcore.settings import Settings

KEY = "unit-test-signing-key-0123456789abcdef"
OTHER = "another-signing-key-0123456789abcdefgh"
NOW = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)


def claims(**changes: object) -> tokens.Claims:
    values: dict[str, object] = {
        "id": tokens.new_token_id(),
        "subject": "김민지",
        "role": "admin",
        "issued_at": NOW,
        "expire_at": NOW + timedelta(days=30),
    } | changes
    if values["role"] in tokens.SCOPED and "scope" not in changes:  # a bound role names its resource
        values["scope"] = f"{tokens.SCOPED[str(values['role'])]}/7"
    return tokens.Claims(**values)  # type: ignore[arg-type]


def refusal(token: str, keys: tuple[str, ...] = (KEY,), when: datetime = NOW) -> str:
    with pytest.raises(tokens.TokenRefused) as refused:
        tokens.verify(token, keys, when)
    assert token not in str(refused.value)
    return str(refused.value)


def test_a_signed_token_verifies_and_carries_its_claims() -> None:
    made = claims()
    token = tokens.sign(made, KEY)
    assert token.startswith("hubat_") and KEY not in token
    assert tokens.verify(token, (KEY,), NOW + timedelta(days=29)) == made
    assert made.name == f"accessTokens/{made.id}"


def test_expired_is_refused_saying_so() -> None:
    token = tokens.sign(claims(), KEY)
    assert "expired at 2026-12-31 09:00 UTC" in refusal(token, when=NOW + timedelta(days=30))
    assert "expired" in refusal(token, when=NOW + timedelta(days=300))


def test_altered_forged_or_malformed_tokens_are_not_valid() -> None:
    token = tokens.sign(claims(), KEY)
    signed, mac = token.split(".")
    payload = json.loads(base64.urlsafe_b64decode(signed[6:] + "=" * (-len(signed) % 4)))
    promoted = "hubat_" + base64.urlsafe_b64encode(
        json.dumps(payload | {"exp": payload["exp"] + 10**7}).encode()
    ).decode().rstrip("=")
    flipped = signed[:-1] + ("A" if signed[-1] != "A" else "B")
    cases = [
        f"{promoted}.{mac}",  # a longer life, the old mac
        f"{flipped}.{mac}",  # one character of the payload changed
        f"{signed}.{mac[:-1]}{'A' if mac[-1] != 'A' else 'B'}",  # one character of the mac changed
        tokens.sign(claims(), OTHER),  # signed with a key this service does not hold
        signed,  # no mac
        f"{token}.x",  # a part too many
        "hubat_",
        "hubat_.",
        "hubat_!!!.???",
        "hubat_" + "A" * 5000 + ".x",
        "hubpk_" + token[6:],
    ]
    for case in cases:
        assert refusal(case) == "the token is not valid", case


def test_signed_garbage_is_not_valid_either() -> None:
    """A payload that verifies but is not ours (a leaked key, a future version) is refused, not an error."""
    for payload in (b"[]", b"1", b"{}", b'{"v":2}', b"[" * 1500, b'{"v":1,"jti":"x"}'):
        signed = "hubat_" + base64.urlsafe_b64encode(payload).decode().rstrip("=")
        token = f"{signed}.{tokens._mac(KEY, signed)}"
        assert refusal(token) == "the token is not valid", payload[:20]
    for bad in (claims(role="partner"), claims(id="1234")):
        assert refusal(tokens.sign(bad, KEY)) == "the token is not valid"


def test_a_token_from_the_future_is_not_valid_yet() -> None:
    token = tokens.sign(claims(issued_at=NOW + timedelta(hours=1), expire_at=NOW + timedelta(days=2)), KEY)
    assert "not valid yet" in refusal(token)
    assert tokens.verify(token, (KEY,), NOW + timedelta(minutes=56))  # within the allowed clock skew


def test_keys_rotate_the_first_signs_every_one_verifies() -> None:
    old = tokens.sign(claims(), OTHER)
    assert tokens.verify(old, (KEY, OTHER), NOW)
    assert refusal(old, keys=(KEY,)) == "the token is not valid"  # once the old key is dropped


def test_expiry_defaults_to_30_days_and_is_at_most_90() -> None:
    assert tokens.expiry(None, NOW) == NOW + timedelta(days=30)
    assert tokens.expiry(NOW + timedelta(days=90), NOW) == NOW + timedelta(days=90)
    for wrong in (NOW, NOW - timedelta(days=1), NOW + timedelta(days=91)):
        with pytest.raises(errors.InvalidArgument):
            tokens.expiry(wrong, NOW)


def test_token_ids_tell_apart_from_partner_key_numbers() -> None:
    ids = {tokens.new_token_id() for _ in range(200)}
    assert len(ids) == 200 and all(tokens.valid_id(i) and not i.isdigit() for i in ids)


def test_the_signing_key_is_checked_and_never_printed(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HUB_TOKEN_SIGNING_KEY", f"{KEY},{OTHER}")
    settings = Settings.from_env("companies")
    assert settings.token_signing_keys == (KEY, OTHER)
    assert KEY not in repr(settings) and OTHER not in repr(settings)
    with pytest.raises(ValueError, match="at least 32 characters"):
        tokens.check_keys(["short"])


@pytest.mark.parametrize("role", tokens.ROLES)
@pytest.mark.parametrize("letter", ["a", "김"])
def test_subjects_of_every_length_verify(role: str, letter: str) -> None:
    """The payload's base64 padding once came from the whole string's length (prefix included), so a third of
    the subjects ("ab", "ci-bot", three-syllable Hangul names) made tokens no service accepted."""
    for size in range(1, 65):
        made = claims(subject=letter * size, role=role)
        assert tokens.verify(tokens.sign(made, KEY), (KEY,), NOW) == made, size
    for subject in ("ab", "svc", "ci-bot", "김민지", "이서준 팀장"):
        made = claims(subject=subject, role=role)
        assert tokens.verify(tokens.sign(made, KEY), (KEY,), NOW) == made, subject


def test_a_token_living_longer_than_90_days_is_refused_when_checked() -> None:
    """The 90-day bound is what lets a revocation outlive every token it revokes, so it holds at every check,
    not only when a token is issued."""
    assert tokens.verify(tokens.sign(claims(expire_at=NOW + timedelta(days=90)), KEY), (KEY,), NOW)
    token = tokens.sign(claims(expire_at=NOW + timedelta(days=400)), KEY)
    assert "longer than 90 days" in refusal(token)
    backdated = tokens.sign(claims(issued_at=NOW - timedelta(days=200), expire_at=NOW + timedelta(days=1)), KEY)
    assert "longer than 90 days" in refusal(backdated)


@pytest.mark.parametrize(
    ("role", "scope", "accepted"),
    [
        ("founder", "companies/7", True),
        ("mentor", "mentors/3", True),
        ("founder", "", False),  # a bound role without its resource
        ("founder", "mentors/3", False),  # another collection
        ("mentor", "companies/7", False),
        ("founder", "companies/07", False),  # one spelling per resource
        ("founder", "companies/7/people/2", False),
        ("admin", "companies/7", False),  # an unbound role names nothing
    ],
)
def test_the_scope_claim_binds_exactly_one_resource_of_the_roles_collection(
    role: str, scope: str, accepted: bool
) -> None:
    """The binding travels in the signed token: a founder's names one company, a mentor's one mentor, and an
    admin's none; anything else is refused as a token no service issued."""
    made = claims(role=role, scope=scope)
    token = tokens.sign(made, KEY)
    if accepted:
        assert tokens.verify(token, (KEY,), NOW) == made
    else:
        assert refusal(token) == "the token is not valid"
