"""`POST /v1/upstream/events` (embedded mode, role platform): one upstream order/shipment fact.

The fact type picks the handler from the application's one table (`UPSTREAM_FACTS`, plus the
handlers the composition root registered for facts other services own, e.g. the ledger's
`claim_paid`): services never import each other. With an `Idempotency-Key` the fact's
transaction records the key and the answer (issue 18, class 9): the route passes the claim, with
the answer to record, to the application.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Response, status

from services.requests.application import FactNotHandled, RequestsApplication
from services.requests.http.dependencies import Claim, Platform, Requests
from services.requests.http.examples import UPSTREAM_EXAMPLES
from services.requests.http.routes import AUTH_ERRORS
from services.requests.http.schemas import UpstreamResult
from services.requests.http.views import fact_receipt, receipt_response
from services.requests.persistence.receipts import KeyClaim
from shared.contracts.upstream import UpstreamFact
from shared.problems import ProblemError, problem_responses

UPSTREAM_PATH = "/v1/upstream/events"

upstream_router = APIRouter(prefix="/v1", tags=["upstream"])


def _ingest(requests: RequestsApplication, fact: Any, claim: KeyClaim | None) -> bool:
    # The application's one table of fact handlers (`UPSTREAM_FACTS`); facts other services own
    # (e.g. claim_paid, the ledger's) are there when the composition root that mounts those
    # services beside this one registered their handlers: services never import each other.
    try:
        return requests.apply_upstream_fact(fact, claim)
    except FactNotHandled:
        raise ProblemError(
            422,
            f"{fact.type} facts are not handled by this process; send them to shipments.v1, "
            "where the service that owns them consumes them",
            slug="fact-not-handled-here",
        ) from None


@upstream_router.post(
    UPSTREAM_PATH.removeprefix("/v1"),
    status_code=status.HTTP_202_ACCEPTED,
    response_model=UpstreamResult,
    responses={
        200: {"model": UpstreamResult, "description": "Already known: nothing changed"},
        **problem_responses(*AUTH_ERRORS, 404, 409, 413, 415, 422),
    },
    summary="Ingest one upstream order/shipment fact (platform; embedded mode)",
)
def ingest_upstream_fact(
    fact: Annotated[UpstreamFact, Body(openapi_examples=UPSTREAM_EXAMPLES)],
    platform: Platform,
    requests: Requests,
    claim: Claim,
) -> Response:
    if claim is not None:
        # The fact's transaction records the key with this answer (issue 18, class 9).
        claim.answer = lambda changed: fact_receipt(fact.type, changed)
    answer = fact_receipt(fact.type, _ingest(requests, fact, claim))
    if claim is not None and claim.recorded is not None:
        answer = claim.recorded
    return receipt_response(answer)
