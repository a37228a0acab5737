"""Settings every process shares: environment variables `SUPPORT_*` (pydantic-settings).

Read when a process starts (never at import time); no web framework or service is imported here,
so every layer (the transport's logging included) may read them:

- `SUPPORT_HOST`, `SUPPORT_PORT`: where a process serves HTTP (the port's default is the
  service's own: requests 8000, ledger 8002, ratings 8003, notifications 8004, search 8005);
- `SUPPORT_LOG_LEVEL` (default `INFO`);
- `SUPPORT_DATABASE_URL`: a projection service's database when its own
  `SUPPORT_<NAME>_DATABASE_URL` is not set;
- `SUPPORT_KAFKA_BOOTSTRAP` (default `127.0.0.1:9092`), `SUPPORT_REQUESTS_TOPIC`,
  `SUPPORT_CONSUMER_GROUP` (default `seller-support.<service>`), `SUPPORT_CONSUMER_ENABLED`
  (`0`: serve the API only), `SUPPORT_KAFKA_CREATE_TOPICS` (`1`: create the topics at start);
- `SUPPORT_JWT_ALGORITHM`, `SUPPORT_JWT_SECRET`, `SUPPORT_JWT_PUBLIC_KEY`, `SUPPORT_JWT_PRIVATE_KEY`:
  the bearer-token codec of the projection services (the same variables as the requests service,
  so its tokens verify everywhere);
- `SUPPORT_LEDGER_DATABASE_URL`, `SUPPORT_RATINGS_DATABASE_URL`,
  `SUPPORT_NOTIFICATIONS_DATABASE_URL`, `SUPPORT_SEARCH_DATABASE_URL`: each projection's database
  as the embedded system, the audit rebuild and `seller-support dlq` resolve it
  (`projection_database_url`: the variable, else `<data dir>/<name>.db`).
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from shared.vocabulary import REQUESTS_TOPIC as TOPIC

REQUESTS_TOPIC = TOPIC  # shared/vocabulary.py
PROJECTIONS = ("ledger", "ratings", "notifications", "search")


class ProcessSettings(BaseSettings):
    """What every process of the system reads from `SUPPORT_*` beyond its own service's class."""

    model_config = SettingsConfigDict(env_prefix="SUPPORT_", extra="ignore")

    host: str = "127.0.0.1"
    port: int | None = Field(default=None, ge=0, le=65535)
    log_level: str = "INFO"
    database_url: str | None = None
    kafka_bootstrap: str = "127.0.0.1:9092"
    requests_topic: str = REQUESTS_TOPIC
    consumer_group: str | None = None
    consumer_enabled: bool = True
    kafka_create_topics: bool = False
    jwt_algorithm: Literal["HS256", "RS256"] = "HS256"
    jwt_secret: str = ""  # unset: the development secret (shared/auth.py DEV_SECRET)
    jwt_public_key: str | None = None
    jwt_private_key: str | None = None
    # addresses/networks whose X-Forwarded-For is believed (the gateway); empty: nobody (issue 26)
    trusted_proxies: str = ""

    @field_validator("consumer_enabled", mode="before")
    @classmethod
    def _consumer_enabled(cls, value: object) -> object:
        """Only `0` turns the consumer off (as the variable always meant)."""
        return value.strip() != "0" if isinstance(value, str) else value

    @field_validator("kafka_create_topics", mode="before")
    @classmethod
    def _create_topics(cls, value: object) -> object:
        """Only `1` turns topic creation on (as the variable always meant)."""
        return value.strip() == "1" if isinstance(value, str) else value

    @field_validator("database_url", "jwt_public_key", "jwt_private_key", mode="before")
    @classmethod
    def _empty_is_unset(cls, value: object) -> object:
        return None if isinstance(value, str) and not value.strip() else value


class LoggingSettings(BaseSettings):
    """`SUPPORT_LOG_LEVEL` and `SUPPORT_LOG_FORMAT` alone: what `configure_logging()` reads when not
    given them (it must work even while another `SUPPORT_*` variable is invalid, to log that)."""

    model_config = SettingsConfigDict(env_prefix="SUPPORT_", extra="ignore")

    log_level: str = "INFO"
    # JSON lines (machines: `make up`, containers) unless set to `console` (one short human line
    # per event); `seller-support serve` defaults to `console` outside production (issue 24).
    log_format: Literal["json", "console"] | None = None


class ProjectionDatabases(BaseSettings):
    """`SUPPORT_<NAME>_DATABASE_URL` of each projection: the one place they are looked up."""

    model_config = SettingsConfigDict(env_prefix="SUPPORT_", extra="ignore")

    ledger_database_url: str = ""
    ratings_database_url: str = ""
    notifications_database_url: str = ""
    search_database_url: str = ""

    def explicit(self, name: str) -> str:
        """The projection's own variable, stripped ("" when unset)."""
        if name not in PROJECTIONS:
            raise ValueError(f"unknown projection {name!r}: one of {', '.join(PROJECTIONS)}")
        return str(getattr(self, f"{name}_database_url")).strip()


def projection_database_url(name: str, data_dir: Path) -> str:
    """A projection's database: `SUPPORT_<NAME>_DATABASE_URL`, else a SQLite file
    `<data_dir>/<name>.db` (the embedded layout)."""
    return (
        ProjectionDatabases().explicit(name) or f"sqlite:///{(data_dir / f'{name}.db').resolve()}"
    )
