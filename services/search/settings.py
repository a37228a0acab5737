"""Settings of the search service: environment variables `SUPPORT_SEARCH_*`.

- `SUPPORT_SEARCH_DATABASE_URL`: SQLAlchemy URL of the search projection's own database (SQLite or
  PostgreSQL); default `sqlite:///<SUPPORT_DATA_DIR>/search.db`.
- `SUPPORT_SEARCH_QUEUE_SLA_HOURS`: support's target for deciding a request waiting on it, in
  business hours of the request's marketplace (default 48).
- `SUPPORT_SEARCH_PERFORMANCE_DAYS`: the window of a seller's performance figures (default 90).
- `SUPPORT_SEARCH_STANDING_*`: account standing's window (`MONTHS`, 3) and standards (R69,
  docs/standing.md).
"""

from __future__ import annotations

from pathlib import Path

from pydantic import AliasChoices, Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from services.search.standing import Standards

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
    # R69 (issue 28, docs/standing.md): account standing's window and standards
    standing_months: int = Field(default=3, ge=1, le=120)
    standing_answered_share: float = Field(default=0.90, ge=0, le=1)
    standing_answered_share_exceeds: float = Field(default=0.98, ge=0, le=1)
    standing_escalated_unanswered_max: int = Field(default=2, ge=0)
    standing_escalated_unanswered_exceeds_max: int = Field(default=0, ge=0)
    standing_overturned_max: int = Field(default=2, ge=0)
    standing_overturned_exceeds_max: int = Field(default=0, ge=0)

    def standards(self) -> Standards:
        return Standards(
            months=self.standing_months,
            answered_share=self.standing_answered_share,
            answered_share_exceeds=self.standing_answered_share_exceeds,
            escalated_unanswered_max=self.standing_escalated_unanswered_max,
            escalated_unanswered_exceeds_max=self.standing_escalated_unanswered_exceeds_max,
            overturned_max=self.standing_overturned_max,
            overturned_exceeds_max=self.standing_overturned_exceeds_max,
        )

    @property
    def url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / DATABASE_FILE).resolve()}"
