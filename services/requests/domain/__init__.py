"""The requests service's domain: pure rules, no clock, no I/O (only the standard library,
`eventsourcing.domain` and pure shared helpers; import-linter checks it).

- `vocabulary`: the enums and constant sets, spelled once;
- `errors`: the domain errors (`InvalidCommand` 422, `IllegalTransition` 409);
- `policy`: the versioned durations;
- `order`: an order's items and shipment, and the rules computed from them alone;
- `request`: the `SupportRequest` aggregate and its events;
- `events`: the published name and data of an event.

Every public name is re-exported here: `from services.requests.domain import Status` keeps working,
and the stored event topics `services.requests.domain:SupportRequest.<Event>` resolve here.
"""

from __future__ import annotations

from services.requests.domain.errors import (
    AutoClaimNotEligible,
    ConversationClosed,
    DecisionNotDue,
    DescriptionRequired,
    DomainError,
    DuplicateItems,
    EscalationNotAllowed,
    EvidenceRequired,
    FeedbackNotAllowed,
    IllegalTransition,
    InvalidCommand,
    InvalidPartialAmount,
    MessageRequired,
    NoItemsNamed,
    NoOfferPending,
    NoReturnToInspect,
    NotWaitingOnSupport,
    PhotosRequired,
    ResponseNotDue,
    ReturnForRefundNotAllowed,
    ReturnLabelNotExpected,
    TrackingRequired,
    UnknownReason,
)
from services.requests.domain.events import (
    event_data,
    event_name,
    event_name_of_class,
)
from services.requests.domain.order import (
    OrderItem,
    Shipment,
    buyer_full_refund,
    check_auto_claim_eligible,
    routing_to_support,
    seller_refund_charge,
)
from services.requests.domain.policy import (
    CURRENT_POLICY_VERSION,
    POLICIES,
    POLICY_2025_09,
    Policy,
    UnknownPolicyError,
    policy_for,
)
from services.requests.domain.request import (
    SupportRequest,
)
from services.requests.domain.vocabulary import (
    CLAIM_CARRIER,
    CLAIM_EXCLUDED_CATEGORIES,
    CLOSED_STATUSES,
    CONSUMABLE_ROUTED_REASONS,
    PHOTO_REQUIRED_REASONS,
    SYSTEM_ACTOR,
    Deadline,
    Liable,
    Outcome,
    Reason,
    Resolution,
    ResponseType,
    ScanStatus,
    Status,
    Thumbs,
)

__all__ = [
    "CLAIM_CARRIER",
    "CLAIM_EXCLUDED_CATEGORIES",
    "CLOSED_STATUSES",
    "CONSUMABLE_ROUTED_REASONS",
    "CURRENT_POLICY_VERSION",
    "PHOTO_REQUIRED_REASONS",
    "POLICIES",
    "POLICY_2025_09",
    "SYSTEM_ACTOR",
    "AutoClaimNotEligible",
    "ConversationClosed",
    "Deadline",
    "DecisionNotDue",
    "DescriptionRequired",
    "DomainError",
    "DuplicateItems",
    "EscalationNotAllowed",
    "EvidenceRequired",
    "FeedbackNotAllowed",
    "IllegalTransition",
    "InvalidCommand",
    "InvalidPartialAmount",
    "Liable",
    "MessageRequired",
    "NoItemsNamed",
    "NoOfferPending",
    "NoReturnToInspect",
    "NotWaitingOnSupport",
    "OrderItem",
    "Outcome",
    "PhotosRequired",
    "Policy",
    "Reason",
    "Resolution",
    "ResponseNotDue",
    "ResponseType",
    "ReturnForRefundNotAllowed",
    "ReturnLabelNotExpected",
    "ScanStatus",
    "Shipment",
    "Status",
    "SupportRequest",
    "Thumbs",
    "TrackingRequired",
    "UnknownPolicyError",
    "UnknownReason",
    "buyer_full_refund",
    "check_auto_claim_eligible",
    "event_data",
    "event_name",
    "event_name_of_class",
    "policy_for",
    "routing_to_support",
    "seller_refund_charge",
]
