"""Published contract v1 of `seller-support.requests.v1`: one pydantic model per request event type.

These models are the public, versioned shape of the JSON data of each event (the Kafka message value,
CloudEvents binary mode; `ce_type` = `seller_support.request.<name>.v1`). They are deliberately
separate from the aggregate's internal event classes: the aggregate may refactor freely as long as
`services/requests/outbox/publishing.py` still produces data these models accept (a test checks every event
type the aggregate can emit against its model).

Every event's data carries `request_id`, `version` (the request's version after this event, 1 for
`opened`), `at` (business time of the fact, with offset) and `actor` (`buyer:<id>`, `seller:<id>`,
`support:<id>`, `system`, `carrier`, `platform`), plus the attributes listed on each model.
Unknown fields are rejected (`extra="forbid"`): adding a field is a new contract version.

JSON Schema files generated from these models live in `shared/contracts/schemas/` (see
`python -m shared.contracts.generate`).
"""

from __future__ import annotations

from typing import Annotated, Any, ClassVar, Literal
from uuid import UUID

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from shared.vocabulary import Outcome as OutcomeWord
from shared.vocabulary import Reason as ReasonWord

CONTRACT_VERSION = "v1"
TYPE_PREFIX = "seller_support.request."
SCHEMA_ID_PREFIX = "urn:seller-support:schema:"

MinorUnits = Annotated[int, Field(ge=0, strict=True, description="integer minor units")]
Text = Annotated[str, Field(max_length=20_000)]
# The published enumerations are the shared words (shared/vocabulary.py), in their order.
Reason = Literal[tuple(r.value for r in ReasonWord)]  # type: ignore[valid-type]
OutcomeName = Literal[tuple(o.value for o in OutcomeWord)]  # type: ignore[valid-type]


