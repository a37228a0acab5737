"""Seller ledger API (API.md): `GET /v1/sellers/{seller_id}/ledger`, and the carrier's claim payments.

- `GET /v1/sellers/{seller_id}/ledger` — that seller, support and auditors (other roles 403; another
  seller's ledger answers 404, as an unknown resource: no existence leak). Query: `request_id`,
  `since` (inclusive), `until` (exclusive), `currency` (picks the headline `balance`), `limit`,
  `offset`. `balance` is all-time, whatever the entry filters; `balances` lists every currency.
- `POST /v1/ledger/claims/paid` — role `platform`: a `claim_paid` fact (R39) for the distributed mode;
  201 when credited now, 200 when it was already (idempotent), 404 no claim scheduled for that
  tracking number, 409 paid before the filing date or already paid differently.

The composition puts the `LedgerApplication` on `app.state.ledger` (services/embedded.py, or
services/ledger/main.py standalone). Errors are raised as `ProblemError`s here, so the router needs no
entries in the app's error mapping.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query, Request, Response
from pydantic import BaseModel, ConfigDict, Field

from services.ledger.application import (
    DEFAULT_CURRENCY,
    MAX_PAGE,
    ClaimNotScheduled,
    ClaimPaidConflict,
    ClaimPaidTooEarly,
    InvalidQuery,
    LedgerApplication,
    Viewer,
)
from shared.auth import Principal, require_roles
from shared.bounds import ID_MAX_LENGTH, ID_PATTERN, Instant, Offset
from shared.consistency import reflecting_projection_of
from shared.contracts.upstream import ClaimPaid
from shared.problems import ProblemError, problem_responses

router = APIRouter(prefix="/v1", tags=["ledger"])
# API.md: a read given a command's Consistency-Token answers once it reflects it
READS_OWN_WRITES = reflecting_projection_of("ledger")

LedgerReader = Annotated[Principal, Depends(require_roles("seller", "support", "auditor"))]
ClaimReporter = Annotated[Principal, Depends(require_roles("platform"))]

__all__ = ["DEFAULT_CURRENCY", "router"]


# `async def` although it awaits nothing: FastAPI runs a plain `def` dependency in the thread
# pool, a thread hop (and GIL hand-off) per request.
async def ledger_application(request: Request) -> LedgerApplication:
    ledger = getattr(request.app.state, "ledger", None)
    if ledger is None:
        raise ProblemError(503, "the ledger service is not ready yet; retry shortly")
    return ledger


LedgerApp = Annotated[LedgerApplication, Depends(ledger_application)]


class Balance(BaseModel):
    amount: int = Field(description="minor units; negative: the seller owes")
    currency: str


class LedgerEntry(BaseModel):
    id: str = Field(description="stable: derived from the causing event id and the kind")
    seller_id: str
    request_id: str
    kind: str = Field(
        description="refund_no_return | refund_after_return | partial_refund | support_ruling | "
        "claim_credit"
    )
    amount: int = Field(description="minor units: negative charge, positive credit")
    currency: str
    at: datetime = Field(description="effective time on the business clock")
    event_id: str


class Ledger(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "seller_id": "s1",
                    "balance": {"amount": -2803, "currency": "USD"},
                    "balances": [{"amount": -2803, "currency": "USD"}],
                    "entries": [
                        {
                            "id": "767123c9-49fe-531f-b702-e0d8886b1ebb",
                            "seller_id": "s1",
                            "request_id": "6f1c2a52-5b7e-4a53-9d51-3b0f6d3e8a10",
                            "kind": "refund_no_return",
                            "amount": -2803,
                            "currency": "USD",
                            "at": "2026-12-08T10:00:00+00:00",
                            "event_id": "6f1c2a52-5b7e-4a53-9d51-3b0f6d3e8a10:2",
                        }
                    ],
                    "total_entries": 1,
                    "limit": 100,
                    "offset": 0,
                    "next_offset": None,
                }
            ]
        }
    )

    seller_id: str
    balance: Balance
    balances: list[Balance] = Field(description="the all-time balance in every currency")
    entries: list[LedgerEntry]
    total_entries: int = Field(description="entries matching the filters")
    limit: int
    offset: int
    next_offset: int | None


class ClaimCredit(LedgerEntry):
    created: bool = Field(description="false when this payment had been recorded before")


@router.get(
    "/sellers/{seller_id}/ledger",
    dependencies=[READS_OWN_WRITES],
    responses=problem_responses(401, 403, 404, 422),
    summary="A seller's ledger: charges negative, paid claims positive (that seller, support, auditor)",
)
def seller_ledger(
    seller_id: Annotated[str, Path(min_length=1, max_length=ID_MAX_LENGTH, pattern=ID_PATTERN)],
    caller: LedgerReader,
    ledger: LedgerApp,
    request_id: Annotated[str | None, Query(max_length=ID_MAX_LENGTH, pattern=ID_PATTERN)] = None,
    since: Annotated[Instant | None, Query(description="inclusive")] = None,
    until: Annotated[Instant | None, Query(description="exclusive")] = None,
    currency: Annotated[str | None, Query(pattern=r"^[A-Z]{3}$")] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE)] = 100,
    offset: Annotated[Offset, Query()] = 0,
) -> Ledger:
    if caller.role == "seller" and caller.sub != seller_id:
        raise ProblemError(404, f"no ledger of seller {seller_id} for you", slug="not-found")
    try:
        view = ledger.ledger(
            seller_id,
            Viewer(role=caller.role, id=caller.sub),
            request_id=request_id,
            since=since,
            until=until,
            currency=currency,
            limit=limit,
            offset=offset,
        )
    except InvalidQuery as error:
        raise ProblemError(422, str(error), slug="invalid-query") from None
    return Ledger(**view)


@router.post(
    "/ledger/claims/paid",
    status_code=201,
    responses=problem_responses(401, 403, 404, 409, 422),
    summary="The carrier paid an automatic shipping claim (R39): credit the seller once",
)
def claim_paid(
    fact: ClaimPaid, response: Response, _caller: ClaimReporter, ledger: LedgerApp
) -> ClaimCredit:
    result = record_claim_paid_or_problem(ledger, fact)
    if not result["created"]:
        response.status_code = 200
    return ClaimCredit(**result)


def record_claim_paid_or_problem(ledger: LedgerApplication, fact: ClaimPaid) -> dict[str, Any]:
    """`LedgerApplication.record_claim_paid` with its errors as problem documents (also for the
    embedded `POST /v1/upstream/events` once `claim_paid` joins the upstream union)."""
    try:
        return ledger.record_claim_paid(fact)
    except ClaimNotScheduled as error:
        raise ProblemError(404, str(error), slug="claim-not-scheduled") from None
    except ClaimPaidTooEarly as error:
        raise ProblemError(409, str(error), slug="claim-paid-too-early") from None
    except ClaimPaidConflict as error:
        raise ProblemError(409, str(error), slug="claim-paid-conflict") from None
