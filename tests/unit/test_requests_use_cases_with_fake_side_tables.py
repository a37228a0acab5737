"""Use cases of the requests application run against an in-memory `SideTables` (the port of
services/requests/application/ports.py) and eventsourcing's in-memory event store: no database, no
I/O. The SQL implementation is exercised by tests/integration; this proves the use cases depend on
the port only, and pins rules that live in the use cases rather than in the aggregate."""

from __future__ import annotations

import inspect
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any, get_args

import pytest

from services.requests.application import (
    RESPONSE_COMMANDS,
    UPSTREAM_FACTS,
    Actor,
    FactNotHandled,
    ItemAlreadyOpen,
    RequestsApplication,
    SellerResponse,
    SideTables,
    TrackingLink,
)
from services.requests.domain import ResponseType, Status
from services.requests.domain.order_view import OrderDetails
from services.requests.domain.remedy import ItemRecord, NothingLeftToRefund
from services.requests.persistence.side_tables import SqlSideTables
from shared.clock import AdjustableClock
from shared.contracts.upstream import UpstreamFact, upstream_fact_adapter
from tests.factories import ny, order_placed


class FakeSideTables:
    """The side tables as dicts. A transaction is nothing: each call changes the dicts at once."""

    def __init__(self) -> None:
        self.orders: dict[str, dict[str, Any]] = {}
        self.item_locks: dict[tuple[str, str], str] = {}
        self.by_order: list[tuple[str, str, datetime]] = []
        self.tracking: dict[str, TrackingLink] = {}
        self.deadlines: dict[tuple[str, str], tuple[datetime, str]] = {}
        self.remedies: dict[tuple[str, str], ItemRecord] = {}
        self.scans: dict[str, dict[str, Any]] = {}

    @contextmanager
    def transaction(self, commit: bool = True) -> Iterator[None]:
        yield None

    def order(self, tx: Any, order_id: str) -> dict[str, Any] | None:
        row = self.orders.get(order_id)
        return None if row is None else dict(row)

    def insert_order(self, tx: Any, row: dict[str, Any]) -> None:
        self.orders[row["order_id"]] = {"shipment": None, "delivered_at": None, **row}

    def update_order(self, tx: Any, order_id: str, values: dict[str, Any]) -> None:
        self.orders[order_id].update(values)

    def order_shipped_with(self, tx: Any, tracking_number: str) -> str | None:
        for order_id, row in self.orders.items():
            if (row["shipment"] or {}).get("tracking_number") == tracking_number:
                return order_id
        return None

    def held_items(self, tx: Any, order_id: str, item_ids: Sequence[str]) -> list[str]:
        return [i for i in item_ids if (order_id, i) in self.item_locks]

    def lock_items(self, tx: Any, order_id: str, item_ids: Sequence[str], request_id: str) -> None:
        for item_id in item_ids:
            self.item_locks[(order_id, item_id)] = request_id

    def release_item_locks(self, tx: Any, request_id: str) -> None:
        self.item_locks = {k: v for k, v in self.item_locks.items() if v != request_id}

    def index_by_order(self, tx: Any, request_id: str, order_id: str, opened_at: datetime) -> None:
        self.by_order.append((request_id, order_id, opened_at))

    def requests_of_order(self, tx: Any, order_id: str) -> list[str]:
        return [r for r, o, at in sorted(self.by_order, key=lambda row: row[2]) if o == order_id]

    def item_records(
        self, tx: Any, order_id: str, item_ids: Sequence[str] | None = None
    ) -> dict[str, ItemRecord]:
        return {
            i: r
            for (o, i), r in self.remedies.items()
            if o == order_id and (item_ids is None or i in item_ids)
        }

    def add_remedy(
        self,
        tx: Any,
        order_id: str,
        currency: str,
        shares: Sequence[tuple[ItemRecord, int, int]],
        by: str,
        at: datetime,
    ) -> list[str]:
        refused = []
        for record, refund, charge in shares:
            now = self.remedies.get((order_id, record.item_id), record)
            if now.refunded + refund > now.paid or now.charged + charge > now.full_charge:
                refused.append(record.item_id)
                continue
            self.remedies[(order_id, record.item_id)] = replace(
                now,
                refunded=now.refunded + refund,
                charged=now.charged + charge,
                last_request_id=by,
            )
        return refused

    def orders_page(
        self,
        tx: Any,
        *,
        buyer_id: str | None,
        seller_id: str | None,
        after: tuple[datetime, str] | None,
        limit: int,
    ) -> list[dict[str, Any]]:
        rows = [
            dict(row)
            for row in self.orders.values()
            if buyer_id in (None, row["buyer_id"]) and seller_id in (None, row["seller_id"])
        ]
        rows.sort(key=lambda row: (row["placed_at"], row["order_id"]), reverse=True)
        if after is not None:
            rows = [row for row in rows if (row["placed_at"], row["order_id"]) < after]
        return rows[:limit]

    def order_details(self, tx: Any, order_ids: Sequence[str]) -> dict[str, OrderDetails]:
        return {
            o: OrderDetails(
                self.item_records(tx, o),
                {i: r for (oid, i), r in self.item_locks.items() if oid == o},
                self.requests_of_order(tx, o),
                self.scans.get(o),
            )
            for o in order_ids
        }

    def record_order_scan(self, tx: Any, order_id: str, status: str, at: datetime) -> None:
        if order_id not in self.scans or self.scans[order_id]["at"] <= at:
            self.scans[order_id] = {"status": status, "at": at}

    def tracking_link(self, tx: Any, tracking_number: str) -> TrackingLink | None:
        return self.tracking.get(tracking_number)

    def link_tracking(self, tx: Any, tracking_number: str, request_id: str, purpose: str) -> None:
        self.tracking[tracking_number] = TrackingLink(request_id, purpose)

    def delete_deadlines(self, tx: Any, request_id: str) -> None:
        self.deadlines = {k: v for k, v in self.deadlines.items() if k[0] != request_id}

    def insert_deadlines(
        self,
        tx: Any,
        request_id: str,
        policy_version: str,
        deadlines: Sequence[tuple[str, datetime]],
    ) -> None:
        for kind, due_at in deadlines:
            self.deadlines[(request_id, kind)] = (due_at, policy_version)

    def delete_deadline(self, tx: Any, request_id: str, kind: str, due_by: datetime) -> None:
        due = self.deadlines.get((request_id, kind))
        if due is not None and due[0] <= due_by:
            del self.deadlines[(request_id, kind)]

    def due_deadlines(self, tx: Any, now: datetime, limit: int) -> list[tuple[str, str, datetime]]:
        due = sorted(
            (at, rid, kind) for (rid, kind), (at, _) in self.deadlines.items() if at <= now
        )
        return [(rid, kind, at) for at, rid, kind in due[:limit]]

    def next_deadline(self, tx: Any) -> datetime | None:
        return min((at for at, _ in self.deadlines.values()), default=None)


