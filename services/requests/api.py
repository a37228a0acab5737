"""HTTP routes of the requests service (API.md): parse, call the application, answer.

Routes stay short: the role a route is for is a dependency (403 for any other role), the application
checks which requests the caller may see (404 for unknown and foreign alike), and `ERROR_STATUS` maps
every application/domain error class to its status once, for the problem+json handler.
"""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any, Literal
from uuid import UUID

from fastapi import APIRouter, Body, Depends, Path, Query, Request, Response, status
from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PlainSerializer,
    StrictBool,
    StrictStr,
    TypeAdapter,
    WithJsonSchema,
    field_validator,
    model_validator,
)

from services.requests.application import (
    Actor,
    ConcurrentUpdate,
    FactNotHandled,
    Forbidden,
    ItemAlreadyOpen,
    OrderNotFound,
    RequestNotFound,
    RequestsApplication,
    SellerResponse,
    TrackingNumberInUse,
    UnknownItems,
    UnknownTrackingNumber,
    UpstreamConflict,
    request_view,
)
from services.requests.domain import IllegalTransition, InvalidCommand, SupportRequest
from services.requests.persistence import dev_clock
from services.requests.persistence.receipts import Receipt, current_claim
from shared.auth import Principal, require_roles
from shared.bounds import (
    ID_MAX_LENGTH,
    ID_PATTERN,
    MAX_ORDER_ITEMS,
    MAX_TIME,
    Id,
    Instant,
    PositiveAmount,
)
from shared.clock import AdjustableClock
from shared.contracts.upstream import (
    UpstreamFact,
)
from shared.problems import ProblemError, problem_responses

ERROR_STATUS: dict[type[BaseException], int] = {
    RequestNotFound: 404,
    OrderNotFound: 404,
    UnknownTrackingNumber: 404,
    Forbidden: 403,
    InvalidCommand: 422,
    UnknownItems: 422,
    IllegalTransition: 409,
    ItemAlreadyOpen: 409,
    ConcurrentUpdate: 409,
    TrackingNumberInUse: 409,
    UpstreamConflict: 409,
}

# --- dependencies -------------------------------------------------------------------------------
# `async def` although they do no I/O: FastAPI runs a plain `def` dependency in the thread pool, a
# thread hop per dependency per request.


async def _application(request: Request) -> RequestsApplication:
    return request.app.state.requests


async def _clock(request: Request) -> AdjustableClock:
    return request.app.state.clock


async def _timer_lock(request: Request) -> threading.Lock:
    return request.app.state.timer_lock


Requests = Annotated[RequestsApplication, Depends(_application)]
Clock = Annotated[AdjustableClock, Depends(_clock)]
TimerLock = Annotated[threading.Lock, Depends(_timer_lock)]
Buyer = Annotated[Principal, Depends(require_roles("buyer"))]
Seller = Annotated[Principal, Depends(require_roles("seller"))]
Party = Annotated[Principal, Depends(require_roles("buyer", "seller"))]
Support = Annotated[Principal, Depends(require_roles("support"))]
Reader = Annotated[Principal, Depends(require_roles("buyer", "seller", "support", "auditor"))]
Platform = Annotated[Principal, Depends(require_roles("platform"))]
Admin = Annotated[Principal, Depends(require_roles("admin"))]
AnyRole = Annotated[
    Principal,
    Depends(require_roles("buyer", "seller", "support", "auditor", "admin", "platform")),
]


def actor(principal: Principal) -> Actor:
    return Actor(principal.role, principal.sub)


# --- wire types -----------------------------------------------------------------------------------


def _iso(value: datetime) -> str:
    return (value if value.tzinfo else value.replace(tzinfo=UTC)).isoformat()


Timestamp = Annotated[
    datetime,
    PlainSerializer(_iso, return_type=str),
    WithJsonSchema({"type": "string", "format": "date-time"}),
]


def _plus_from_query(value: Any) -> Any:
    # An unencoded `+` in a query string arrives as a space: `?as_of=2026-12-01T09:00:00+01:00`.
    return value.replace(" ", "+") if isinstance(value, str) else value


