"""`seller-support.ratings.v1`: a seller's public support rating changed (R40-R42), v1.

Published when a seller's `level` or `visible` changes - because of a request event, or because
time moved the 90-day window (R41) and old requests aged out. Key = `seller_id`, so one seller's
changes stay in order on one partition; `sequence` counts them per seller from 1 (a consumer keeps
the highest it saw and ignores older or repeated ones). Only public fields: the CSAT score and the
per-request explanation are private to the seller (R46, R47) and are never published.

CloudEvents: `ce_type` = `EVENT_TYPE`, `ce_id` = `id`, `ce_subject` = `seller_id`,
`ce_time` = `changed_at`.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

TOPIC = "seller-support.ratings.v1"
EVENT_TYPE = "seller_support.ratings.support_rating_changed.v1"

Level = Literal["excellent", "great", "good", "average", "below_average"]
WindowKind = Literal["90_days", "last_10"]


class SupportRatingChanged(BaseModel):
    """A seller's rating became visible or hidden, or moved to another level."""

    model_config = ConfigDict(
        extra="forbid",
        frozen=True,
        json_schema_extra={
            "examples": [
                {
                    "id": "0b0e7a52-6f43-5d0e-9a53-1c7f0c1c3e51",
                    "seller_id": "s1",
                    "sequence": 2,
                    "changed_at": "2027-03-08T14:00:00+00:00",
                    "visible": True,
                    "level": "great",
                    "previous_visible": True,
                    "previous_level": "excellent",
                    "window": "90_days",
                    "requests_considered": 14,
                }
            ]
        },
    )

    id: Annotated[str, Field(description="unique per change: the CloudEvents id")]
    seller_id: Annotated[str, Field(min_length=1, max_length=200)]
    sequence: Annotated[int, Field(ge=1, description="per seller, 1 for the first change")]
    changed_at: Annotated[
        AwareDatetime, Field(description="the business-clock instant the change was detected at")
    ]
    visible: Annotated[bool, Field(description="R40: shown on the seller's profile")]
    level: Annotated[Level | None, Field(description="R42; null while not visible")]
    previous_visible: bool
    previous_level: Level | None
    window: Annotated[WindowKind, Field(description="R41: which window the level was computed on")]
    requests_considered: Annotated[int, Field(ge=0)]


def json_schema() -> dict:
    return SupportRatingChanged.model_json_schema()
