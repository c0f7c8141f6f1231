"""Settings come from OKPAY_* only; nonsense stops start-up with a clear message."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

OKPAY = str(Path(sys.executable).with_name("okpay"))


def run_okpay(*args: str, env: dict[str, str], home: Path) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items()
             if not k.startswith("OKPAY_") and k not in {"DJANGO_SETTINGS_MODULE", "DJANGO_ALLOW_ASYNC_UNSAFE"}}
    return subprocess.run([OKPAY, *args], env={**clean, "OKPAY_HOME": str(home), **env},
                          capture_output=True, text=True, timeout=120, check=False)


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"OKPAY_DEBUG": "maybe"}, "OKPAY_DEBUG='maybe' is not a boolean"),
        ({"OKPAY_DATABASE_URL": "mysql://x"}, "OKPAY_DATABASE_URL='mysql://x' is not a URL"),
        ({"OKPAY_REDIS_URL": "http://localhost"}, "OKPAY_REDIS_URL"),
        ({"OKPAY_EMAIL_URL": "smtp://u:pw@host:notaport"}, "OKPAY_EMAIL_URL has a bad port"),
        ({"OKPAY_SECRET_KEY": "short"}, "at least 32 characters"),
        ({"OKPAY_DATABASE_URL": "postgres://postgres@127.0.0.1/x", "OKPAY_DB_POOL_MAX": "0"}, "below the minimum"),
        ({"OKPAY_SQLITE_BUSY_TIMEOUT": "soon"}, "is not an integer"),
        ({"OKPAY_LOG_LEVEL": "LOUD"}, "OKPAY_LOG_LEVEL='LOUD'"),
        ({"OKPAY_ALLOWED_HOSTS": " , "}, "OKPAY_ALLOWED_HOSTS is set but empty"),
    ],
)
def test_nonsense_stops_start_up_with_a_clear_message(tmp_path: Path, env: dict[str, str], message: str) -> None:
    result = run_okpay("check", env=env, home=tmp_path)
    assert result.returncode == 2, result.stderr
    assert "okpay: configuration error" in result.stderr
    assert message in result.stderr
    assert "Traceback" not in result.stderr


def test_the_email_password_is_not_echoed(tmp_path: Path) -> None:
    result = run_okpay("check", env={"OKPAY_EMAIL_URL": "ftp://user:hunter2@mail"}, home=tmp_path)
    assert result.returncode == 2
    assert "hunter2" not in result.stderr


def test_secret_key_is_generated_once_into_var(tmp_path: Path) -> None:
    assert run_okpay("check", env={}, home=tmp_path).returncode == 0
    key_file = tmp_path / "var" / "secret_key"
    first = key_file.read_text()
    assert len(first) >= 50
    assert oct(key_file.stat().st_mode & 0o777) == "0o600"
    assert run_okpay("check", env={}, home=tmp_path).returncode == 0
    assert key_file.read_text() == first


def test_deploy_check_passes_under_production_settings(tmp_path: Path) -> None:
    production = {
        "OKPAY_DEBUG": "false",
        "OKPAY_SECRET_KEY": "p" * 20 + "roduction-secret-key-0123456789-abcdefghijklmnop",
        "OKPAY_BASE_URL": "https://pay.example.com",
        "OKPAY_ALLOWED_HOSTS": "pay.example.com",
        "OKPAY_MAIL_AUTHSERV_ID": "mx.pay.example.com",  # else mailbox.W001: inbound mail cannot prove senders
    }
    result = run_okpay("check", "--deploy", "--fail-level", "WARNING", env=production, home=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    # Without a metrics token /metrics is not there, and the check says how to set one.
    said = result.stdout + result.stderr
    assert "(okpay.I001) /metrics answers 404: OKPAY_METRICS_TOKEN is not set" in said
    assert "HINT: Set OKPAY_METRICS_TOKEN to a long random value" in said
    assert "System check identified 1 issue (1 silenced)" in said
    with_token = run_okpay("check", "--deploy", "--fail-level", "WARNING", home=tmp_path,
                           env={**production, "OKPAY_METRICS_TOKEN": "m" * 16 + "-metrics-token-0123456789"})
    assert with_token.returncode == 0, with_token.stdout + with_token.stderr
    assert "no issues" in with_token.stdout
    weak = run_okpay("check", "--deploy", "--fail-level", "WARNING", home=tmp_path,
                     env={**production, "OKPAY_METRICS_TOKEN": "change-me"})
    assert weak.returncode != 0 and "(okpay.W001) OKPAY_METRICS_TOKEN is shorter than 24" in weak.stderr
