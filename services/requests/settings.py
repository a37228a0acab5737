"""Settings of the requests service and the embedded system, read from `SUPPORT_*` variables."""

from __future__ import annotations

import warnings
from datetime import date
from pathlib import Path
from typing import Literal

from jwt.warnings import InsecureKeyLengthWarning
from pydantic import Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from services.requests.domain.programme import (
    PLATFORM_RETURN_ADDRESSES,
    ProgrammeRules,
    Rollout,
)
from shared.auth import DEV_SECRET, TokenCodec

DATABASE_FILE = "seller-support.sqlite"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="SUPPORT_", extra="ignore")

    host: str = "127.0.0.1"
    port: int = Field(default=8000, ge=0, le=65535)
    data_dir: Path = Path("./var")
    database_url: str = Field(
        default="", description="SQLAlchemy URL; default: a SQLite file under data_dir"
    )
    production: bool = False
    jwt_secret: str = DEV_SECRET
    jwt_algorithm: Literal["HS256", "RS256"] = "HS256"
    jwt_public_key: str | None = None
    jwt_private_key: str | None = None
    max_body_bytes: int = Field(default=1024 * 1024, gt=0)
    timer_interval_seconds: float = Field(default=5.0, gt=0)
    log_level: str = "info"
    # addresses/networks whose X-Forwarded-For is believed (the gateway); empty: nobody (issue 26)
    trusted_proxies: str = ""
    # `json` (one JSON object per line) or `console` (one short human line per event, coloured in
    # a terminal); unset: `seller-support serve` prints console lines, production JSON (issue 24).
    log_format: Literal["json", "console"] | None = None
    # Attachments (issue 21, docs/attachments.md): limits per kind, each uploader's allowance per
    # 24 hours, the decompression-bomb guard, where the bytes go, how often the sweep runs.
    attachments_image_max_bytes: int = Field(default=10 * 1024 * 1024, gt=0)
    attachments_pdf_max_bytes: int = Field(default=10 * 1024 * 1024, gt=0)
    attachments_video_max_bytes: int = Field(default=50 * 1024 * 1024, gt=0)
    attachments_daily_uploads: int = Field(default=100, gt=0)
    attachments_daily_bytes: int = Field(default=500 * 1024 * 1024, gt=0)
    attachments_max_image_pixels: int = Field(default=40_000_000, gt=0)
    # Issue 26: an image's decoded size (width x height x 4 bytes for colour) and how many decode
    # at a time in one process (services/requests/attachments/images.py).
    attachments_max_decode_bytes: int = Field(default=128 * 2**20, gt=0)
    attachments_parallel_decodes: int = Field(default=2, ge=1, le=64)
    attachments_store: Literal["auto", "filesystem", "database"] = "auto"
    attachments_sweep_interval_seconds: float = Field(default=300.0, gt=0)
    # The case dossier's ledger entries in distributed mode: the ledger's public API (empty: the
    # ledger mounted in this process, embedded mode).
    ledger_url: str = ""

    @model_validator(mode="after")
    def _defaults_and_production_checks(self) -> Settings:
        if not self.database_url:
            path = (self.data_dir / DATABASE_FILE).resolve()
            self.database_url = f"sqlite:///{path}"
        if self.jwt_algorithm == "RS256" and not self.jwt_public_key:
            raise ValueError("SUPPORT_JWT_ALGORITHM=RS256 needs SUPPORT_JWT_PUBLIC_KEY (PEM)")
        if self.production and self.jwt_algorithm == "HS256" and self.jwt_secret == DEV_SECRET:
            raise ValueError(
                "production mode refuses the default JWT secret: set SUPPORT_JWT_SECRET "
                "(or SUPPORT_JWT_ALGORITHM=RS256 with SUPPORT_JWT_PUBLIC_KEY)"
            )
        if self.production and self.jwt_algorithm == "HS256" and len(self.jwt_secret) < 32:
            raise ValueError("production mode needs a SUPPORT_JWT_SECRET of at least 32 characters")
        return self

    def token_codec(self) -> TokenCodec:
        if self.jwt_secret == DEV_SECRET:
            # The development secret is short on purpose; production refuses it (see above).
            warnings.filterwarnings("ignore", category=InsecureKeyLengthWarning)
        return TokenCodec(
            algorithm=self.jwt_algorithm,
            secret=self.jwt_secret,
            public_key=self.jwt_public_key,
            private_key=self.jwt_private_key,
        )

    def ensure_data_dir(self) -> None:
        if self.database_url.startswith("sqlite:///"):
            Path(self.database_url.removeprefix("sqlite:///")).parent.mkdir(
                parents=True, exist_ok=True
            )
        self.data_dir.mkdir(parents=True, exist_ok=True)


class KafkaProcessSettings(BaseSettings):
    """The requests service's Kafka processes (`python -m services.requests.kafka_main`), beyond
    the shared `ProcessSettings` (database, bootstrap, request topic, topic creation, log level):
    `SUPPORT_ORDERS_TOPIC`, `SUPPORT_SHIPMENTS_TOPIC`, `SUPPORT_UPSTREAM_GROUP`,
    `SUPPORT_RELAY_NAME`, `SUPPORT_RELAY_BATCH_SIZE`, `SUPPORT_METRICS_HOST`,
    `SUPPORT_METRICS_PORT` (unset: no operations endpoint). Unset names keep the defaults the
    processes define (orders.v1, shipments.v1, …)."""

    model_config = SettingsConfigDict(env_prefix="SUPPORT_", extra="ignore")

    orders_topic: str | None = None
    shipments_topic: str | None = None
    upstream_group: str | None = None
    relay_name: str | None = None
    relay_batch_size: int = Field(default=500, gt=0)
    metrics_host: str = "127.0.0.1"
    metrics_port: int | None = Field(default=None, ge=0, le=65535)


class ProgrammeSettings(BaseSettings):
    """The seller programme (R66-R68, docs/programme.md), read by every process that opens the
    requests application (the API, the embedded system, the Kafka upstream consumer, the CLI):

    - `SUPPORT_PROGRAMME_ROLLOUT`: `complete` (default: every seller enrolled) or `gradual`;
    - `SUPPORT_PROGRAMME_START_DATES`: JSON, marketplace -> the date from which a newly registered
      seller is enrolled on registration in a gradual rollout (null: only by the platform);
    - `SUPPORT_PROGRAMME_PLATFORM_RETURN_ADDRESSES`: JSON, marketplace -> the platform's returns
      address, where a return goes when its seller has set none (R68, docs/programme.md)."""

    model_config = SettingsConfigDict(env_prefix="SUPPORT_PROGRAMME_", extra="ignore")

    rollout: Rollout = Rollout.COMPLETE
    start_dates: dict[Literal["US", "NL"], date | None] = Field(
        default_factory=lambda: {"US": date(2025, 12, 1), "NL": None}
    )
    platform_return_addresses: dict[Literal["US", "NL"], dict[str, str]] = Field(
        default_factory=lambda: dict(PLATFORM_RETURN_ADDRESSES)
    )

    def rules(self) -> ProgrammeRules:
        return ProgrammeRules(
            rollout=self.rollout,
            start_dates=dict(self.start_dates),
            platform_return_addresses={
                k: dict(v) for k, v in self.platform_return_addresses.items()
            },
        )
