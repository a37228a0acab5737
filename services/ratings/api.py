"""Seller support-rating API (API.md): `GET /v1/sellers/{seller_id}/support-rating`.

Anyone gets the public fields (`visible`, `level`, `window`, `requests_considered`), with or
without a token (issue 19: the rating is shown on the seller's public profile); reads without a
token are rate-limited per client address (services/ratings/public_limit.py: 429 with
`Retry-After`). The seller themself also gets `csat` (R46: private), their `score` and the
`explanation` (R47: every request in the window, what it contributed and why). An unknown seller is
simply one without requests: `visible: false`. The rating is computed at the moment of the call, so
it moves with the clock (R41).

The composition puts the `RatingsApplication` on `app.state.ratings` (services/embedded.py, or
services/ratings/main.py standalone). Feedback itself (`POST …/{id}/feedback`) is the requests
service's endpoint.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Path, Request
from pydantic import BaseModel, ConfigDict, Field

from services.ratings.application import RatingsApplication
from services.ratings.public_limit import AnonymousReadLimit
from shared.auth import MaybeAuthenticated
from shared.bounds import ID_MAX_LENGTH, ID_PATTERN
from shared.consistency import reflecting_projection_of
from shared.problems import ProblemError, problem_responses

router = APIRouter(prefix="/v1", tags=["ratings"])
# API.md: a read given a command's Consistency-Token answers once it reflects it
READS_OWN_WRITES = reflecting_projection_of("ratings")


LevelName = Literal["excellent", "great", "good", "average", "below_average"]


# `async def` although it awaits nothing: FastAPI runs a plain `def` dependency in the thread
# pool, a thread hop (and GIL hand-off) per request.
async def ratings_application(request: Request) -> RatingsApplication:
    ratings = getattr(request.app.state, "ratings", None)
    if ratings is None:
        raise ProblemError(503, "the ratings service is not ready yet; retry shortly")
    return ratings


Ratings = Annotated[RatingsApplication, Depends(ratings_application)]


class Csat(BaseModel):
    score: float | None = Field(
        description="share of thumbs up among the window's feedback (0..1); null without feedback"
    )
    responses: int
    thumbs_up: int
    thumbs_down: int


class ExplainedReason(BaseModel):
    code: str = Field(description="e.g. fitting_resolution, escalated_after_no_response")
    points: int = Field(description="+ raises (R43), - lowers (R44), 0 neutral (R45)")
    at: datetime
    why: str


class ExplainedRequest(BaseModel):
    request_id: str
    opened_at: datetime
    effect: Literal["raised", "lowered", "mixed", "none"]
    points: int
    reasons: list[ExplainedReason]


class SupportRating(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {"visible": True, "level": "great", "window": "90_days", "requests_considered": 14}
            ]
        }
    )

    visible: bool = Field(description="R40: shown once the seller has received 10 requests")
    level: LevelName | None = Field(description="R42; null while not visible")
    window: Literal["90_days", "last_10"] = Field(description="R41")
    requests_considered: int
    # only for the seller themself:
    requests_received: int | None = Field(default=None, description="all-time, seller only")
    score: float | None = Field(default=None, description="0..1, seller only (docs/ratings.md)")
    positive_points: int | None = None
    negative_points: int | None = None
    computed_at: datetime | None = None
    csat: Csat | None = Field(
        default=None, description="the seller's own satisfaction score (only for that seller)"
    )
    explanation: list[ExplainedRequest] | None = Field(
        default=None, description="which requests moved the rating and why (only for that seller)"
    )


def _anonymous_limit(request: Request) -> AnonymousReadLimit:
    # Made by the composition root from the ratings settings (services/ratings/main.py, embedded).
    limit: AnonymousReadLimit = request.app.state.ratings_anonymous_limit
    return limit


@router.get(
    "/sellers/{seller_id}/support-rating",
    dependencies=[READS_OWN_WRITES],
    responses=problem_responses(401, 422, 429, 503),
    response_model=SupportRating,
    response_model_exclude_unset=True,
    summary="A seller's public support rating (no token needed); the seller also sees CSAT and "
    "the explanation",
)
def support_rating(
    seller_id: Annotated[str, Path(min_length=1, max_length=ID_MAX_LENGTH, pattern=ID_PATTERN)],
    request: Request,
    caller: MaybeAuthenticated,
    ratings: Ratings,
) -> SupportRating:
    if caller is None:
        client = request.client.host if request.client is not None else "unknown"
        wait = _anonymous_limit(request).check(client)
        if wait:
            raise ProblemError(
                429,
                f"too many reads of public ratings from {client}; retry in {wait} s, or send a token",
                slug="rate-limited",
                headers={"Retry-After": str(wait)},
            )
    viewer = caller.sub if caller is not None and caller.role == "seller" else None
    return SupportRating.model_validate(ratings.view(seller_id, viewer_id=viewer))
