"""Settings of the ratings service, read from `SUPPORT_RATINGS_*` variables.

`SUPPORT_DATA_DIR` (shared with the rest of the system) places the default SQLite file;
`SUPPORT_RATINGS_DATABASE_URL` overrides it (e.g. `postgresql+psycopg://…`). The thresholds and
weights are the formula's tunables (docs/ratings.md); they are validated so that R43-R45 keep
holding whatever is configured.
"""

from __future__ import annotations

from decimal import Decimal
from fractions import Fraction
from pathlib import Path

from pydantic import AliasChoices, Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from services.ratings.domain import Code, Formula, Level
from services.ratings.public_limit import parse_limit
from shared.contracts.ratings_v1 import TOPIC as RATINGS_TOPIC

DATABASE_FILE = "ratings.db"


class RatingsSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="SUPPORT_RATINGS_", extra="ignore")

    data_dir: Path = Field(
        default=Path("./var"),
        validation_alias=AliasChoices("SUPPORT_RATINGS_DATA_DIR", "SUPPORT_DATA_DIR"),
    )
    database_url: str = Field(
        default="", description="SQLAlchemy URL; default: a SQLite file under data_dir"
    )
    # level thresholds on the score in (0, 1): the first one reached wins (R42)
    threshold_excellent: Decimal = Decimal("0.90")
    threshold_great: Decimal = Decimal("0.75")
    threshold_good: Decimal = Decimal("0.60")
    threshold_average: Decimal = Decimal("0.40")
    # weights (magnitudes; the reason decides the sign)
    weight_fitting_resolution: int = Field(default=1, ge=0)
    weight_positive_feedback: int = Field(default=1, ge=0)
    weight_negative_feedback: int = Field(default=1, ge=0)
    weight_escalated_after_no_response: int = Field(default=2, ge=0)
    weight_overturned_by_support: int = Field(default=2, ge=0)
    prior_positive: Decimal = Field(default=Decimal(1), gt=0)
    prior_negative: Decimal = Field(default=Decimal(1), gt=0)
    # R40 / R41
    visible_from_received: int = Field(default=10, ge=1)
    window_days: int = Field(default=90, ge=1)
    window_min_handled: int = Field(default=10, ge=1)
    fallback_most_recent: int = Field(default=10, ge=1)
    # distributed mode: the stream of rating changes (`SUPPORT_RATINGS_TOPIC`)
    topic: str = RATINGS_TOPIC
    # reads of a public rating without a token, per client address (the `limits` notation)
    anonymous_rate_limit: str = "60/minute"

    @model_validator(mode="after")
    def _defaults(self) -> RatingsSettings:
        if not self.database_url:
            self.database_url = f"sqlite:///{(self.data_dir / DATABASE_FILE).resolve()}"
        self.formula()  # fail at start-up, not at the first read, on an inconsistent formula
        parse_limit(self.anonymous_rate_limit)  # and on a rate limit `limits` cannot read
        return self

    def formula(self) -> Formula:
        return Formula(
            weights={
                Code.FITTING_RESOLUTION: self.weight_fitting_resolution,
                Code.POSITIVE_FEEDBACK: self.weight_positive_feedback,
                Code.NEGATIVE_FEEDBACK: self.weight_negative_feedback,
                Code.ESCALATED_AFTER_NO_RESPONSE: self.weight_escalated_after_no_response,
                Code.OVERTURNED_BY_SUPPORT: self.weight_overturned_by_support,
            },
            thresholds={
                Level.EXCELLENT: Fraction(self.threshold_excellent),
                Level.GREAT: Fraction(self.threshold_great),
                Level.GOOD: Fraction(self.threshold_good),
                Level.AVERAGE: Fraction(self.threshold_average),
            },
            prior_positive=Fraction(self.prior_positive),
            prior_negative=Fraction(self.prior_negative),
            visible_from_received=self.visible_from_received,
            window_days=self.window_days,
            window_min_handled=self.window_min_handled,
            fallback_most_recent=self.fallback_most_recent,
        )

    def ensure_data_dir(self) -> None:
        if self.database_url.startswith("sqlite:///"):
            Path(self.database_url.removeprefix("sqlite:///")).parent.mkdir(
                parents=True, exist_ok=True
            )
