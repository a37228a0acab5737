"""Settings of the ledger service: environment variables `SUPPORT_LEDGER_*`.

- `SUPPORT_LEDGER_DATABASE_URL`: SQLAlchemy URL of the ledger's own database (SQLite or PostgreSQL);
  default `sqlite:///<SUPPORT_DATA_DIR>/ledger.db`.
- `SUPPORT_DATA_DIR`: the data folder of the embedded mode (default `./var`).
"""

from __future__ import annotations

from pathlib import Path

from pydantic import AliasChoices, Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class LedgerSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="SUPPORT_LEDGER_", extra="ignore")

    database_url: str | None = None
    data_dir: Path = Field(
        default=Path("var"),
        validation_alias=AliasChoices("SUPPORT_LEDGER_DATA_DIR", "SUPPORT_DATA_DIR"),
    )
    consumer_name: str = "ledger"

    @property
    def url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{self.data_dir / 'ledger.db'}"