class _Contract(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class OrderItemV1(_Contract):
    """One item of the order, as the upstream order service described it (amounts in minor units)."""

    item_id: str
    title: str
    category: str
    consumable: bool
    price: MinorUnits
    seller_payout: MinorUnits
    buyer_shipping_paid: MinorUnits
    processing_fee: MinorUnits


class AutoClaimV1(_Contract):
    """R38: the shipping-insurance claim the platform files for the seller."""

    tracking_number: str
    insured_value: MinorUnits
    file_at: AwareDatetime


class ReturnAddressV1(_Contract):
    """R68 (issue 28): where the return goes, as in force when the step required it: the seller's
    return address (`source` seller) or, when they had set none, the platform's returns address
    (`source` platform)."""

    name: str
    line1: str
    line2: str
    city: str
    region: str
    postal_code: str
    country: Annotated[str, Field(pattern=r"^[A-Z]{2}$")]
    source: Literal["seller", "platform"]


_RETURN_ADDRESS = Field(
    default=None,
    description="R68: where the return goes (issue 28); absent from events published before it",
)


class ItemRemedyV1(_Contract):
    """R63: one refunding step's share for one item: what the buyer got back for it, and what the
    seller was charged for it (within what was left of the item's R30 amount)."""

    item_id: str
    refund: MinorUnits
    charge: MinorUnits


_REMEDY = Field(
    default=None,
    description="R63: the step's per-item shares; absent from events published before R63",
)
_SELLER_CHARGE = Field(
    default=None,
    description="R63: what the seller is charged for this step (the shares' charges, plus R31's "
    "return label where one applies); absent from events published before R63, whose charge "
    "follows the cost table (docs/ledger.md)",
)


class RequestEventV1(_Contract):
    """Fields every published request event carries."""

    event_name: ClassVar[str]

    request_id: UUID = Field(description="the support request (also the Kafka key and ce_subject)")
    version: int = Field(ge=1, strict=True, description="the request's version after this event")
    at: AwareDatetime = Field(description="when it happened (business clock)")
    actor: str = Field(
        min_length=1, description="who caused it: role:id, system, carrier, platform"
    )

    @classmethod
    def ce_type(cls) -> str:
        return f"{TYPE_PREFIX}{cls.event_name}.{CONTRACT_VERSION}"

    @classmethod
    def schema_id(cls) -> str:
        return f"{SCHEMA_ID_PREFIX}{cls.ce_type()}"


# --- opening -------------------------------------------------------------------------------------


class OpenedV1(RequestEventV1):
    """A buyer opened a support request (R4-R9). `routed_to_support` is set when it skipped the
    seller (R6); otherwise `seller_response_due` is the seller's deadline."""

    event_name = "opened"
    order_id: str
    buyer_id: str
    seller_id: str
    marketplace: str
    currency: Annotated[str, Field(pattern=r"^[A-Z]{3}$")]
    items: Annotated[list[OrderItemV1], Field(min_length=1)]
    reason: Reason
    description: Text
    photos: list[str]
    policy_version: str
    routed_to_support: str | None
    seller_response_due: AwareDatetime | None


# --- seller responses ----------------------------------------------------------------------------


class FullRefundOfferedV1(RequestEventV1):
    """R10: the seller refunds in full; the request is resolved."""

    event_name = "full_refund_offered"
    amount: MinorUnits
    remedy: list[ItemRemedyV1] | None = _REMEDY
    seller_charge: MinorUnits | None = _SELLER_CHARGE
    auto_claim: AutoClaimV1 | None


class ReturnRequiredV1(RequestEventV1):
    """R11: full refund once the items come back."""

    event_name = "return_required"
    return_dropoff_due: AwareDatetime
    auto_claim: AutoClaimV1 | None
    return_address: ReturnAddressV1 | None = _RETURN_ADDRESS


class PartialRefundOfferedV1(RequestEventV1):
    event_name = "partial_refund_offered"
    amount: MinorUnits
    offer_answer_due: AwareDatetime


class ReplacementPromisedV1(RequestEventV1):
    event_name = "replacement_promised"
    carrier: str
    tracking_number: str
    replacement_ship_due: AwareDatetime


class NoRefundExplainedV1(RequestEventV1):
    event_name = "no_refund_explained"
    message: Text
    evidence: list[str]
    no_refund_close_due: AwareDatetime


class InformationRequestedV1(RequestEventV1):
    event_name = "information_requested"
    message: Text


# --- buyer answers -------------------------------------------------------------------------------


class OfferAcceptedV1(RequestEventV1):
    event_name = "offer_accepted"
    amount: MinorUnits
    remedy: list[ItemRemedyV1] | None = _REMEDY
    seller_charge: MinorUnits | None = _SELLER_CHARGE


class OfferDeclinedV1(RequestEventV1):
    event_name = "offer_declined"
    return_dropoff_due: AwareDatetime
    return_address: ReturnAddressV1 | None = _RETURN_ADDRESS


# --- returns -------------------------------------------------------------------------------------


class ReturnLabelIssuedV1(RequestEventV1):
    event_name = "return_label_issued"
    tracking_number: str
    label_cost: MinorUnits


class ReturnDroppedOffV1(RequestEventV1):
    event_name = "return_dropped_off"


class ReturnDeliveredV1(RequestEventV1):
    event_name = "return_delivered"
    return_inspection_due: AwareDatetime


class ReturnConfirmedV1(RequestEventV1):
    event_name = "return_confirmed"
    amount: MinorUnits
    remedy: list[ItemRemedyV1] | None = _REMEDY
    seller_charge: MinorUnits | None = _SELLER_CHARGE


class ReturnDisputedV1(RequestEventV1):
    event_name = "return_disputed"
    reason: Text
    evidence: list[str]


# --- replacement ---------------------------------------------------------------------------------


class ReplacementShippedV1(RequestEventV1):
    event_name = "replacement_shipped"


class ReturnForRefundChosenV1(RequestEventV1):
    event_name = "return_for_refund_chosen"
    return_dropoff_due: AwareDatetime
    return_address: ReturnAddressV1 | None = _RETURN_ADDRESS


# --- conversation, escalation, decision, feedback -------------------------------------------------


class MessagePostedV1(RequestEventV1):
    """`seller_response_due` is set when the buyer's message gives the turn back to the seller."""

    event_name = "message_posted"
    body: Text
    attachments: list[str]
    seller_response_due: AwareDatetime | None


class EscalatedV1(RequestEventV1):
    event_name = "escalated"
    reason: Text
    grounds: list[str]


class SupportDecidedV1(RequestEventV1):
    event_name = "support_decided"
    outcome: OutcomeName
    liable: Literal["seller", "platform"] | None
    amount: MinorUnits | None
    return_dropoff_due: AwareDatetime | None
    evidence: list[str] = Field(
        default_factory=list,
        description="references the agent cited (attachment ids as `att_…#sha256=…`); absent "
        "from decisions published before it was added",
    )
    remedy: list[ItemRemedyV1] | None = _REMEDY
    seller_charge: MinorUnits | None = _SELLER_CHARGE
    return_address: ReturnAddressV1 | None = Field(
        default=None,
        description="R68: where the return goes, with outcome refund_with_return (issue 28); "
        "absent from decisions published before it",
    )


class FeedbackGivenV1(RequestEventV1):
    event_name = "feedback_given"
    thumbs: Literal["up", "down"]


class AgentAssignedV1(RequestEventV1):
    """Issue 19: a support agent took the request waiting on support (`actor` assigned it)."""

    event_name = "agent_assigned"
    agent_id: Annotated[str, Field(min_length=1, max_length=200)]


# --- timers --------------------------------------------------------------------------------------


class SellerResponseOverdueV1(RequestEventV1):
    event_name = "seller_response_overdue"


class OfferLapsedV1(RequestEventV1):
    event_name = "offer_lapsed"


class ReturnWindowExpiredV1(RequestEventV1):
    event_name = "return_window_expired"


class ReturnAutoConfirmedV1(RequestEventV1):
    event_name = "return_auto_confirmed"
    amount: MinorUnits
    remedy: list[ItemRemedyV1] | None = _REMEDY
    seller_charge: MinorUnits | None = _SELLER_CHARGE


class ReplacementOverdueV1(RequestEventV1):
    event_name = "replacement_overdue"
    return_until: AwareDatetime


class NoRefundClosedV1(RequestEventV1):
    event_name = "no_refund_closed"


# --- registry ------------------------------------------------------------------------------------

REQUEST_EVENT_CONTRACTS: dict[str, type[RequestEventV1]] = {
    model.event_name: model
    for model in (
        OpenedV1,
        FullRefundOfferedV1,
        ReturnRequiredV1,
        PartialRefundOfferedV1,
        ReplacementPromisedV1,
        NoRefundExplainedV1,
        InformationRequestedV1,
        OfferAcceptedV1,
        OfferDeclinedV1,
        ReturnLabelIssuedV1,
        ReturnDroppedOffV1,
        ReturnDeliveredV1,
        ReturnConfirmedV1,
        ReturnDisputedV1,
        ReplacementShippedV1,
        ReturnForRefundChosenV1,
        MessagePostedV1,
        EscalatedV1,
        SupportDecidedV1,
        FeedbackGivenV1,
        AgentAssignedV1,
        SellerResponseOverdueV1,
        OfferLapsedV1,
        ReturnWindowExpiredV1,
        ReturnAutoConfirmedV1,
        ReplacementOverdueV1,
        NoRefundClosedV1,
    )
}


class UnknownEventType(LookupError):
    """No v1 contract has this event name."""


def contract_for(name: str) -> type[RequestEventV1]:
    """The model of event `name` (e.g. `full_refund_offered`)."""
    try:
        return REQUEST_EVENT_CONTRACTS[name]
    except KeyError:
        raise UnknownEventType(f"no v1 contract for request event {name!r}") from None


def validate_event_data(name: str, data: Any) -> RequestEventV1:
    """Validate published JSON data against its contract; raises UnknownEventType or
    pydantic.ValidationError."""
    return contract_for(name).model_validate(data)
