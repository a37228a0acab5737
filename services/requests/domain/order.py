"""What an order gives a support request: its items and shipment as the upstream order service
described them (R37), and the rules computed from them alone (refund amounts R30/R31, routing to
support R6, automatic-claim eligibility R38)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from services.requests.domain.errors import AutoClaimNotEligible
from services.requests.domain.policy import Policy
from services.requests.domain.vocabulary import (
    CLAIM_CARRIER,
    CLAIM_EXCLUDED_CATEGORIES,
    CONSUMABLE_ROUTED_REASONS,
    Reason,
)
from shared.money import Money, total

SELLER_NOT_ENROLLED = "seller_not_enrolled"
"""R66: the routing ground of a request on an order of a seller not enrolled (as R6's grounds)."""


@dataclass(frozen=True)
class OrderItem:
    """One item as the upstream order service described it (R37)."""

    item_id: str
    title: str
    category: str
    consumable: bool
    price: int
    seller_payout: int
    buyer_shipping_paid: int
    processing_fee: int


@dataclass(frozen=True)
class Shipment:
    carrier: str
    service: str
    tracking_number: str
    shipped_at: datetime
    insured_value: int
    extra_protection: bool


def buyer_full_refund(items: Iterable[OrderItem], currency: str) -> Money:
    """What a full refund gives back to the buyer: what they paid for the affected items."""
    return total((Money(i.price + i.buyer_shipping_paid, currency) for i in items), currency)


def seller_refund_charge(
    items: Iterable[OrderItem], currency: str, return_label_cost: int = 0
) -> Money:
    """R30 (and R31 with the return label): total payout + buyer shipping + processing fee."""
    charged = total(
        (
            Money(i.seller_payout + i.buyer_shipping_paid + i.processing_fee, currency)
            for i in items
        ),
        currency,
    )
    return charged + Money(return_label_cost, currency)


def routing_to_support(
    reason: str, items: Iterable[OrderItem], fraud_suspected: bool, seller_enrolled: bool = True
) -> str | None:
    """R6: why a request skips the seller and goes straight to support, or None. R66: a seller
    not enrolled in seller-handled support handles nothing, whatever the other grounds."""
    if not seller_enrolled:
        return SELLER_NOT_ENROLLED
    if fraud_suspected:
        return "suspected_fraud"
    if reason == Reason.OTHER:
        return "reason_not_covered"
    if reason in CONSUMABLE_ROUTED_REASONS and any(i.consumable for i in items):
        return "consumable_item"
    return None


def check_auto_claim_eligible(
    shipment: Shipment | None, items: Iterable[OrderItem], policy: Policy
) -> None:
    """R38: only USPS shipments within the default coverage, without extra protection."""
    if shipment is None:
        raise AutoClaimNotEligible("auto_claim needs a shipped order; this order has no shipment")
    if shipment.carrier.upper() != CLAIM_CARRIER:
        raise AutoClaimNotEligible(
            f"auto_claim is for USPS shipments only; this one went by {shipment.carrier} "
            "(claim it with the carrier directly)"
        )
    if shipment.extra_protection:
        raise AutoClaimNotEligible(
            "this shipment has extra shipping protection: claim it with the insurance partner"
        )
    if not 0 < shipment.insured_value <= policy.default_claim_coverage:
        raise AutoClaimNotEligible(
            f"insured value {shipment.insured_value} is outside the default coverage "
            f"(up to {policy.default_claim_coverage})"
        )
    excluded = sorted({i.category for i in items} & CLAIM_EXCLUDED_CATEGORIES)
    if excluded:
        raise AutoClaimNotEligible(f"category not eligible for automatic claims: {excluded[0]}")
