"""The order view (R64, API.md "Orders (v1 additions)"): an order as its parties, support and
auditors see it — per item what was refunded across every channel and what is left (R63), whether a
request can be opened now and why not, the shipment, the requests on it — and the list of orders,
newest first, with keyset cursors like the request list. Read-only."""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import asdict
from datetime import datetime
from typing import Any

from services.requests.application.actors import Actor
from services.requests.application.core import RequestsCore, _aware
from services.requests.application.errors import Forbidden, OrderNotFound
from services.requests.domain import InvalidCommand, OrderItem
from services.requests.domain.order_view import OrderDetails, item_standing

MAX_PAGE = 200
DEFAULT_PAGE = 50


class InvalidCursor(InvalidCommand):
    """A cursor this API did not make, or made for another caller's list (422)."""


class Orders(RequestsCore):
    def order_view(self, order_id: str, actor: Actor) -> dict[str, Any]:
        with self.side_tables.transaction(commit=False) as session:
            order = self._order_row(session, order_id)
            if order is None or not _may_see(order, actor):
                raise OrderNotFound(f"no order {order_id}")
            details = self.side_tables.order_details(session, [order_id])[order_id]
        return _view(order, details, actor)

    def list_orders(
        self, actor: Actor, *, cursor: str | None = None, limit: int = DEFAULT_PAGE
    ) -> dict[str, Any]:
        """Buyer: their purchases; seller: their sales; support and auditor: all (R64)."""
        if actor.role not in ("buyer", "seller", "support", "auditor"):
            raise Forbidden(f"a {actor.role} has no orders to list")
        if not 1 <= limit <= MAX_PAGE:
            raise InvalidCommand(f"limit must be 1 to {MAX_PAGE}, got {limit}")
        scope = _scope(actor)
        after = None if cursor is None else decode_cursor(cursor, scope)
        with self.side_tables.transaction(commit=False) as session:
            rows = self.side_tables.orders_page(
                session,
                buyer_id=actor.id if actor.role == "buyer" else None,
                seller_id=actor.id if actor.role == "seller" else None,
                after=after,
                limit=limit + 1,
            )
            page = rows[:limit]
            details = self.side_tables.order_details(session, [r["order_id"] for r in page])
        next_cursor = None
        if len(rows) > limit:
            last = page[-1]
            next_cursor = encode_cursor(scope, last["placed_at"], last["order_id"])
        return {
            "items": [_view(row, details[row["order_id"]], actor) for row in page],
            "next_cursor": next_cursor,
        }


def _may_see(order: dict[str, Any], actor: Actor) -> bool:
    if actor.role in ("support", "auditor"):
        return True
    if actor.role == "buyer":
        return order["buyer_id"] == actor.id
    if actor.role == "seller":
        return order["seller_id"] == actor.id
    return False


def _scope(actor: Actor) -> str:
    return "all" if actor.role in ("support", "auditor") else f"{actor.role}:{actor.id}"


def _view(order: dict[str, Any], details: OrderDetails, actor: Actor) -> dict[str, Any]:
    cancelled = False  # R65's cancellation: not built yet (docs/decisions.md, issue 25)
    items = [
        {
            **asdict(
                item_standing(
                    _item(raw),
                    details.records.get(raw["item_id"]),
                    details.locks.get(raw["item_id"]),
                    cancelled=cancelled,
                )
            ),
            **_evidence(raw, actor),
        }
        for raw in order["items"]
    ]
    shipment = None
    if order.get("shipment"):
        shipped = order["shipment"]
        scan = details.last_scan
        shipment = {
            "carrier": shipped.get("carrier"),
            "tracking_number": shipped.get("tracking_number"),
            "shipped_at": shipped.get("shipped_at"),
            "delivered_at": None
            if order.get("delivered_at") is None
            else _aware(order["delivered_at"]),
            "last_scan": None
            if scan is None
            else {"status": scan["status"], "at": _aware(scan["at"])},  # type: ignore[arg-type]
        }
    return {
        "order_id": order["order_id"],
        "buyer_id": order["buyer_id"],
        "seller_id": order["seller_id"],
        "currency": order["currency"],
        "placed_at": _aware(order["placed_at"]),
        "marketplace": order["marketplace"],
        "shipment": shipment,
        "items": items,
        "request_ids": list(details.request_ids),
        "cancellation": None,
    }


_ITEM_FIELDS = set(OrderItem.__dataclass_fields__)


def _evidence(raw: dict[str, Any], actor: Actor) -> dict[str, Any]:
    """R64: the listing and the show's video-receipt moment, from `order_placed` when it sent
    them, shown to the seller, support and auditors (to compare a not-as-described claim)."""
    if actor.role == "buyer":
        return {"listing_url": None, "video_receipt": None}
    receipt = None
    if raw.get("video_receipt_url"):
        receipt = {"url": raw["video_receipt_url"], "at": raw.get("video_receipt_at")}
    return {"listing_url": raw.get("listing_url"), "video_receipt": receipt}


def _item(raw: dict[str, Any]) -> OrderItem:
    return OrderItem(**{k: v for k, v in raw.items() if k in _ITEM_FIELDS})


# --- cursors: the keyset position (placed_at, order id) of a page's last order, bound to the
# caller's scope so a cursor is not replayed against another list ---------------------------------


def encode_cursor(scope: str, placed_at: datetime, order_id: str) -> str:
    payload = json.dumps([scope, placed_at.isoformat(), order_id])
    return base64.urlsafe_b64encode(payload.encode()).decode().rstrip("=")


def decode_cursor(cursor: str, scope: str) -> tuple[datetime, str]:
    try:
        if len(cursor) > 1000:
            raise ValueError("too long")
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        made_for, key, order_id = json.loads(raw)
        placed_at = datetime.fromisoformat(key)
        if not isinstance(made_for, str) or not isinstance(order_id, str) or not order_id:
            raise ValueError("bad parts")
    except (ValueError, TypeError, binascii.Error, UnicodeDecodeError):
        raise InvalidCursor(
            "not a cursor this API made; use the next_cursor of a page as it is"
        ) from None
    if made_for != scope:
        raise InvalidCursor("this cursor belongs to another caller's list; start again without it")
    # as the rows hold it: aware on PostgreSQL, naive UTC digits on SQLite
    return placed_at, order_id