def _app(tables: FakeSideTables, clock: AdjustableClock) -> RequestsApplication:
    return RequestsApplication(
        clock,
        env={"PERSISTENCE_MODULE": "eventsourcing.popo"},  # the in-memory event store
        side_tables=lambda _recorder: tables,
    )


def _opened(app: RequestsApplication) -> tuple[Any, Any]:
    order = order_placed()
    app.record_order_placed(order)
    buyer = Actor("buyer", order.buyer_id)
    request = app.open_request(
        buyer,
        order_id=order.order_id,
        item_ids=[order.items[0].item_id],
        reason="defective",
        description="it does not switch on",
        photos=[],
    )
    return order, request


def test_the_sql_and_the_fake_side_tables_implement_every_method_of_the_port() -> None:
    # given the port's methods
    port = {name for name, value in vars(SideTables).items() if callable(value)}
    port -= {name for name in port if name.startswith("_")}
    assert {"transaction", "order", "lock_items", "insert_deadlines"} <= port
    # then both implementations have each of them, with the port's parameters
    for implementation in (SqlSideTables, FakeSideTables):
        for name in port:
            method = getattr(implementation, name, None)
            assert method is not None, f"{implementation.__name__} lacks {name}"
            expected = list(inspect.signature(getattr(SideTables, name)).parameters)
            assert list(inspect.signature(method).parameters) == expected, (implementation, name)


def test_r9_a_second_request_on_the_same_item_is_refused_by_the_use_case() -> None:
    # given an order recorded and a request opened on its item, without any database
    tables = FakeSideTables()
    app = _app(tables, AdjustableClock(ny(2026, 12, 1, 9, 0)))
    order, request = _opened(app)
    assert tables.item_locks == {(order.order_id, order.items[0].item_id): str(request.id)}
    # when the buyer opens another request on the same item
    # then the use case refuses it (R9: one open request per order item)
    with pytest.raises(ItemAlreadyOpen):
        app.open_request(
            Actor("buyer", order.buyer_id),
            order_id=order.order_id,
            item_ids=[order.items[0].item_id],
            reason="defective",
            description="again",
            photos=[],
        )