AsOf = Annotated[Instant | None, BeforeValidator(_plus_from_query)]
PathId = Annotated[str, Path(min_length=1, max_length=ID_MAX_LENGTH, pattern=ID_PATTERN)]
Text = Annotated[StrictStr, Field(max_length=10_000)]
Reference = Annotated[StrictStr, Field(min_length=1, max_length=2_000)]

Status = Literal[
    "awaiting_seller",
    "awaiting_buyer",
    "offer_pending",
    "awaiting_return",
    "return_in_transit",
    "awaiting_inspection",
    "replacement_pending",
    "escalated",
    "resolved",
    "cancelled",
]
Resolution = Literal[
    "full_refund", "partial_refund", "replacement", "no_refund", "return_not_shipped"
]
Reason = Literal[
    "significantly_delayed",
    "missing_item",
    "wrong_item",
    "not_as_described",
    "defective",
    "returned_to_sender",
    "damaged_in_transit",
    "other",
]


class Deadlines(BaseModel):
    seller_response: Timestamp | None = None
    offer_answer: Timestamp | None = None
    return_dropoff: Timestamp | None = None
    return_inspection: Timestamp | None = None
    replacement_ship: Timestamp | None = None
    no_refund_close: Timestamp | None = Field(
        default=None, description="R17: when an unanswered no-refund explanation closes"
    )


class Offer(BaseModel):
    amount: int


class ReturnInfo(BaseModel):
    tracking_number: str | None = None
    label_cost: int | None = Field(default=None, description="return shipping cost charged (R31)")
    delivered_at: Timestamp | None = None


class Refund(BaseModel):
    amount: int
    currency: str


class RequestState(BaseModel):
    """A support request as API.md describes its state."""

    model_config = ConfigDict(
        populate_by_name=True,
        json_schema_extra={
            "examples": [
                {
                    "id": "6f1c2a52-5b7e-4a53-9d51-3b0f6d3e8a10",
                    "order_id": "o1",
                    "buyer_id": "b1",
                    "seller_id": "s1",
                    "item_ids": ["i1"],
                    "reason": "defective",
                    "status": "awaiting_seller",
                    "resolution": None,
                    "version": 1,
                    "opened_at": "2026-12-07T14:00:00-05:00",
                    "deadlines": {
                        "seller_response": "2026-12-09T19:00:00+00:00",
                        "offer_answer": None,
                        "return_dropoff": None,
                        "return_inspection": None,
                        "replacement_ship": None,
                        "no_refund_close": None,
                    },
                    "offer": None,
                    "return": None,
                    "escalated": False,
                    "refund": None,
                }
            ]
        },
    )

    id: str
    order_id: str
    buyer_id: str
    seller_id: str
    item_ids: list[str]
    reason: str
    status: Status
    resolution: Resolution | None
    version: int
    opened_at: Timestamp
    deadlines: Deadlines
    offer: Offer | None
    return_: ReturnInfo | None = Field(alias="return")
    escalated: bool
    refund: Refund | None
    policy_version: str | None = None
    routed_to_support: str | None = Field(
        default=None, description="R6: why the request went straight to support, if it did"
    )
    may_escalate: bool = Field(default=False, description="whether the buyer may escalate now")
    feedback: Literal["up", "down"] | None = None
    assigned_to: str | None = Field(default=None, description="the support agent on it")

    @classmethod
    def of(cls, request: SupportRequest) -> RequestState:
        return cls.model_validate(request_view(request))


class HistoryEntry(BaseModel):
    version: int
    type: str = Field(description="event name, e.g. `partial_refund_offered`")
    at: Timestamp
    actor: str = Field(description="`role:id` of who caused it, or `system`/`carrier`/`platform`")
    data: dict[str, Any]


