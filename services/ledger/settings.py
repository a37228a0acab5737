"""Settings of the ledger service: environment variables `SUPPORT_LEDGER_*`.

- `SUPPORT_LEDGER_DATABASE_URL`: SQLAlchemy URL of the ledger's own database (SQLite or PostgreSQL);
  default `sqlite:///<SUPPORT_DATA_DIR>/ledger.db`.
- `SUPPORT_DATA_DIR`: the data folder of the embedded mode (default `./var`).
- `SUPPORT_LEDGER_TOPIC`, `SUPPORT_LEDGER_CLAIMS_GROUP`, `SUPPORT_SHIPMENTS_TOPIC`: the Kafka side
  of `python -m services.ledger.main` (its own stream, the `claim_paid` consumer's group and topic).
"""

from __future__ import annotations

from pathlib import Path

from pydantic import AliasChoices, Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from shared.contracts.ledger_v1 import LEDGER_TOPIC

SHIPMENTS_TOPIC = "shipments.v1"
CLAIMS_GROUP = "seller-support.ledger.claims"


class LedgerSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="SUPPORT_LEDGER_", extra="ignore")

    database_url: str | None = None
    data_dir: Path = Field(
        default=Path("var"),
        validation_alias=AliasChoices("SUPPORT_LEDGER_DATA_DIR", "SUPPORT_DATA_DIR"),
    )
    consumer_name: str = "ledger"
    # Distributed mode (`python -m services.ledger.main`): the topics and group of its Kafka side.
    topic: str = Field(default=LEDGER_TOPIC, description="SUPPORT_LEDGER_TOPIC")
    claims_group: str = Field(default=CLAIMS_GROUP, description="SUPPORT_LEDGER_CLAIMS_GROUP")
    shipments_topic: str = Field(
        default=SHIPMENTS_TOPIC,
        validation_alias=AliasChoices("SUPPORT_SHIPMENTS_TOPIC"),
    )

    @property
    def url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{self.data_dir / 'ledger.db'}"
