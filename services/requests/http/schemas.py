"""Request and response models of the requests API (API.md): the wire types, every value bounded.

Every vocabulary here is the domain's (services/requests/domain): the `Literal`s are built from its
enums, and the seller's response bodies are one table keyed by `ResponseType` (`RESPONSE_BODIES`), so
a new response type is a new enum member, a new body model and its row here.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Annotated, Any, Literal, Union

from fastapi import Path
from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PlainSerializer,
    StrictBool,
    StrictStr,
    WithJsonSchema,
    field_validator,
    model_validator,
)

from services.requests.domain import (
    Action,
    Deadline,
    OfferState,
    Outcome,
    Reason,
    Resolution,
    ResponseType,
    Status,
    Thumbs,
    WaitingOn,
)
from shared.bounds import (
    ID_MAX_LENGTH,
    ID_PATTERN,
    MAX_ORDER_ITEMS,
    MAX_TIME,
    Id,
    Instant,
    PositiveAmount,
)

# --- wire types -----------------------------------------------------------------------------------


def iso(value: datetime) -> str:
    return (value if value.tzinfo else value.replace(tzinfo=UTC)).isoformat()


Timestamp = Annotated[
    datetime,
    PlainSerializer(iso, return_type=str),
    WithJsonSchema({"type": "string", "format": "date-time"}),
]


def _plus_from_query(value: Any) -> Any:
    # An unencoded `+` in a query string arrives as a space: `?as_of=2026-12-01T09:00:00+01:00`.
    return value.replace(" ", "+") if isinstance(value, str) else value


AsOf = Annotated[Instant | None, BeforeValidator(_plus_from_query)]
PathId = Annotated[str, Path(min_length=1, max_length=ID_MAX_LENGTH, pattern=ID_PATTERN)]
Text = Annotated[StrictStr, Field(max_length=10_000)]
Reference = Annotated[StrictStr, Field(min_length=1, max_length=2_000)]


def one_of(vocabulary: type[Any]) -> Any:
    """`Literal["a", "b", …]` of a domain enum's values, in the enum's order (the OpenAPI `enum`)."""
    return Literal[tuple(member.value for member in vocabulary)]


StatusName = one_of(Status)
ResolutionName = one_of(Resolution)
ReasonName = one_of(Reason)
OutcomeName = one_of(Outcome)
ThumbsName = one_of(Thumbs)
WaitingOnName = one_of(WaitingOn)
ActionName = one_of(Action)
OfferStateName = one_of(OfferState)
ResponseTypeName = one_of(ResponseType)

# --- a support request's state --------------------------------------------------------------------


class Deadlines(BaseModel):
    # The embedded OpenAPI document has two `Deadlines` (search's too), so FastAPI names this one by
    # its module: the name it had before the http package, kept so the published document is
    # unchanged (`services__requests__api__Deadlines`).
    __module__ = "services.requests.api"

    seller_response: Timestamp | None = None
    offer_answer: Timestamp | None = None
    return_dropoff: Timestamp | None = None
    return_inspection: Timestamp | None = None
    replacement_ship: Timestamp | None = None
    no_refund_close: Timestamp | None = Field(
        default=None, description="R17: when an unanswered no-refund explanation closes"
    )
    return_for_refund: Timestamp | None = Field(
        default=None,
        description="R16: until when the buyer may return the original of an overdue replacement",
    )


Deadlines.model_rebuild()  # its annotations resolved here: `services.requests.api` is no module


class Offer(BaseModel):
    amount: int
    state: OfferStateName | None = Field(
        default=None, description="pending (the current offer), accepted, declined or lapsed"
    )


class PartialRefundLimit(BaseModel):
    max_amount: int = Field(description="the largest amount a partial refund may offer (R13)")


class SkippedRun(BaseModel):
    first: str = Field(description="the first local day that did not count (ISO date)")
    last: str = Field(description="the last local day of the run (ISO date)")
    holiday: str | None = Field(
        default=None, description="the public holiday's name; null: weekend"
    )


class DeadlineExplanation(BaseModel):
    due: Timestamp
    set_at: Timestamp | None = None
    business_hours_given: float | None = None
    business_hours_left: float
    skipped: list[SkippedRun]


class ReturnAddressInfo(BaseModel):
    """R68: where the return goes, recorded when the return was required."""

    name: str
    line1: str
    line2: str
    city: str
    region: str
    postal_code: str
    country: str
    source: str = Field(description="`seller`: their return address; `platform`: they set none")


class ReturnInfo(BaseModel):
    tracking_number: str | None = None
    label_cost: int | None = Field(default=None, description="return shipping cost charged (R31)")
    delivered_at: Timestamp | None = None
    address: ReturnAddressInfo | None = Field(
        default=None,
        description="R68: the return address in force when the return was required (null on "
        "returns required before it was recorded)",
    )


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
                        **dict.fromkeys(k.value for k in Deadline),
                        Deadline.SELLER_RESPONSE.value: "2026-12-09T19:00:00+00:00",
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
    status: StatusName
    resolution: ResolutionName | None
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
    feedback: ThumbsName | None = None
    assigned_to: str | None = Field(default=None, description="the support agent on it")
    last_response: ResponseTypeName | None = Field(
        default=None, description="the seller's latest response type"
    )
    waiting_on: WaitingOnName | None = Field(
        default=None, description="who must act next (null once closed)"
    )
    actions: list[ActionName] = Field(
        default_factory=list, description="the steps the caller may take now (each accepted)"
    )
    limits: dict[ActionName, PartialRefundLimit] = Field(
        default_factory=dict,
        description="bounds of the listed steps that take an amount, by step "
        '(`{"partial_refund": {"max_amount": 2999}}`)',
    )
    overdue: list[str] = Field(
        default_factory=list, description="the kinds of the deadlines in view that have passed"
    )
    deadline_explanations: dict[str, DeadlineExplanation] = Field(
        default_factory=dict,
        description="why each deadline in view falls where it does (business hours, skipped days)",
    )


class HistoryEntry(BaseModel):
    version: int
    type: str = Field(description="event name, e.g. `partial_refund_offered`")
    at: Timestamp
    actor: str = Field(description="`role:id` of who caused it, or `system`/`carrier`/`platform`")
    data: dict[str, Any]


# --- command bodies -------------------------------------------------------------------------------


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
    reason: ReasonName
    description: Annotated[StrictStr, Field(min_length=1, max_length=10_000)]
    photos: Annotated[list[Reference], Field(max_length=50)] = []


class FullRefund(_Body):
    type: Literal[ResponseType.FULL_REFUND.value]
    auto_claim: StrictBool = False


class FullRefundWithReturn(_Body):
    type: Literal[ResponseType.FULL_REFUND_WITH_RETURN.value]
    auto_claim: StrictBool = False


class PartialRefund(_Body):
    type: Literal[ResponseType.PARTIAL_REFUND.value]
    amount: Annotated[PositiveAmount, Field(description="minor units, less than a full refund")]


class Replacement(_Body):
    type: Literal[ResponseType.REPLACEMENT.value]
    carrier: Id
    tracking_number: Id


class NoRefund(_Body):
    type: Literal[ResponseType.NO_REFUND.value]
    message: Annotated[StrictStr, Field(min_length=1, max_length=10_000)]
    evidence: Annotated[list[Reference], Field(min_length=1, max_length=50)]


class RequestInfo(_Body):
    type: Literal[ResponseType.REQUEST_INFO.value]
    message: Annotated[StrictStr, Field(min_length=1, max_length=10_000)]


RESPONSE_BODIES: dict[ResponseType, type[_Body]] = {
    ResponseType.FULL_REFUND: FullRefund,
    ResponseType.FULL_REFUND_WITH_RETURN: FullRefundWithReturn,
    ResponseType.PARTIAL_REFUND: PartialRefund,
    ResponseType.REPLACEMENT: Replacement,
    ResponseType.NO_REFUND: NoRefund,
    ResponseType.REQUEST_INFO: RequestInfo,
}
"""The body of each seller response type: the union below, discriminated by `type`."""

SellerResponseBody = Annotated[
    Union[tuple(RESPONSE_BODIES.values())],  # noqa: UP007 (a union built from the table)
    Field(discriminator="type"),
]


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

    outcome: OutcomeName
    evidence: Annotated[list[Reference], Field(max_length=50)] = []  # attachment ids (issue 21)


class Feedback(_Body):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"thumbs": "up"}]})

    thumbs: ThumbsName


class Assignment(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"agent_id": "a7"}]})

    # an id like every other (shared/bounds): it reaches events, pages and CSV exports (issue 26)
    agent_id: Id | None = Field(default=None, description="default: the caller")


# --- upstream facts -------------------------------------------------------------------------------


class UpstreamResult(BaseModel):
    type: str
    changed: bool = Field(description="false when the fact was already known (a duplicate)")


# --- the demo clock -------------------------------------------------------------------------------

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
