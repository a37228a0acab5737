"""Facts from the upstream order service (R60), v1.

The same JSON is the value of `orders.v1` / `shipments.v1` Kafka messages and the body of
`POST /v1/upstream/events`. Amounts are integer minor units; times carry an offset.

Tolerant reader, strict on meaning (issue 18): a field this version does not know is ignored
(producers add fields), but every known field is bounded (shared/bounds.py) and an order naming one
item id twice is invalid.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, model_validator

from shared.bounds import MAX_ORDER_ITEMS, MAX_ORDER_TOTAL, Amount, Id, Instant


class _Fact(BaseModel):
    # Tolerant reader: unknown fields are ignored, known ones are checked.
    model_config = ConfigDict(extra="ignore", frozen=True)


HttpsUrl = Annotated[
    str,
    Field(
        max_length=2000,
        pattern=r"^https://[^\s]+$",
        description="an https URL without spaces, at most 2000 characters",
    ),
]


class OrderItemFact(_Fact):
    item_id: Id
    title: str = Field(max_length=500)
    category: Id
    consumable: bool = False
    price: Amount
    seller_payout: Amount
    buyer_shipping_paid: Amount
    processing_fee: Amount
    # R64 (optional): where the item was listed, and the show's recording at the moment it sold
    # (the article tells sellers to compare a not-as-described claim with them). Shown to the
    # seller and support on the order.
    listing_url: HttpsUrl | None = None
    video_receipt_url: HttpsUrl | None = None
    video_receipt_at: Instant | None = None


class OrderPlaced(_Fact):
    type: Literal["order_placed"]
    order_id: Id
    buyer_id: Id
    seller_id: Id
    currency: Annotated[str, Field(pattern=r"^[A-Z]{3}$")]
    placed_at: Instant
    marketplace: Literal["US", "NL"] = "US"
    fraud_suspected: bool = False
    items: Annotated[list[OrderItemFact], Field(min_length=1, max_length=MAX_ORDER_ITEMS)]

    @model_validator(mode="after")
    def _check_items(self) -> OrderPlaced:
        ids = [item.item_id for item in self.items]
        repeated = sorted({i for i in ids if ids.count(i) > 1}) if len(set(ids)) < len(ids) else []
        if repeated:
            raise ValueError(f"items: item ids must be unique; repeated: {', '.join(repeated)}")
        for name in ("price", "seller_payout", "buyer_shipping_paid", "processing_fee"):
            total = sum(getattr(item, name) for item in self.items)
            if total > MAX_ORDER_TOTAL:
                raise ValueError(
                    f"items: the order's total {name} is {total}, more than {MAX_ORDER_TOTAL}"
                )
        return self


class OrderShipped(_Fact):
    type: Literal["order_shipped"]
    order_id: Id
    carrier: Id
    service: str = Field(default="", max_length=200)
    tracking_number: Id
    shipped_at: Instant
    insured_value: Amount = 0
    extra_protection: bool = False


class OrderDelivered(_Fact):
    type: Literal["order_delivered"]
    order_id: Id
    delivered_at: Instant


class ShipmentScanned(_Fact):
    type: Literal["shipment_scanned"]
    tracking_number: Id
    status: Literal["accepted", "in_transit", "delivered", "returned_to_sender"]
    at: Instant


class ReturnLabelCreated(_Fact):
    """[decided] The platform issues the return label; its cost is what R31 charges."""

    type: Literal["return_label_created"]
    request_id: Id
    tracking_number: Id
    label_cost: Amount
    at: Instant


class ClaimPaid(_Fact):
    """[decided] The carrier reports an automatic shipping claim paid (R38/R39): the ledger's fact."""

    type: Literal["claim_paid"]
    tracking_number: Id
    amount: Annotated[Amount, Field(description="integer minor units paid")]
    at: Instant


class FraudSuspected(_Fact):
    """[decided] The platform's fraud signal for an order: its requests go to support (R6)."""

    type: Literal["fraud_suspected"]
    order_id: Id


class SellerRegistered(_Fact):
    """R66: the order service reports a seller who joined the marketplace. With a gradual rollout
    (`SUPPORT_PROGRAMME_ROLLOUT=gradual`) a seller registered on or after the marketplace's start
    date is enrolled in seller-handled support by this fact."""

    type: Literal["seller_registered"]
    seller_id: Id
    marketplace: Literal["US", "NL"] = "US"
    registered_at: Instant


UpstreamFact = Annotated[
    OrderPlaced
    | OrderShipped
    | OrderDelivered
    | ShipmentScanned
    | ReturnLabelCreated
    | FraudSuspected
    | ClaimPaid
    | SellerRegistered,
    Field(discriminator="type"),
]

upstream_fact_adapter: TypeAdapter[UpstreamFact] = TypeAdapter(UpstreamFact)
