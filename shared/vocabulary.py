"""The words of a support request, spelled once (API.md): status, resolution, reason, response type,
outcome, liability, thumbs, deadline kind, scan status, who a request waits on, the caller's role,
the steps a caller may take, and the published topic.

Every service reads them from here: the requests domain re-exports them
(services/requests/domain/vocabulary.py), the API models, the published contracts, search, the
web app and the e-mails derive their enumerations from them. `tests/unit/test_vocabulary_spelled_once.py`
fails when one of these words is spelled as a string list anywhere else.

Pure: the standard library only.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from enum import StrEnum

REQUESTS_TOPIC = "seller-support.requests.v1"


class Status(StrEnum):
    AWAITING_SELLER = "awaiting_seller"
    AWAITING_BUYER = "awaiting_buyer"
    OFFER_PENDING = "offer_pending"
    AWAITING_RETURN = "awaiting_return"
    RETURN_IN_TRANSIT = "return_in_transit"
    AWAITING_INSPECTION = "awaiting_inspection"
    REPLACEMENT_PENDING = "replacement_pending"
    ESCALATED = "escalated"
    RESOLVED = "resolved"
    CANCELLED = "cancelled"


CLOSED_STATUSES = frozenset({Status.RESOLVED, Status.CANCELLED})


class Resolution(StrEnum):
    FULL_REFUND = "full_refund"
    PARTIAL_REFUND = "partial_refund"
    REPLACEMENT = "replacement"
    NO_REFUND = "no_refund"
    RETURN_NOT_SHIPPED = "return_not_shipped"


class Reason(StrEnum):
    SIGNIFICANTLY_DELAYED = "significantly_delayed"
    MISSING_ITEM = "missing_item"
    WRONG_ITEM = "wrong_item"
    NOT_AS_DESCRIBED = "not_as_described"
    DEFECTIVE = "defective"
    RETURNED_TO_SENDER = "returned_to_sender"
    DAMAGED_IN_TRANSIT = "damaged_in_transit"
    OTHER = "other"  # [decided] outside the buyer-protection policy: routed to support (R6)


class ResponseType(StrEnum):
    FULL_REFUND = "full_refund"
    FULL_REFUND_WITH_RETURN = "full_refund_with_return"
    PARTIAL_REFUND = "partial_refund"
    REPLACEMENT = "replacement"
    NO_REFUND = "no_refund"
    REQUEST_INFO = "request_info"


class Outcome(StrEnum):
    REFUND = "refund"
    REFUND_WITH_RETURN = "refund_with_return"
    UPHOLD_SELLER = "uphold_seller"
    PLATFORM_REFUND = "platform_refund"


class Liable(StrEnum):
    SELLER = "seller"
    PLATFORM = "platform"


class Thumbs(StrEnum):
    UP = "up"
    DOWN = "down"


class Deadline(StrEnum):
    SELLER_RESPONSE = "seller_response"
    OFFER_ANSWER = "offer_answer"
    RETURN_DROPOFF = "return_dropoff"
    RETURN_INSPECTION = "return_inspection"
    REPLACEMENT_SHIP = "replacement_ship"
    NO_REFUND_CLOSE = "no_refund_close"


# R16: after an overdue replacement the buyer may return the original until then. A window the
# state shows beside the deadlines (API.md `deadlines`), not a timer: nothing happens when it ends.
RETURN_FOR_REFUND_WINDOW = "return_for_refund"
DEADLINE_KINDS: tuple[str, ...] = (*(kind.value for kind in Deadline), RETURN_FOR_REFUND_WINDOW)


def overdue_kinds(deadlines: Mapping[str, datetime | None], at: datetime) -> list[str]:
    """The kinds of the deadlines in view that have passed by `at`, in API order (API.md
    `overdue`): a passed deadline stays in view until the step it waited for happens."""
    return [kind for kind in DEADLINE_KINDS if (due := deadlines.get(kind)) and due <= at]


class ScanStatus(StrEnum):
    ACCEPTED = "accepted"
    IN_TRANSIT = "in_transit"
    DELIVERED = "delivered"
    RETURNED_TO_SENDER = "returned_to_sender"


class OfferState(StrEnum):
    """What became of a partial-refund offer (R13-R15): only a pending offer is current."""

    PENDING = "pending"
    ACCEPTED = "accepted"
    DECLINED = "declined"
    LAPSED = "lapsed"


class Role(StrEnum):
    BUYER = "buyer"
    SELLER = "seller"
    SUPPORT = "support"
    AUDITOR = "auditor"
    ADMIN = "admin"
    PLATFORM = "platform"


class WaitingOn(StrEnum):
    """Who must act next for a request to move (API.md `waiting_on`; null once closed)."""

    SELLER = "seller"
    BUYER = "buyer"
    SUPPORT = "support"
    CARRIER = "carrier"


# [decided] (docs/decisions.md, "Issue 27"): a promised replacement waits on the seller until the
# carrier's first scan: the seller still has to hand it over (R16), the buyer has nothing to do.
WAITING_ON: Mapping[Status, WaitingOn | None] = {
    Status.AWAITING_SELLER: WaitingOn.SELLER,
    Status.AWAITING_INSPECTION: WaitingOn.SELLER,
    Status.REPLACEMENT_PENDING: WaitingOn.SELLER,
    Status.AWAITING_BUYER: WaitingOn.BUYER,
    Status.OFFER_PENDING: WaitingOn.BUYER,
    Status.AWAITING_RETURN: WaitingOn.BUYER,
    Status.RETURN_IN_TRANSIT: WaitingOn.CARRIER,
    Status.ESCALATED: WaitingOn.SUPPORT,
    Status.RESOLVED: None,
    Status.CANCELLED: None,
}


def waiting_on(status: str) -> WaitingOn | None:
    """Who a request in `status` waits on (None: nobody, it is closed)."""
    return WAITING_ON[Status(status)]


class Action(StrEnum):
    """The steps a caller may take on a request (API.md `actions`)."""

    FULL_REFUND = "full_refund"
    FULL_REFUND_WITH_RETURN = "full_refund_with_return"
    PARTIAL_REFUND = "partial_refund"
    REPLACEMENT = "replacement"
    NO_REFUND = "no_refund"
    REQUEST_INFO = "request_info"
    MESSAGE = "message"
    ACCEPT_OFFER = "accept_offer"
    DECLINE_OFFER = "decline_offer"
    CONFIRM_RETURN = "confirm_return"
    DISPUTE_RETURN = "dispute_return"
    RETURN_FOR_REFUND = "return_for_refund"
    ESCALATE = "escalate"
    FEEDBACK = "feedback"
    DECIDE = "decide"
    ASSIGN = "assign"


# Each seller response is the action of the same name.
RESPONSE_ACTIONS: Mapping[ResponseType, Action] = {
    kind: Action(kind.value) for kind in ResponseType
}