def _plain(value: Any) -> Any:
    if isinstance(value, datetime):
        return _iso(value)
    if isinstance(value, UUID):
        return str(value)
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [_plain(v) for v in value]
    return value


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class OpenRequest(_Body):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "order_id": "o1",
                    "item_ids": ["i1"],
                    "reason": "not_as_described",
                    "description": "The card is a reprint, not the first edition in the listing.",
                    "photos": ["https://photos.example/abc.jpg"],
                }
            ]
        },
    )

    order_id: Id
    item_ids: Annotated[list[Id], Field(min_length=1, max_length=MAX_ORDER_ITEMS)]
    reason: Reason
    description: Annotated[StrictStr, Field(min_length=1, max_length=10_000)]
    photos: Annotated[list[Reference], Field(max_length=50)] = []


class FullRefund(_Body):
    type: Literal["full_refund"]
    auto_claim: StrictBool = False


class FullRefundWithReturn(_Body):
    type: Literal["full_refund_with_return"]
    auto_claim: StrictBool = False


class PartialRefund(_Body):
    type: Literal["partial_refund"]
    amount: Annotated[PositiveAmount, Field(description="minor units, less than a full refund")]


class Replacement(_Body):
    type: Literal["replacement"]
    carrier: Id
    tracking_number: Id


class NoRefund(_Body):
    type: Literal["no_refund"]
    message: Annotated[StrictStr, Field(min_length=1, max_length=10_000)]
    evidence: Annotated[list[Reference], Field(min_length=1, max_length=50)]


class RequestInfo(_Body):
    type: Literal["request_info"]
    message: Annotated[StrictStr, Field(min_length=1, max_length=10_000)]


SellerResponseBody = Annotated[
    FullRefund | FullRefundWithReturn | PartialRefund | Replacement | NoRefund | RequestInfo,
    Field(discriminator="type"),
]

RESPONSE_EXAMPLES = {
    "full_refund": {"summary": "R10 full refund", "value": {"type": "full_refund"}},
    "full_refund_with_return": {
        "summary": "R11 full refund after return, with an automatic USPS claim (R38)",
        "value": {"type": "full_refund_with_return", "auto_claim": True},
    },
    "partial_refund": {
        "summary": "R13 partial refund offer",
        "value": {"type": "partial_refund", "amount": 1000},
    },
    "replacement": {
        "summary": "R16 replacement",
        "value": {"type": "replacement", "carrier": "USPS", "tracking_number": "9400111899223"},
    },
    "no_refund": {
        "summary": "R17 no refund, with evidence",
        "value": {
            "type": "no_refund",
            "message": "The listing showed this wear.",
            "evidence": ["https://photos.example/listing.jpg"],
        },
    },
    "request_info": {
        "summary": "R18 ask for more information",
        "value": {"type": "request_info", "message": "Could you send a photo of the label?"},
    },
}


class Dispute(_Body):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "reason": "The returned card is not the one I sold.",
                    "evidence": ["https://photos.example/returned.jpg"],
                }
            ]
        },
    )

    reason: Annotated[StrictStr, Field(min_length=1, max_length=10_000)]
    evidence: Annotated[list[Reference], Field(max_length=50)] = []


class Message(_Body):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [{"body": "Would 10.00 back work for you?", "attachments": []}]
        },
    )

    body: Annotated[StrictStr, Field(min_length=1, max_length=10_000)]
    attachments: Annotated[list[Reference], Field(max_length=50)] = []


class Escalation(_Body):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"reason": "The seller has not answered in 3 days."}]},
    )

    reason: Text = ""


class Decision(_Body):
    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [{"outcome": "refund"}]}
    )

    outcome: Literal["refund", "refund_with_return", "uphold_seller", "platform_refund"]
    evidence: Annotated[list[Reference], Field(max_length=50)] = []  # attachment ids (issue 21)


class Feedback(_Body):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"thumbs": "up"}]})

    thumbs: Literal["up", "down"]


class UpstreamResult(BaseModel):
    type: str
    changed: bool = Field(description="false when the fact was already known (a duplicate)")


MAX_CLOCK = MAX_TIME