def test_r8_r30_a_full_refund_response_resolves_and_clears_the_side_tables() -> None:
    # given an opened request: its seller-response deadline (R8) is in the side tables
    tables = FakeSideTables()
    clock = AdjustableClock(ny(2026, 12, 1, 9, 0))
    app = _app(tables, clock)
    order, request = _opened(app)
    assert [kind for (_rid, kind) in tables.deadlines] == ["seller_response"]
    # when the seller offers a full refund (R30), through the response table
    seller = Actor("seller", order.seller_id)
    resolved = app.respond(request.id, seller, SellerResponse(type="full_refund"))
    # then the request is resolved, its deadline rows are gone and its item is free again
    assert resolved.status == Status.RESOLVED
    assert tables.deadlines == {}
    assert tables.item_locks == {}
    assert app.get_request(request.id, seller).status == Status.RESOLVED


def test_r18_the_timer_use_case_fires_a_due_seller_response_deadline() -> None:
    # given an opened request and the clock past its seller-response deadline
    tables = FakeSideTables()
    clock = AdjustableClock(ny(2026, 12, 1, 9, 0))
    app = _app(tables, clock)
    _order, request = _opened(app)
    (due_at, _policy) = tables.deadlines[(str(request.id), "seller_response")]
    clock.set(due_at + timedelta(minutes=1))
    # when the timers fire
    fired = app.fire_due()
    # then the deadline fired once and left the side tables
    assert fired == 1
    assert tables.deadlines == {}
    assert app.fire_due() == 0


def test_every_seller_response_type_has_exactly_one_command_in_the_response_table() -> None:
    # given the domain's response types (R10-R18)
    # then the one table maps each of them, and nothing else, to an aggregate command
    assert set(RESPONSE_COMMANDS) == set(ResponseType)


def test_r60_every_upstream_fact_type_has_one_handler_and_others_are_contributed() -> None:
    # given the upstream contract's fact types, and an application without any database
    fact_types = {
        get_args(member.model_fields["type"].annotation)[0]
        for member in get_args(get_args(UpstreamFact)[0])
    }
    app = _app(FakeSideTables(), AdjustableClock(ny(2026, 12, 1, 9, 0)))
    # then this service handles all but the ledger's claim_paid (R39), through one table
    assert set(UPSTREAM_FACTS) == fact_types - {"claim_paid"}
    assert set(app.fact_handlers) == set(UPSTREAM_FACTS)
    claim = upstream_fact_adapter.validate_python(
        {"type": "claim_paid", "tracking_number": "T1", "amount": 100, "at": ny(2026, 12, 20, 9)}
    )
    with pytest.raises(FactNotHandled):
        app.apply_upstream_fact(claim)
    # when the component that owns claim_paid contributes its handler
    applied: list[Any] = []
    app.register_fact_handlers({"claim_paid": lambda fact: applied.append(fact) or True})
    # then the same entry point applies it, and a fact type has one handler only
    assert app.apply_upstream_fact(claim) is True
    assert applied == [claim]
    with pytest.raises(ValueError, match="order_placed"):
        app.register_fact_handlers({"order_placed": lambda fact: True})


def test_r63_a_refunded_item_cannot_be_refunded_again_by_the_use_case() -> None:
    # given an item refunded in full by a first request, without any database
    tables = FakeSideTables()
    app = _app(tables, AdjustableClock(ny(2026, 12, 1, 9, 0)))
    order, request = _opened(app)
    seller = Actor("seller", order.seller_id)
    app.respond(request.id, seller, SellerResponse("full_refund"))
    item = order.items[0]
    record = tables.remedies[(order.order_id, item.item_id)]
    assert record.refunded == item.price + item.buyer_shipping_paid
    assert record.last_request_id == str(request.id)
    # when the buyer opens a second request on the same item
    # then it is refused, naming the request that refunded it (R63)
    with pytest.raises(NothingLeftToRefund, match=str(request.id)):
        app.open_request(
            Actor("buyer", order.buyer_id),
            order_id=order.order_id,
            item_ids=[item.item_id],
            reason="defective",
            description="again",
            photos=[],
        )


def test_r64_the_order_view_use_case_reads_the_port_only() -> None:
    # given an order with an item refunded in full, without any database
    tables = FakeSideTables()
    app = _app(tables, AdjustableClock(ny(2026, 12, 1, 9, 0)))
    order, request = _opened(app)
    app.respond(request.id, Actor("seller", order.seller_id), SellerResponse("full_refund"))
    # when the buyer reads the order and lists their orders
    view = app.order_view(order.order_id, Actor("buyer", order.buyer_id))
    page = app.list_orders(Actor("buyer", order.buyer_id))
    # then the item says it was refunded in full, by which request, and the list holds the order
    (item,) = view["items"]
    assert item["refundable"] == 0 and item["can_open_request"] is False
    assert str(request.id) in item["why_not"]
    assert [o["order_id"] for o in page["items"]] == [order.order_id]
    assert view["request_ids"] == [str(request.id)]
