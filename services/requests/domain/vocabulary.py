"""The requests service's vocabulary: the shared words of a request (status, resolution, reason,
response type, outcome, deadline kind, scan status, waiting-on, action) are spelled once in
shared/vocabulary.py and re-exported here; the constant sets below are the requests rules' own."""

from __future__ import annotations

from shared.vocabulary import (
    CLOSED_STATUSES,
    DEADLINE_KINDS,
    RESPONSE_ACTIONS,
    RETURN_FOR_REFUND_WINDOW,
    Action,
    Deadline,
    Liable,
    OfferState,
    Outcome,
    Reason,
    Resolution,
    ResponseType,
    Role,
    ScanStatus,
    Status,
    Thumbs,
    WaitingOn,
    waiting_on,
)

__all__ = [
    "CLAIM_CARRIER",
    "CLAIM_EXCLUDED_CATEGORIES",
    "CLOSED_STATUSES",
    "CONSUMABLE_ROUTED_REASONS",
    "DEADLINE_KINDS",
    "PHOTO_REQUIRED_REASONS",
    "RESPONSE_ACTIONS",
    "RETURN_FOR_REFUND_WINDOW",
    "SYSTEM_ACTOR",
    "Action",
    "Deadline",
    "Liable",
    "OfferState",
    "Outcome",
    "Reason",
    "Resolution",
    "ResponseType",
    "Role",
    "ScanStatus",
    "Status",
    "Thumbs",
    "WaitingOn",
    "waiting_on",
]

PHOTO_REQUIRED_REASONS = frozenset({Reason.NOT_AS_DESCRIBED, Reason.WRONG_ITEM})  # R5
CONSUMABLE_ROUTED_REASONS = frozenset({Reason.MISSING_ITEM, Reason.WRONG_ITEM})  # R6

# [decided] R38 names precious metals and money; we add the other stores of value a carrier's
# standard insurance excludes.
CLAIM_EXCLUDED_CATEGORIES = frozenset(
    {"precious_metals", "bullion", "money", "coins_and_currency", "gift_cards", "jewelry"}
)
CLAIM_CARRIER = "USPS"

SYSTEM_ACTOR = "system"