class ClockMove(_Body):
    """Exactly one of `advance` (ISO 8601 duration) and `set` (ISO 8601 instant with offset)."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [{"advance": "PT49H"}, {"set": "2026-12-01T09:00:00-05:00"}]
        },
    )

    advance: timedelta | None = Field(default=None, description="ISO 8601 duration, e.g. PT49H")
    set: Instant | None = Field(default=None, description="ISO 8601 time with offset")

    @field_validator("advance", mode="before")
    @classmethod
    def _duration_text(cls, value: Any) -> Any:
        if value is not None and not isinstance(value, str):
            raise ValueError("advance must be an ISO 8601 duration string such as PT49H")
        return value

    @field_validator("advance")
    @classmethod
    def _forward(cls, value: timedelta | None) -> timedelta | None:
        if value is not None and not timedelta(0) <= value <= timedelta(days=3660):
            raise ValueError(
                "advance must be between PT0S and P3660D: the clock only moves forward"
            )
        return value

    @model_validator(mode="after")
    def _exactly_one(self) -> ClockMove:
        if (self.advance is None) == (self.set is None):
            raise ValueError('send exactly one of "advance" and "set"')
        return self


class ClockState(BaseModel):
    now: Timestamp
    fired: int = Field(default=0, description="events caused by timers that became due")


# --- routes ---------------------------------------------------------------------------------------

AUTH_ERRORS = (401, 403)
router = APIRouter(prefix="/v1", tags=["support requests"])
REQUEST_PATH = "/support-requests/{request_id}"
COMMAND_ERRORS = problem_responses(*AUTH_ERRORS, 404, 409, 413, 415, 422)


def _state(request: SupportRequest, status_code: int = 200, **headers: str) -> Response:
    """The request's state as the response, serialized here in the route's worker thread: a returned
    model would be validated again in another thread-pool hop and serialized on the event loop. An
    idempotent command already rendered it into its receipt."""
    claim = current_claim()
    return Response(
        _content(request) if claim is None or claim.recorded is None else claim.recorded.content,
        status_code=status_code,
        headers=headers or None,
        media_type="application/json",
    )


def _content(request: SupportRequest) -> str:
    return RequestState.of(request).model_dump_json(by_alias=True)


def receipt(request: SupportRequest, created: bool) -> Receipt:
    """What a support-request command answers, stored with its `Idempotency-Key`: the same bytes as
    `_state` sends."""
    headers = {"content-type": "application/json"}
    if created:
        headers["location"] = _location(request)
    return Receipt(201 if created else 200, headers, _content(request))


def records_own_key(path: str) -> bool:
    """POSTs on support requests run one application command, which records its own key; so does
    an upstream fact the requests application applies (issue 18: the key commits with the fact)."""
    return (
        path == "/v1/support-requests"
        or path.startswith("/v1/support-requests/")
        or path == UPSTREAM_PATH
    )


UPSTREAM_PATH = "/v1/upstream/events"


def _location(request: SupportRequest) -> str:
    return f"/v1/support-requests/{request.id}"


_STATES = TypeAdapter(list[RequestState])


@router.post(
    "/support-requests",
    status_code=status.HTTP_201_CREATED,
    response_model=RequestState,
    responses=problem_responses(*AUTH_ERRORS, 404, 409, 413, 415, 422),
    summary="Open a support request (buyer, R4-R9)",
)
def open_request(body: OpenRequest, buyer: Buyer, requests: Requests) -> Response:
    opened = requests.open_request(actor(buyer), **body.model_dump())
    return _state(opened, status.HTTP_201_CREATED, Location=_location(opened))


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
    return _state(requests.get_request(request_id, actor(caller), as_of=as_of))


@router.get(
    REQUEST_PATH + "/history",
    responses=problem_responses(*AUTH_ERRORS, 404),
    summary="Every event of a request, oldest first",
)
def get_history(request_id: PathId, caller: Reader, requests: Requests) -> list[HistoryEntry]:
    return [
        HistoryEntry.model_validate({**entry, "data": _plain(entry["data"])})
        for entry in requests.history(request_id, actor(caller))
    ]


@router.get(
    "/orders/{order_id}/support-request",
    response_model=list[RequestState],
    responses=problem_responses(*AUTH_ERRORS, 404),
    summary="The support request(s) on an order, oldest first",
)
def requests_for_order(order_id: PathId, caller: Reader, requests: Requests) -> Response:
    states = [RequestState.of(r) for r in requests.requests_for_order(order_id, actor(caller))]
    return Response(_STATES.dump_json(states, by_alias=True), media_type="application/json")


COMMAND = {"response_model": RequestState, "responses": COMMAND_ERRORS}


@router.post(REQUEST_PATH + "/responses", **COMMAND, summary="Seller responds")
def respond(
    request_id: PathId,
    body: Annotated[SellerResponseBody, Body(openapi_examples=RESPONSE_EXAMPLES)],
    seller: Seller,
    requests: Requests,
) -> Response:
    fields = body.model_dump()
    if "evidence" in fields:
        fields["evidence"] = tuple(fields["evidence"])
    return _state(requests.respond(request_id, actor(seller), SellerResponse(**fields)))


@router.post(REQUEST_PATH + "/offer/accept", **COMMAND, summary="Buyer accepts")
def accept_offer(request_id: PathId, buyer: Buyer, requests: Requests) -> Response:
    return _state(requests.accept_offer(request_id, actor(buyer)))


@router.post(REQUEST_PATH + "/offer/decline", **COMMAND, summary="Buyer declines")
def decline_offer(request_id: PathId, buyer: Buyer, requests: Requests) -> Response:
    return _state(requests.decline_offer(request_id, actor(buyer)))


@router.post(REQUEST_PATH + "/return/confirm", **COMMAND, summary="Seller confirms")
def confirm_return(request_id: PathId, seller: Seller, requests: Requests) -> Response:
    return _state(requests.confirm_return(request_id, actor(seller)))


@router.post(REQUEST_PATH + "/return/dispute", **COMMAND, summary="Seller disputes")
def dispute_return(
    request_id: PathId, body: Dispute, seller: Seller, requests: Requests
) -> Response:
    return _state(requests.dispute_return(request_id, actor(seller), **body.model_dump()))


@router.post(
    REQUEST_PATH + "/return-for-refund",
    **COMMAND,
    summary="Buyer returns the original after an overdue replacement (R16)",
)
def return_for_refund(request_id: PathId, buyer: Buyer, requests: Requests) -> Response:
    return _state(requests.return_for_refund(request_id, actor(buyer)))


@router.post(REQUEST_PATH + "/messages", **COMMAND, summary="Post a message")
def post_message(request_id: PathId, body: Message, party: Party, requests: Requests) -> Response:
    return _state(requests.post_message(request_id, actor(party), **body.model_dump()))


@router.post(REQUEST_PATH + "/escalate", **COMMAND, summary="Buyer escalates")
def escalate(request_id: PathId, body: Escalation, buyer: Buyer, requests: Requests) -> Response:
    return _state(requests.escalate(request_id, actor(buyer), reason=body.reason))


@router.post(REQUEST_PATH + "/decision", **COMMAND, summary="Support decides")
def decide(request_id: PathId, body: Decision, agent: Support, requests: Requests) -> Response:
    return _state(
        requests.decide(request_id, actor(agent), outcome=body.outcome, evidence=body.evidence)
    )


@router.post(REQUEST_PATH + "/feedback", **COMMAND, summary="Buyer feedback (R46)")
def give_feedback(request_id: PathId, body: Feedback, buyer: Buyer, requests: Requests) -> Response:
    return _state(requests.give_feedback(request_id, actor(buyer), thumbs=body.thumbs))


# --- upstream facts -------------------------------------------------------------------------------

UPSTREAM_EXAMPLES = {
    "order_placed": {
        "value": {
            "type": "order_placed",
            "order_id": "o1",
            "buyer_id": "b1",
            "seller_id": "s1",
            "currency": "USD",
            "placed_at": "2026-12-01T10:00:00-05:00",
            "marketplace": "US",
            "items": [
                {
                    "item_id": "i1",
                    "title": "Holo card",
                    "category": "trading_cards",
                    "consumable": False,
                    "price": 2500,
                    "seller_payout": 2200,
                    "buyer_shipping_paid": 500,
                    "processing_fee": 103,
                }
            ],
        }
    },
    "order_shipped": {
        "value": {
            "type": "order_shipped",
            "order_id": "o1",
            "carrier": "USPS",
            "service": "ground_advantage",
            "tracking_number": "9400100000000000000001",
            "shipped_at": "2026-12-02T10:00:00-05:00",
            "insured_value": 10000,
            "extra_protection": False,
        }
    },
    "order_delivered": {
        "value": {
            "type": "order_delivered",
            "order_id": "o1",
            "delivered_at": "2026-12-04T15:00:00-05:00",
        }
    },
    "shipment_scanned": {
        "value": {
            "type": "shipment_scanned",
            "tracking_number": "9400100000000000000002",
            "status": "delivered",
            "at": "2026-12-10T12:00:00-05:00",
        }
    },
    "return_label_created": {
        "value": {
            "type": "return_label_created",
            "request_id": "6f1c2a52-5b7e-4a53-9d51-3b0f6d3e8a10",
            "tracking_number": "9400100000000000000002",
            "label_cost": 450,
            "at": "2026-12-08T09:00:00-05:00",
        }
    },
    "fraud_suspected": {"value": {"type": "fraud_suspected", "order_id": "o1"}},
    "claim_paid": {
        "value": {
            "type": "claim_paid",
            "tracking_number": "9400100000000000000001",
            "amount": 2500,
            "at": "2026-12-20T09:00:00-05:00",
        }
    },
}

upstream_router = APIRouter(prefix="/v1", tags=["upstream"])


def _ingest(request: Request, requests: RequestsApplication, fact: Any) -> bool:
    # The application's one table of fact handlers; facts other services own (e.g. claim_paid, the
    # ledger's) are there when the composition root that mounts those services beside this one
    # registered their handlers: services never import each other.
    try:
        return requests.apply_upstream_fact(fact)
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
    request: Request,
) -> Response:
    claim = current_claim()
    if claim is not None:
        # The fact's transaction records the key with this answer (issue 18, class 9).
        claim.answer = lambda changed: _fact_receipt(fact.type, changed)
    answer = _fact_receipt(fact.type, _ingest(request, requests, fact))
    if claim is not None and claim.recorded is not None:
        answer = claim.recorded
    return Response(answer.content, status_code=answer.status_code, media_type="application/json")


def _fact_receipt(fact_type: str, changed: bool) -> Receipt:
    content = UpstreamResult(type=fact_type, changed=changed).model_dump_json()
    status_code = status.HTTP_202_ACCEPTED if changed else status.HTTP_200_OK
    return Receipt(status_code, {"content-type": "application/json"}, content)


# --- admin clock (non-production only: not mounted in production) ---------------------------------

admin_router = APIRouter(prefix="/v1/admin", tags=["admin"])


@admin_router.get("/clock", responses=problem_responses(401, 403), summary="The business clock")
def read_clock(caller: AnyRole, clock: Clock) -> ClockState:
    return ClockState(now=clock.now(), fired=0)


@admin_router.post(
    "/clock",
    responses=problem_responses(*AUTH_ERRORS, 409, 413, 415, 422),
    summary="Move the demo clock forward and fire every timer that became due (admin)",
)
def move_clock(
    body: ClockMove,
    admin: Admin,
    clock: Clock,
    requests: Requests,
    lock: TimerLock,
    request: Request,
) -> ClockState:
    with lock:
        target = body.set if body.set is not None else clock.now() + (body.advance or timedelta(0))
        if target >= MAX_CLOCK:
            raise ProblemError(422, f"the clock cannot move beyond {MAX_CLOCK.isoformat()}")
        try:
            now = clock.set(target) if body.set is not None else clock.advance(body.advance)
        except ValueError as error:
            raise ProblemError(409, str(error), slug="clock-moves-forward-only") from None
        if getattr(request.app.state, "durable_clock", False):
            dev_clock.save(requests.engine, clock)  # issue 18: a restart resumes here
        fired = requests.fire_due(now)
    return ClockState(now=now, fired=fired)
