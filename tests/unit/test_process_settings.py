"""The shared process settings (shared/settings.py) keep the meaning the `SUPPORT_*` variables had
when each process read them itself (issue 17: settings classes instead of `os.environ`)."""

from __future__ import annotations

import pytest

from shared.auth import DEV_SECRET
from shared.service_process import projection_service_parser, token_codec_from_settings
from shared.settings import ProcessSettings, projection_database_url


@pytest.fixture(autouse=True)
def _clean(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in (
        "SUPPORT_CONSUMER_ENABLED",
        "SUPPORT_KAFKA_CREATE_TOPICS",
        "SUPPORT_JWT_SECRET",
        "SUPPORT_PORT",
        "SUPPORT_DATABASE_URL",
        "SUPPORT_LEDGER_DATABASE_URL",
        "SUPPORT_CONSUMER_GROUP",
    ):
        monkeypatch.delenv(name, raising=False)


@pytest.mark.parametrize(("value", "enabled"), [("0", False), ("1", True), ("yes", True)])
def test_only_zero_turns_the_consumer_off(monkeypatch, value, enabled) -> None:
    # given SUPPORT_CONSUMER_ENABLED
    monkeypatch.setenv("SUPPORT_CONSUMER_ENABLED", value)
    # when a projection service reads its command line
    args = projection_service_parser("ledger", 8002).parse_args([])
    # then only "0" means API only
    assert args.no_consumer is not enabled


@pytest.mark.parametrize(("value", "create"), [("1", True), ("", False), ("0", False)])
def test_only_one_creates_topics(monkeypatch, value, create) -> None:
    # given SUPPORT_KAFKA_CREATE_TOPICS
    monkeypatch.setenv("SUPPORT_KAFKA_CREATE_TOPICS", value)
    # then only "1" creates them
    assert ProcessSettings().kafka_create_topics is create


def test_port_and_group_default_to_the_service(monkeypatch) -> None:
    # given no SUPPORT_PORT nor SUPPORT_CONSUMER_GROUP
    args = projection_service_parser("ratings", 8003).parse_args([])
    # then the service's own port and group
    assert (args.port, args.group) == (8003, "seller-support.ratings")
    # and given SUPPORT_PORT, it wins
    monkeypatch.setenv("SUPPORT_PORT", "9100")
    assert projection_service_parser("ratings", 8003).parse_args([]).port == 9100


def test_the_services_own_database_url_wins_over_the_shared_one(monkeypatch) -> None:
    # given both SUPPORT_LEDGER_DATABASE_URL and SUPPORT_DATABASE_URL
    monkeypatch.setenv("SUPPORT_DATABASE_URL", "sqlite:////tmp/shared.db")
    monkeypatch.setenv("SUPPORT_LEDGER_DATABASE_URL", "sqlite:////tmp/ledger.db")
    # then the ledger uses its own, another service the shared one
    assert (
        projection_service_parser("ledger", 8002).parse_args([]).database_url.endswith("ledger.db")
    )
    assert (
        projection_service_parser("search", 8005).parse_args([]).database_url.endswith("shared.db")
    )


def test_projection_database_url_falls_back_to_the_data_dir(monkeypatch, tmp_path) -> None:
    # given no SUPPORT_LEDGER_DATABASE_URL, then the embedded layout's SQLite file
    assert projection_database_url("ledger", tmp_path) == f"sqlite:///{tmp_path / 'ledger.db'}"
    # given one (with stray spaces), then it
    monkeypatch.setenv("SUPPORT_LEDGER_DATABASE_URL", " postgresql://h/l ")
    assert projection_database_url("ledger", tmp_path) == "postgresql://h/l"
    # an unknown projection is an error, not a silent default
    with pytest.raises(ValueError, match="unknown projection"):
        projection_database_url("ledgr", tmp_path)


def test_an_empty_jwt_secret_is_the_development_secret(monkeypatch) -> None:
    # given SUPPORT_JWT_SECRET set but empty (as the variable always meant: unset)
    monkeypatch.setenv("SUPPORT_JWT_SECRET", "")
    # then the projection services verify with the development secret
    assert token_codec_from_settings().secret == DEV_SECRET
    monkeypatch.setenv("SUPPORT_JWT_SECRET", "s" * 40)
    assert token_codec_from_settings().secret == "s" * 40
