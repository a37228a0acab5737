"""Builders for upstream facts, order items and opened requests. Every id is unique per call."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from itertools import count
from typing import Any
from uuid import uuid4
from zoneinfo import ZoneInfo

from services.requests.application import Actor
from services.requests.domain import OrderItem, SupportRequest
from services.requests.http.views import request_view
from shared.contracts.upstream import upstream_fact_adapter

NEW_YORK = ZoneInfo("America/New_York")
AMSTERDAM = ZoneInfo("Europe/Amsterdam")

# The API.md example item: what the buyer paid, what the seller got, and the fees (minor units).
PRICE = 2500
SELLER_PAYOUT = 2200
BUYER_SHIPPING_PAID = 500
PROCESSING_FEE = 103
INSURED_VALUE = 10_000

_sequence = count(1)


def unique(prefix: str) -> str:
    return f"{prefix}-{next(_sequence)}-{uuid4().hex[:8]}"


def ny(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=NEW_YORK)


def ams(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=AMSTERDAM)


def utc(moment: datetime) -> datetime:
    return moment.astimezone(UTC)


# --- order items ----------------------------------------------------------------------------------


def item_fact(**overrides: Any) -> dict[str, Any]:
    """One item of an `order_placed` fact, with the API.md example amounts."""
    item = {
        "item_id": unique("item"),
        "title": "Holo trading card",
        "category": "trading_cards",
        "consumable": False,
        "price": PRICE,
        "seller_payout": SELLER_PAYOUT,
        "buyer_shipping_paid": BUYER_SHIPPING_PAID,
        "processing_fee": PROCESSING_FEE,
    }
    item.update(overrides)
    return item


def order_item(**overrides: Any) -> OrderItem:
    return OrderItem(**item_fact(**overrides))


def order_items(n: int = 1, **overrides: Any) -> list[OrderItem]:
    return [order_item(**overrides) for _ in range(n)]


# --- upstream facts (the JSON of API.md, validated by the contract) ------------------------------


def order_placed(
    *,
    buyer_id: str | None = None,
    seller_id: str | None = None,
    items: list[dict[str, Any]] | None = None,
    consumable: bool = False,
    marketplace: str = "US",
    currency: str = "USD",
    placed_at: datetime | None = None,
    fraud_suspected: bool = False,
    order_id: str | None = None,
):
    return upstream_fact_adapter.validate_python(
        {
            "type": "order_placed",
            "order_id": order_id or unique("order"),
            "buyer_id": buyer_id or unique("buyer"),
            "seller_id": seller_id or unique("seller"),
            "currency": currency,
            "placed_at": placed_at or ny(2026, 11, 20, 10, 0),
            "marketplace": marketplace,
            "fraud_suspected": fraud_suspected,
            "items": items if items is not None else [item_fact(consumable=consumable)],
        }
    )


def order_shipped(
    order_id: str,
    *,
    carrier: str = "USPS",
    insured_value: int = INSURED_VALUE,
    extra_protection: bool = False,
    shipped_at: datetime | None = None,
    tracking_number: str | None = None,
):
    return upstream_fact_adapter.validate_python(
        {
            "type": "order_shipped",
            "order_id": order_id,
            "carrier": carrier,
            "service": "ground_advantage",
            "tracking_number": tracking_number or unique("9400"),
            "shipped_at": shipped_at or ny(2026, 11, 23, 9, 0),
            "insured_value": insured_value,
            "extra_protection": extra_protection,
        }
    )


def order_delivered(order_id: str, *, delivered_at: datetime | None = None):
    return upstream_fact_adapter.validate_python(
        {
            "type": "order_delivered",
            "order_id": order_id,
            "delivered_at": delivered_at or ny(2026, 11, 27, 12, 0),
        }
    )


def shipment_scanned(tracking_number: str, status: str, at: datetime):
    return upstream_fact_adapter.validate_python(
        {"type": "shipment_scanned", "tracking_number": tracking_number, "status": status, "at": at}
    )


def return_label_created(
    request_id: Any, at: datetime, *, label_cost: int = 800, tracking_number: str | None = None
):
    return upstream_fact_adapter.validate_python(
        {
            "type": "return_label_created",
            "request_id": str(request_id),
            "tracking_number": tracking_number or unique("RET"),
            "label_cost": label_cost,
            "at": at,
        }
    )


def fraud_suspected(order_id: str):
    return upstream_fact_adapter.validate_python({"type": "fraud_suspected", "order_id": order_id})


# --- the aggregate, without I/O ------------------------------------------------------------------


def new_request(
    *,
    at: datetime | None = None,
    reason: str = "defective",
    items: list[OrderItem] | None = None,
    photos: list[str] | None = None,
    description: str = "It does not work.",
    marketplace: str = "US",
    currency: str = "USD",
    fraud_suspected: bool = False,
    buyer_id: str = "buyer-1",
    seller_id: str = "seller-1",
) -> SupportRequest:
    """An opened SupportRequest aggregate (unit tests)."""
    return SupportRequest.open(
        request_id=uuid4(),
        at=at or ny(2026, 12, 7, 14, 0),
        order_id=unique("order"),
        buyer_id=buyer_id,
        seller_id=seller_id,
        marketplace=marketplace,
        currency=currency,
        items=items if items is not None else order_items(),
        reason=reason,
        description=description,
        photos=photos if photos is not None else ["photo-1.jpg"],
        fraud_suspected=fraud_suspected,
    )


# --- the application ------------------------------------------------------------------------------


class Opened:
    """A request opened through the application on a fresh order, with its parties."""

    def __init__(self, app: Any, request: SupportRequest, order: Any) -> None:
        self.app = app
        self.request = request
        self.order = order
        self.id = request.id
        self.buyer = Actor("buyer", order.buyer_id)
        self.seller = Actor("seller", order.seller_id)
        self.agent = Actor("support", "agent-1")
        self.auditor = Actor("auditor", "auditor-1")

    def state(self) -> SupportRequest:
        return self.app.get_request(self.id, self.auditor)

    def view(self) -> dict[str, Any]:
        return request_view(self.state(), "auditor", self.app.clock.now())


def open_on_fresh_order(
    app: Any,
    *,
    reason: str = "defective",
    photos: list[str] | None = None,
    description: str = "It arrived broken.",
    consumable: bool = False,
    marketplace: str = "US",
    currency: str = "USD",
    fraud: bool = False,
    n_items: int = 1,
    shipped: bool = False,
    carrier: str = "USPS",
) -> Opened:
    """Records a fresh order (and its shipment, when asked) and opens a request on all its items."""
    order = order_placed(
        items=[item_fact(consumable=consumable) for _ in range(n_items)],
        marketplace=marketplace,
        currency=currency,
        fraud_suspected=fraud,
    )
    app.record_order_placed(order)
    if shipped:
        app.record_order_shipped(order_shipped(order.order_id, carrier=carrier))
    request = app.open_request(
        Actor("buyer", order.buyer_id),
        order_id=order.order_id,
        item_ids=[i.item_id for i in order.items],
        reason=reason,
        description=description,
        photos=photos if photos is not None else ["photo-1.jpg"],
    )
    return Opened(app, request, order)


def later(moment: datetime, **delta: float) -> datetime:
    return moment + timedelta(**delta)
