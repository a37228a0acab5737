"""Facts from the upstream order service (R60), v1.

The same JSON is the value of `orders.v1` / `shipments.v1` Kafka messages and the body of
`POST /v1/upstream/events`. Amounts are integer minor units; times carry an offset.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, TypeAdapter

MinorUnits = Annotated[int, Field(ge=0, strict=True, description="integer minor units")]
Identifier = Annotated[str, Field(min_length=1, max_length=200)]


class _Fact(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class OrderItemFact(_Fact):
    item_id: Identifier
    title: str = Field(max_length=500)
    category: Identifier
    consumable: bool = False
    price: MinorUnits
    seller_payout: MinorUnits
    buyer_shipping_paid: MinorUnits
    processing_fee: MinorUnits


class OrderPlaced(_Fact):
    type: Literal["order_placed"]
    order_id: Identifier
    buyer_id: Identifier
    seller_id: Identifier
    currency: Annotated[str, Field(pattern=r"^[A-Z]{3}$")]
    placed_at: AwareDatetime
    marketplace: Literal["US", "NL"] = "US"
    fraud_suspected: bool = False
    items: Annotated[list[OrderItemFact], Field(min_length=1, max_length=500)]


class OrderShipped(_Fact):
    type: Literal["order_shipped"]
    order_id: Identifier
    carrier: Identifier
    service: str = Field(default="", max_length=200)
    tracking_number: Identifier
    shipped_at: AwareDatetime
    insured_value: MinorUnits = 0
    extra_protection: bool = False


class OrderDelivered(_Fact):
    type: Literal["order_delivered"]
    order_id: Identifier
    delivered_at: AwareDatetime


class ShipmentScanned(_Fact):
    type: Literal["shipment_scanned"]
    tracking_number: Identifier
    status: Literal["accepted", "in_transit", "delivered", "returned_to_sender"]
    at: AwareDatetime


class ReturnLabelCreated(_Fact):
    """[decided] The platform issues the return label; its cost is what R31 charges."""

    type: Literal["return_label_created"]
    request_id: Identifier
    tracking_number: Identifier
    label_cost: MinorUnits
    at: AwareDatetime


class ClaimPaid(_Fact):
    """[decided] The carrier reports an automatic shipping claim paid (R38/R39): the ledger's fact."""

    type: Literal["claim_paid"]
    tracking_number: Identifier
    amount: Annotated[int, Field(ge=0, strict=True, description="integer minor units paid")]
    at: AwareDatetime


class FraudSuspected(_Fact):
    """[decided] The platform's fraud signal for an order: its requests go to support (R6)."""

    type: Literal["fraud_suspected"]
    order_id: Identifier


UpstreamFact = Annotated[
    OrderPlaced
    | OrderShipped
    | OrderDelivered
    | ShipmentScanned
    | ReturnLabelCreated
    | FraudSuspected
    | ClaimPaid,
    Field(discriminator="type"),
]

upstream_fact_adapter: TypeAdapter[UpstreamFact] = TypeAdapter(UpstreamFact)
