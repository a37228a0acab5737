"""The requests service's vocabulary, spelled once (API.md): every status, resolution, reason,
response type, outcome, deadline kind and scan status is one of these enums, and the API models,
the published contracts and the rules derive from them."""

from __future__ import annotations

from enum import StrEnum


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


PHOTO_REQUIRED_REASONS = frozenset({Reason.NOT_AS_DESCRIBED, Reason.WRONG_ITEM})  # R5
CONSUMABLE_ROUTED_REASONS = frozenset({Reason.MISSING_ITEM, Reason.WRONG_ITEM})  # R6


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


class ScanStatus(StrEnum):
    ACCEPTED = "accepted"
    IN_TRANSIT = "in_transit"
    DELIVERED = "delivered"
    RETURNED_TO_SENDER = "returned_to_sender"


# [decided] R38 names precious metals and money; we add the other stores of value a carrier's
# standard insurance excludes.
CLAIM_EXCLUDED_CATEGORIES = frozenset(
    {"precious_metals", "bullion", "money", "coins_and_currency", "gift_cards", "jewelry"}
)
CLAIM_CARRIER = "USPS"

SYSTEM_ACTOR = "system"
