"""The order view (R64, API.md "Orders (v1 additions)"): `GET /v1/orders` and
`GET /v1/orders/{order_id}`. The application computes the view (services/requests/application/
orders.py); these models are its public shape."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from services.requests.http.dependencies import Reader, Requests, actor
from services.requests.http.schemas import PathId
from shared.problems import problem_responses

router = APIRouter(prefix="/v1", tags=["orders"])

_EXAMPLE = {
    "order_id": "o1",
    "buyer_id": "b1",
    "seller_id": "s1",
    "currency": "USD",
    "placed_at": "2026-11-20T15:00:00+00:00",
    "marketplace": "US",
    "shipment": {
        "carrier": "USPS",
        "tracking_number": "9400111899223100000000",
        "shipped_at": "2026-11-23T09:00:00-05:00",
        "delivered_at": None,
        "last_scan": {"status": "in_transit", "at": "2026-11-24T10:00:00+00:00"},
    },
    "items": [
        {
            "item_id": "i1",
            "title": "Holo trading card",
            "price": 2500,
            "refunded": 2000,
            "refundable": 1000,
            "open_request_id": None,
            "can_open_request": True,
            "why_not": None,
            "listing_url": "https://marketplace.example/listings/i1",
            "video_receipt": {
                "url": "https://marketplace.example/shows/42/recording#t=1834",
                "at": "2026-11-20T15:30:34+00:00",
            },
        }
    ],
    "request_ids": ["6f1c2a52-5b7e-4a53-9d51-3b0f6d3e8a10"],
    "cancellation": None,
}


class LastScan(BaseModel):
    status: str = Field(description="accepted, in_transit, delivered or returned_to_sender")
    at: AwareDatetime


class ShipmentView(BaseModel):
    carrier: str | None
    tracking_number: str | None
    shipped_at: AwareDatetime | None
    delivered_at: AwareDatetime | None
    last_scan: LastScan | None = Field(description="the original shipment's latest carrier scan")


class VideoReceipt(BaseModel):
    url: str
    at: AwareDatetime | None = Field(description="the moment of the show the item sold at")


class OrderItemView(BaseModel):
    item_id: str
    title: str
    price: int = Field(description="minor units")
    refunded: int = Field(description="minor units given back for this item, across every channel")
    refundable: int = Field(description="minor units still refundable (R63)")
    open_request_id: str | None = Field(description="the request open on this item (R9)")
    can_open_request: bool = Field(description="whether the buyer can open a request on it now")
    why_not: str | None = Field(description="why not, when can_open_request is false (R64)")
    listing_url: str | None = Field(
        default=None, description="the listing, when the order service sent it (seller, support)"
    )
    video_receipt: VideoReceipt | None = Field(
        default=None,
        description="the show's recording at the moment the item sold, when the order service "
        "sent it (seller, support)",
    )


class CancellationView(BaseModel):
    status: str
    reason: str
    requested_at: AwareDatetime
    deadline: AwareDatetime | None


class OrderView(BaseModel):
    """An order as API.md "Orders (v1 additions)" describes it."""

    model_config = ConfigDict(json_schema_extra={"examples": [_EXAMPLE]})

    order_id: str
    buyer_id: str
    seller_id: str
    currency: str
    placed_at: AwareDatetime
    marketplace: str
    shipment: ShipmentView | None
    items: list[OrderItemView]
    request_ids: list[str] = Field(description="the support requests on this order, oldest first")
    cancellation: CancellationView | None


class OrderPage(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={"examples": [{"items": [_EXAMPLE], "next_cursor": None}]}
    )

    items: list[OrderView]
    next_cursor: str | None = Field(
        description="pass as `cursor` for the next page; null on the last page"
    )


@router.get(
    "/orders",
    response_model=OrderPage,
    responses=problem_responses(401, 403, 422),
    summary="Orders, newest first: a buyer's purchases, a seller's sales, all for support/auditor",
)
def list_orders(
    caller: Reader,
    requests: Requests,
    cursor: Annotated[str | None, Query(max_length=1000)] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> dict:
    return requests.list_orders(actor(caller), cursor=cursor, limit=limit)


@router.get(
    "/orders/{order_id}",
    response_model=OrderView,
    responses=problem_responses(401, 403, 404),
    summary="An order: per item what was refunded and what is left, its shipment and requests",
)
def get_order(order_id: PathId, caller: Reader, requests: Requests) -> dict:
    return requests.order_view(order_id, actor(caller))
