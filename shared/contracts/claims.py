"""Carrier claim facts (R38/R39), v1: to join the upstream union of shared/contracts/upstream.py.

`claim_paid`: the carrier reports an automatic shipping claim paid. Arrives on `shipments.v1` (and at
`POST /v1/upstream/events` in embedded mode) like the other upstream facts.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field


class ClaimPaid(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    type: Literal["claim_paid"]
    tracking_number: Annotated[str, Field(min_length=1, max_length=200)]
    amount: Annotated[int, Field(ge=0, strict=True, description="integer minor units paid")]
    at: AwareDatetime
