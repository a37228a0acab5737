"""What the use cases need from storage besides the event store: the requests service's side tables
(the order read model, item locks, the requests of an order, tracking links, deadlines) and the
transaction they share with the events.

A port, not an implementation: services/requests/persistence/side_tables.py `SqlSideTables` is the
SQL one (same database and transaction as the events); the `FakeSideTables` of
tests/unit/test_requests_use_cases_with_fake_side_tables.py is an in-memory one, so a use case
runs without I/O. `tx` is whatever `transaction()` yields (an SQLAlchemy
session for SQL); the use cases only hand it back.
"""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import AbstractContextManager
from datetime import datetime
from typing import Any, NamedTuple, Protocol

from services.requests.domain.order_view import OrderDetails
from services.requests.domain.remedy import ItemRecord


class TrackingLink(NamedTuple):
    """A tracking number of a return or replacement, and the request it belongs to."""

    request_id: str
    purpose: str  # "return" or "replacement"


class SideTables(Protocol):
    """The side tables of the requests service, written in the transaction of the events."""

    def transaction(self, commit: bool = True) -> AbstractContextManager[Any]:
        """One transaction, shared with the events saved while it is open; `commit=False`: a read.
        A write that breaks a uniqueness rule raises `eventsourcing.persistence.IntegrityError`."""

    # -- the order read model (R60) --

    def order(self, tx: Any, order_id: str) -> dict[str, Any] | None:
        """The order's row (`ss_orders` columns), or None."""

    def insert_order(self, tx: Any, row: dict[str, Any]) -> None: ...

    def update_order(self, tx: Any, order_id: str, values: dict[str, Any]) -> None: ...

    def order_shipped_with(self, tx: Any, tracking_number: str) -> str | None:
        """The id of the order whose original shipment has this tracking number."""

    # -- item locks (R9) and the requests of an order --

    def held_items(self, tx: Any, order_id: str, item_ids: Sequence[str]) -> list[str]:
        """Those of `item_ids` that an open request holds."""

    def lock_items(self, tx: Any, order_id: str, item_ids: Sequence[str], request_id: str) -> None:
        """Raises IntegrityError when another request holds one (a race lost)."""

    def release_item_locks(self, tx: Any, request_id: str) -> None: ...

    def index_by_order(self, tx: Any, request_id: str, order_id: str, opened_at: datetime) -> None:
        """Remember that `request_id` is about `order_id`."""

    def requests_of_order(self, tx: Any, order_id: str) -> list[str]:
        """The request ids of an order, oldest first."""

    # -- item remedies (R63) --

    def item_records(
        self, tx: Any, order_id: str, item_ids: Sequence[str] | None = None
    ) -> dict[str, ItemRecord]:
        """The remedy records of the order's items that have one (all, or those named)."""

    def add_remedy(
        self,
        tx: Any,
        order_id: str,
        currency: str,
        shares: Sequence[tuple[ItemRecord, int, int]],
        by: str,
        at: datetime,
    ) -> list[str]:
        """Add `(record, refund, charge)` to each item's sums unless that passes its caps
        (atomically: a race lost is refused); returns the item ids refused."""

    # -- the order view (R64) --

    def orders_page(
        self,
        tx: Any,
        *,
        buyer_id: str | None,
        seller_id: str | None,
        after: tuple[datetime, str] | None,
        limit: int,
    ) -> list[dict[str, Any]]:
        """Order rows newest first (placed_at, order id descending) of that buyer or seller (None:
        any), strictly after the keyset position `after`, at most `limit`."""

    def order_details(self, tx: Any, order_ids: Sequence[str]) -> dict[str, OrderDetails]:
        """Per order id: its remedy records, item locks, request ids and last shipment scan."""

    def record_order_scan(self, tx: Any, order_id: str, status: str, at: datetime) -> None:
        """Keep the latest carrier scan of the order's original shipment."""

    # -- tracking links --

    def tracking_link(self, tx: Any, tracking_number: str) -> TrackingLink | None: ...

    def link_tracking(self, tx: Any, tracking_number: str, request_id: str, purpose: str) -> None:
        """Link a tracking number to its request (the caller checked it is not linked yet)."""

    # -- deadlines: durable timers --

    def delete_deadlines(self, tx: Any, request_id: str) -> None: ...

    def insert_deadlines(
        self,
        tx: Any,
        request_id: str,
        policy_version: str,
        deadlines: Sequence[tuple[str, datetime]],
    ) -> None: ...

    def delete_deadline(self, tx: Any, request_id: str, kind: str, due_by: datetime) -> None:
        """Remove a deadline of this kind due at or before `due_by`."""

    def due_deadlines(self, tx: Any, now: datetime, limit: int) -> list[tuple[str, str, datetime]]:
        """`(request id, kind, due at)` of deadlines due at `now`, oldest first."""

    def next_deadline(self, tx: Any) -> datetime | None: ...
