"""Settings of the search service: environment variables `SUPPORT_SEARCH_*`.

- `SUPPORT_SEARCH_DATABASE_URL`: SQLAlchemy URL of the search projection's own database (SQLite or
  PostgreSQL); default `sqlite:///<SUPPORT_DATA_DIR>/search.db`.
- `SUPPORT_SEARCH_QUEUE_SLA_HOURS`: support's target for deciding a request waiting on it, in
  business hours of the request's marketplace (default 48).
- `SUPPORT_SEARCH_PERFORMANCE_DAYS`: the window of a seller's performance figures (default 90).
"""

from __future__ import annotations

from pathlib import Path

from pydantic import AliasChoices, Field
from pydantic_settings import BaseSettings, SettingsConfigDict

DATABASE_FILE = "search.db"


class SearchSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="SUPPORT_SEARCH_", extra="ignore")

    database_url: str | None = None
    data_dir: Path = Field(
        default=Path("var"),
        validation_alias=AliasChoices("SUPPORT_SEARCH_DATA_DIR", "SUPPORT_DATA_DIR"),
    )
    queue_sla_hours: int = Field(default=48, ge=1, le=10_000)
    performance_days: int = Field(default=90, ge=1, le=3650)

    @property
    def url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / DATABASE_FILE).resolve()}"
