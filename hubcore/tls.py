"""The TLS settings of a listener (the partner API): the certificate and key files it serves with, checked at
start-up. Production configures a real certificate (HUB_<SERVICE>_PARTNER_TLS_CERT and _KEY); `make run`
makes a local one (hublocal.tls)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path


def read_pair(cert_path: str, key_path: str, *, setting: str) -> tuple[bytes, bytes]:
    """The PEM certificate chain and key a listener serves with, checked at start-up so that a mistake is
    one clear sentence naming the setting rather than a TLS failure at the first caller's handshake."""
    from cryptography import x509
    from cryptography.hazmat.primitives import serialization

    if not cert_path or not key_path:
        raise ValueError(f"{setting}_TLS_CERT and {setting}_TLS_KEY must both be set, or neither")
    contents = []
    for path, which in ((cert_path, "CERT"), (key_path, "KEY")):
        try:
            contents.append(Path(path).read_bytes())
        except OSError as exc:
            raise ValueError(f"{setting}_TLS_{which}: cannot read {path}: {exc.strerror}") from None
    cert_pem, key_pem = contents
    try:
        cert = x509.load_pem_x509_certificate(cert_pem)
    except ValueError:
        raise ValueError(f"{setting}_TLS_CERT: {cert_path} is not a PEM certificate") from None
    try:
        key = serialization.load_pem_private_key(key_pem, password=None)
    except (ValueError, TypeError):
        raise ValueError(f"{setting}_TLS_KEY: {key_path} is not an unencrypted PEM private key") from None
    public = serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    if cert.public_key().public_bytes(*public) != key.public_key().public_bytes(*public):
        raise ValueError(f"{setting}_TLS_KEY: {key_path} is not the key of the certificate {cert_path}")
    if cert.not_valid_after_utc < dt.datetime.now(dt.UTC):
        raise ValueError(f"{setting}_TLS_CERT: {cert_path} expired on {cert.not_valid_after_utc:%Y-%m-%d}")
    return cert_pem, key_pem
