"""R64: what the order says per item — refunded, left, whether help can be asked now and, if not,
why — computed from the item's remedy record (R63), the request open on it (R9) and the order's
cancellation (R65). Pure, so the API, the web app and the e-mails read one answer, and a buyer is
never offered a step the system would refuse (opening a request checks the same things)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import NamedTuple

from services.requests.domain.order import OrderItem
from services.requests.domain.remedy import ItemRecord, fresh_record


class OrderDetails(NamedTuple):
    """What the order view reads beside an order's row (SideTables.order_details)."""

    records: dict[str, ItemRecord]  # item id -> its remedy record (R63), where one exists
    locks: dict[str, str]  # item id -> the open request holding it (R9)
    request_ids: list[str]  # the order's requests, oldest first
    last_scan: dict[str, str | datetime] | None  # {"status", "at"} of the original shipment


@dataclass(frozen=True)
class ItemStanding:
    item_id: str
    title: str
    price: int
    refunded: int
    refundable: int
    open_request_id: str | None
    can_open_request: bool
    why_not: str | None


def item_standing(
    item: OrderItem,
    record: ItemRecord | None,
    open_request_id: str | None,
    *,
    cancelled: bool = False,
) -> ItemStanding:
    """The order page's line for one item (API.md "Orders (v1 additions)")."""
    record = record or fresh_record(item)
    why_not = None
    if cancelled:
        why_not = "the order was cancelled"
    elif open_request_id is not None:
        why_not = f"request {open_request_id} is open on this item"
    elif record.refundable == 0:
        by = f" by request {record.last_request_id}" if record.last_request_id else ""
        why_not = f"refunded in full{by}: nothing is left to refund"
    return ItemStanding(
        item_id=item.item_id,
        title=item.title,
        price=item.price,
        refunded=record.refunded,
        refundable=record.refundable,
        open_request_id=open_request_id,
        can_open_request=why_not is None,
        why_not=why_not,
    )
