"""The partner API's TLS settings are checked at start-up: each mistake is one sentence naming the setting,
and the service process exits with it instead of failing callers' handshakes later."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from hubcore.settings import PROJECT_DIR
from hubcore.tls import read_pair
from hublocal.tls import local_certificate

SETTING = "HUB_INVESTORS_PARTNER"


def test_a_good_pair_is_read(tmp_path: Path) -> None:
    cert, key = local_certificate(tmp_path)
    pem_cert, pem_key = read_pair(str(cert), str(key), setting=SETTING)
    assert pem_cert.startswith(b"-----BEGIN CERTIFICATE") and b"PRIVATE KEY" in pem_key


@pytest.mark.parametrize(
    ("mistake", "message"),
    [
        ("one missing", "HUB_INVESTORS_PARTNER_TLS_CERT and HUB_INVESTORS_PARTNER_TLS_KEY must both be set"),
        ("no such file", "HUB_INVESTORS_PARTNER_TLS_CERT: cannot read"),
        ("not a certificate", "HUB_INVESTORS_PARTNER_TLS_CERT: .* is not a PEM certificate"),
        ("not a key", "HUB_INVESTORS_PARTNER_TLS_KEY: .* is not an unencrypted PEM private key"),
        ("another's key", "HUB_INVESTORS_PARTNER_TLS_KEY: .* is not the key of the certificate"),
    ],
)
def test_each_mistake_names_its_setting(tmp_path: Path, mistake: str, message: str) -> None:
    cert, key = local_certificate(tmp_path / "a")
    _, other_key = local_certificate(tmp_path / "b")
    junk = tmp_path / "junk.pem"
    junk.write_text("-----BEGIN NOTHING-----\n")
    paths = {
        "one missing": (str(cert), ""),
        "no such file": (str(tmp_path / "absent.crt"), str(key)),
        "not a certificate": (str(junk), str(key)),
        "not a key": (str(cert), str(junk)),
        "another's key": (str(cert), str(other_key)),
    }[mistake]
    with pytest.raises(ValueError, match=message):
        read_pair(*paths, setting=SETTING)


def test_the_service_exits_saying_which_setting_is_wrong(tmp_path: Path) -> None:
    cert, _ = local_certificate(tmp_path)
    env = {
        "HUB_DATA_DIR": str(tmp_path),
        "HUB_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'investors.db'}",
        "HUB_NATS_URL": "nats://127.0.0.1:1",
        "HUB_INVESTORS_PORT": "0",
        "HUB_INVESTORS_PARTNER_PORT": "0",
        "HUB_INVESTORS_PARTNER_HTTP_PORT": "0",
        "HUB_INVESTORS_PARTNER_HOST": "0.0.0.0",
        "HUB_INVESTORS_PARTNER_TLS_CERT": str(cert),
        "HUB_INVESTORS_PARTNER_TLS_KEY": str(tmp_path / "missing.key"),
        "HUB_LOG_FORMAT": "json",
    }
    done = subprocess.run(
        [sys.executable, "-m", "services.investors"], cwd=PROJECT_DIR, env={"PATH": "/usr/bin:/bin", **env},
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert done.returncode == 2, done.stdout + done.stderr
    output = done.stdout + done.stderr
    assert "HUB_INVESTORS_PARTNER_TLS_KEY: cannot read" in output and "Traceback" not in output
