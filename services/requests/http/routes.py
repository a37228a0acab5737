"""Routes of the support requests (API.md): parse, call the application, answer.

Routes stay short: the role a route is for is a dependency (403 for any other role), the application
checks which requests the caller may see (404 for unknown and foreign alike), and `ERROR_STATUS`
(app.py) maps every application/domain error class to its status once, for the problem+json handler.
A command passes its `Idempotency-Key` claim (`Claim`) to the use case, which records it with the
answer in the command's transaction; the route then sends the recorded bytes.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Body, Query, Response, status

from services.requests.application import SellerResponse
from services.requests.http.dependencies import (
    Buyer,
    Claim,
    Party,
    Reader,
    Requests,
    Seller,
    Support,
    actor,
)
from services.requests.http.examples import RESPONSE_EXAMPLES
from services.requests.http.schemas import (
    AsOf,
    Decision,
    Dispute,
    Escalation,
    Feedback,
    HistoryEntry,
    Message,
    OpenRequest,
    PathId,
    RequestState,
    SellerResponseBody,
)
from services.requests.http.views import location, plain, state_response, states_json
from shared.problems import problem_responses

AUTH_ERRORS = (401, 403)
router = APIRouter(prefix="/v1", tags=["support requests"])
REQUEST_PATH = "/support-requests/{request_id}"
COMMAND_ERRORS = problem_responses(*AUTH_ERRORS, 404, 409, 413, 415, 422)
COMMAND = {"response_model": RequestState, "responses": COMMAND_ERRORS}


@router.post(
    "/support-requests",
    status_code=status.HTTP_201_CREATED,
    response_model=RequestState,
    responses=problem_responses(*AUTH_ERRORS, 404, 409, 413, 415, 422),
    summary="Open a support request (buyer, R4-R9)",
)
def open_request(body: OpenRequest, buyer: Buyer, requests: Requests, claim: Claim) -> Response:
    opened = requests.open_request(actor(buyer), **body.model_dump(), claim=claim)
    return state_response(
        opened,
        claim,
        buyer.role,
        opened.opened_at,
        status.HTTP_201_CREATED,
        Location=location(opened),
    )


@router.get(
    REQUEST_PATH,
    response_model=RequestState,
    responses=problem_responses(*AUTH_ERRORS, 404, 422),
    summary="A request's state, now or `as_of` a past moment (R62)",
    response_model_by_alias=True,
)
def get_request(
    request_id: PathId,
    caller: Reader,
    requests: Requests,
    as_of: Annotated[
        AsOf,
        Query(description="ISO 8601 time with offset; encode `+` as %2B or use Z"),
    ] = None,
) -> Response:
    return state_response(
        requests.get_request(request_id, actor(caller), as_of=as_of),
        None,
        caller.role,
        as_of or requests.clock.now(),
    )


@router.get(
    REQUEST_PATH + "/history",
    responses=problem_responses(*AUTH_ERRORS, 404),
    summary="Every event of a request, oldest first",
)
def get_history(request_id: PathId, caller: Reader, requests: Requests) -> list[HistoryEntry]:
    return [
        HistoryEntry.model_validate({**entry, "data": plain(entry["data"])})
        for entry in requests.history(request_id, actor(caller))
    ]


@router.get(
    "/orders/{order_id}/support-request",
    response_model=list[RequestState],
    responses=problem_responses(*AUTH_ERRORS, 404),
    summary="The support request(s) on an order, oldest first",
)
def requests_for_order(order_id: PathId, caller: Reader, requests: Requests) -> Response:
    found = requests.requests_for_order(order_id, actor(caller))
    return Response(
        states_json(found, caller.role, requests.clock.now()), media_type="application/json"
    )


@router.post(REQUEST_PATH + "/responses", **COMMAND, summary="Seller responds")
def respond(
    request_id: PathId,
    body: Annotated[SellerResponseBody, Body(openapi_examples=RESPONSE_EXAMPLES)],
    seller: Seller,
    requests: Requests,
    claim: Claim,
) -> Response:
    fields = body.model_dump()
    if "evidence" in fields:
        fields["evidence"] = tuple(fields["evidence"])
    response = SellerResponse(**fields)
    return state_response(
        requests.respond(request_id, actor(seller), response, claim),
        claim,
        seller.role,
        requests.clock.now(),
    )


@router.post(REQUEST_PATH + "/offer/accept", **COMMAND, summary="Buyer accepts")
def accept_offer(request_id: PathId, buyer: Buyer, requests: Requests, claim: Claim) -> Response:
    return state_response(
        requests.accept_offer(request_id, actor(buyer), claim),
        claim,
        buyer.role,
        requests.clock.now(),
    )


@router.post(REQUEST_PATH + "/offer/decline", **COMMAND, summary="Buyer declines")
def decline_offer(request_id: PathId, buyer: Buyer, requests: Requests, claim: Claim) -> Response:
    return state_response(
        requests.decline_offer(request_id, actor(buyer), claim),
        claim,
        buyer.role,
        requests.clock.now(),
    )


@router.post(REQUEST_PATH + "/return/confirm", **COMMAND, summary="Seller confirms")
def confirm_return(
    request_id: PathId, seller: Seller, requests: Requests, claim: Claim
) -> Response:
    return state_response(
        requests.confirm_return(request_id, actor(seller), claim),
        claim,
        seller.role,
        requests.clock.now(),
    )


@router.post(REQUEST_PATH + "/return/dispute", **COMMAND, summary="Seller disputes")
def dispute_return(
    request_id: PathId, body: Dispute, seller: Seller, requests: Requests, claim: Claim
) -> Response:
    disputed = requests.dispute_return(request_id, actor(seller), **body.model_dump(), claim=claim)
    return state_response(disputed, claim, seller.role, requests.clock.now())


@router.post(
    REQUEST_PATH + "/return-for-refund",
    **COMMAND,
    summary="Buyer returns the original after an overdue replacement (R16)",
)
def return_for_refund(
    request_id: PathId, buyer: Buyer, requests: Requests, claim: Claim
) -> Response:
    return state_response(
        requests.return_for_refund(request_id, actor(buyer), claim),
        claim,
        buyer.role,
        requests.clock.now(),
    )


@router.post(REQUEST_PATH + "/messages", **COMMAND, summary="Post a message")
def post_message(
    request_id: PathId, body: Message, party: Party, requests: Requests, claim: Claim
) -> Response:
    posted = requests.post_message(request_id, actor(party), **body.model_dump(), claim=claim)
    return state_response(posted, claim, party.role, requests.clock.now())


@router.post(REQUEST_PATH + "/escalate", **COMMAND, summary="Buyer escalates")
def escalate(
    request_id: PathId, body: Escalation, buyer: Buyer, requests: Requests, claim: Claim
) -> Response:
    escalated = requests.escalate(request_id, actor(buyer), reason=body.reason, claim=claim)
    return state_response(escalated, claim, buyer.role, requests.clock.now())


@router.post(REQUEST_PATH + "/decision", **COMMAND, summary="Support decides")
def decide(
    request_id: PathId, body: Decision, agent: Support, requests: Requests, claim: Claim
) -> Response:
    decided = requests.decide(
        request_id, actor(agent), outcome=body.outcome, evidence=body.evidence, claim=claim
    )
    return state_response(decided, claim, agent.role, requests.clock.now())


@router.post(REQUEST_PATH + "/feedback", **COMMAND, summary="Buyer feedback (R46)")
def give_feedback(
    request_id: PathId, body: Feedback, buyer: Buyer, requests: Requests, claim: Claim
) -> Response:
    given = requests.give_feedback(request_id, actor(buyer), thumbs=body.thumbs, claim=claim)
    return state_response(given, claim, buyer.role, requests.clock.now())
