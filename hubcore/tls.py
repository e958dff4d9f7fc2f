"""A local TLS certificate for `make run` (and the tests): self-signed, for localhost and 127.0.0.1.

Production configures a real certificate (HUB_<SERVICE>_PARTNER_TLS_CERT and _KEY); this one only lets a
developer's machine serve the partner API the way it is served for real, over TLS."""

from __future__ import annotations

import datetime as dt
import ipaddress
import os
from pathlib import Path


def local_certificate(directory: Path, name: str = "partner", days: int = 365) -> tuple[Path, Path]:
    """Returns (certificate, private key) PEM files in directory, made once (the key readable by us only)."""
    cert_file, key_file = directory / f"{name}.crt", directory / f"{name}.key"
    if cert_file.exists() and key_file.exists():
        return cert_file, key_file
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    directory.mkdir(parents=True, exist_ok=True, mode=0o700)
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    started = dt.datetime.now(dt.UTC) - dt.timedelta(minutes=5)
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(started)
        .not_valid_after(started + dt.timedelta(days=days))
        .add_extension(
            x509.SubjectAlternativeName([x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    fd = os.open(key_file, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(pem)
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    return cert_file, key_file


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
