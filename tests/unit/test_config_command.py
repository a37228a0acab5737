"""`seller-support config` shows every service's effective settings and never a secret (issue 17):
the JWT secret and private key, and the password of any URL (databases, SMTP), are masked."""

from __future__ import annotations

import json

import pytest

from services.cli import main
from services.configuration import MASK, SERVICES, mask_url

SECRETS = {
    "SUPPORT_JWT_SECRET": "a-jwt-secret-nobody-may-read-0123456789",
    "SUPPORT_DATABASE_URL": "postgresql+psycopg://support:db-password-1@db:5432/support",
    "SUPPORT_LEDGER_DATABASE_URL": "postgresql+psycopg://ledger:db-password-2@db/ledger",
    "SUPPORT_RATINGS_DATABASE_URL": "postgresql+psycopg://ratings:db-password-3@db/ratings",
    "SUPPORT_NOTIFICATIONS_DATABASE_URL": "postgresql+psycopg://n:db-password-4@db/n",
    "SUPPORT_SMTP_URL": "smtps://mailer:smtp-password-5@mail.example:465",
}


def test_config_prints_every_service_with_secrets_masked(monkeypatch, capsys) -> None:
    # given settings with a JWT secret and passwords in every URL
    for name, value in SECRETS.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("SUPPORT_RATINGS_WINDOW_DAYS", "45")
    # when the effective configuration is printed
    assert main(["config"]) == 0
    out = capsys.readouterr().out
    shown = json.loads(out)
    # then every service is there with its values, and no secret appears anywhere
    assert set(shown) == set(SERVICES)
    assert shown["ratings"]["window_days"] == 45
    assert shown["requests"]["jwt_secret"] == MASK
    assert shown["ledger"]["database_url"] == f"postgresql+psycopg://ledger:{MASK}@db/ledger"
    assert shown["notifications"]["smtp_url"] == f"smtps://mailer:{MASK}@mail.example:465"
    for secret in ("a-jwt-secret", "db-password", "smtp-password"):
        assert secret not in out


def test_an_invalid_setting_is_reported_not_raised(monkeypatch, capsys) -> None:
    # given a ratings setting out of its bounds
    monkeypatch.setenv("SUPPORT_RATINGS_WINDOW_DAYS", "0")
    # when printed, then that service shows its error and the others their values
    assert main(["config"]) == 0
    shown = json.loads(capsys.readouterr().out)
    assert "invalid" in shown["ratings"] and "port" in shown["requests"]


@pytest.mark.parametrize(
    ("url", "masked"),
    [
        ("sqlite:////var/x.db", "sqlite:////var/x.db"),
        ("postgresql://u@h/db", "postgresql://u@h/db"),
        ("postgresql://u:p@h:5432/db?x=1", f"postgresql://u:{MASK}@h:5432/db?x=1"),
        ("smtp://:only-password@h:25", f"smtp://:{MASK}@h:25"),
        ("not a url", "not a url"),
    ],
)
def test_mask_url_hides_only_the_password(url: str, masked: str) -> None:
    assert mask_url(url) == masked
