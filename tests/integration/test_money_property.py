"""R63 as a property (the money invariant): Hypothesis drives random walks over every channel on
one order — opening requests (again and again on the same items), every seller response, offers
accepted and declined, returns shipped, confirmed, disputed and auto-confirmed, escalations and
each support outcome, replacements, timers, and concurrent pairs of commands from two application
instances — on SQLite and PostgreSQL, with the ledger, ratings, notifications and search fed in
process. After every step: per item, Σ refunds ≤ what was paid and Σ seller charges ≤ its R30
amount; the record equals what history gives; the seller's ledger never holds more than the items'
R30 amounts plus the return labels charged. At the end of each walk the projections rebuilt from
history equal the live ones (`audit rebuild --compare`).

Size: `SUPPORT_MONEY_EXAMPLES` walks per backend (default 5 on SQLite and 2 on PostgreSQL;
`make soak` runs 200 on each) of up to `SUPPORT_MONEY_STEPS` steps (default 14; soak 40). Cancellations (R65) are not a channel yet.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
import threading
from datetime import UTC
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from services.auditing import rebuild_and_compare
from services.requests.application import Actor, SellerResponse, open_application
from services.requests.application.remedy_fold import remedy_drift
from services.requests.domain import DomainError
from shared.clock import AdjustableClock
from tests.conftest import START
from tests.factories import (
    item_fact,
    order_placed,
    order_shipped,
    return_label_created,
    shipment_scanned,
    unique,
)
from tests.integration.audit_harness import LiveSystem, live_urls

# A walk on PostgreSQL costs about three on SQLite (fresh schemas for the rebuild): `make test` runs
# 5 short walks on SQLite and 2 on PostgreSQL; `make soak` SUPPORT_MONEY_EXAMPLES on each.
EXAMPLES = int(os.environ.get("SUPPORT_MONEY_EXAMPLES", "5"))
POSTGRES_EXAMPLES = int(os.environ.get("SUPPORT_MONEY_EXAMPLES", "2"))
STEPS = int(os.environ.get("SUPPORT_MONEY_STEPS", "14"))
LABEL = 450

RESPONSES = ("full_refund", "full_refund_with_return", "partial", "replacement", "no_refund")
ACTIONS = (
    *RESPONSES,
    "open",
    "accept",
    "decline",
    "ship_return",
    "confirm",
    "dispute",
    "replacement_scan",
    "return_for_refund",
    "escalate",
    "decide_refund",
    "decide_refund_with_return",
    "decide_platform_refund",
    "decide_uphold_seller",
)
# Pairs raced from two instances on the same request (or order): each pair can refund.
RACES = (
    ("full_refund", "partial"),
    ("accept", "decline"),
    ("confirm", "dispute"),
    ("accept", "full_refund"),
    ("open", "open"),
    ("decide_refund", "decide_platform_refund"),
)

step = st.one_of(
    st.tuples(st.sampled_from(ACTIONS), st.integers(0, 3), st.integers(1, 6000)),
    st.tuples(st.just("advance"), st.just(0), st.sampled_from([25, 49, 24 * 8])),
    st.tuples(st.just("race"), st.integers(0, len(RACES) - 1), st.integers(1, 6000)),
)


class Walk:
    """One order of two items, with requests opened on it again and again, and a second
    application instance on the same store for the races."""

    def __init__(self, system: LiveSystem, twin: Any, prices: tuple[int, int]) -> None:
        self.system, self.app, self.twin = system, system.app, twin
        items = [
            item_fact(price=p, seller_payout=p * 9 // 10, buyer_shipping_paid=300) for p in prices
        ]
        self.order = order_placed(items=items)
        self.app.record_order_placed(self.order)
        self.app.record_order_shipped(order_shipped(self.order.order_id))
        self.buyer = Actor("buyer", self.order.buyer_id)
        self.seller = Actor("seller", self.order.seller_id)
        self.agent = Actor("support", "agent-1")
        self.requests: list[str] = []
        self.returns: dict[str, str] = {}
        self.replacements: dict[str, str] = {}
        self.labels = 0

    def run(self, name: str, index: int, amount: int) -> None:
        if name == "advance":
            self.system.advance(amount)
        elif name == "race":
            self.race(*RACES[index], amount)
        else:
            with contextlib.suppress(DomainError, LookupError, PermissionError):
                self.act(self.app, name, index, amount)
        self.system.tick()

    def _request(self, index: int) -> str | None:
        if not self.requests:
            return None
        return self.requests[-1 - index % len(self.requests)]

    def act(self, app: Any, name: str, index: int, amount: int) -> None:
        if name == "open":
            items = [i.item_id for i in self.order.items]
            chosen = [items[0]] if index == 1 else [items[1]] if index == 2 else items
            opened = app.open_request(
                self.buyer,
                order_id=self.order.order_id,
                item_ids=chosen,
                reason="defective",
                description="broken",
                photos=["p.jpg"],
            )
            self.requests.append(str(opened.id))
            return
        rid = self._request(index)
        if rid is None:
            return
        if name in ("full_refund", "full_refund_with_return"):
            app.respond(rid, self.seller, SellerResponse(type=name))
        elif name == "partial":
            app.respond(rid, self.seller, SellerResponse(type="partial_refund", amount=amount))
        elif name == "replacement":
            tracking = self.replacements.setdefault(rid, unique("REPL"))
            app.respond(
                rid,
                self.seller,
                SellerResponse(type="replacement", carrier="USPS", tracking_number=tracking),
            )
        elif name == "no_refund":
            app.respond(
                rid, self.seller, SellerResponse(type="no_refund", message="no", evidence=("e",))
            )
        elif name == "accept":
            app.accept_offer(rid, self.buyer)
        elif name == "decline":
            app.decline_offer(rid, self.buyer)
        elif name == "ship_return":
            self.ship_return(app, rid)
        elif name == "confirm":
            app.confirm_return(rid, self.seller)
        elif name == "dispute":
            app.dispute_return(rid, self.seller, reason="not it", evidence=["p.jpg"])
        elif name == "replacement_scan" and rid in self.replacements:
            app.record_shipment_scan(
                shipment_scanned(self.replacements[rid], "accepted", self.system.clock.now())
            )
        elif name == "return_for_refund":
            app.return_for_refund(rid, self.buyer)
        elif name == "escalate":
            app.escalate(rid, self.buyer, reason="no help")
        elif name.startswith("decide_"):
            app.decide(rid, self.agent, outcome=name.removeprefix("decide_"))

    def ship_return(self, app: Any, rid: str) -> None:
        now = self.system.clock.now()
        current = app.get_request(rid, self.agent).return_
        if current is not None and current["tracking_number"] is None:
            tracking = unique("RET")
            app.record_return_label(
                return_label_created(rid, now, label_cost=LABEL, tracking_number=tracking)
            )
            self.returns[rid] = tracking
            self.labels += LABEL
        if rid in self.returns:
            for scan in ("accepted", "delivered"):
                app.record_shipment_scan(shipment_scanned(self.returns[rid], scan, now))

    def race(self, first: str, second: str, amount: int) -> None:
        """Two instances, each about to run one command on the same request (or order)."""
        barrier = threading.Barrier(2, timeout=30)
        failures: list[BaseException] = []

        def run(app: Any, name: str) -> None:
            with contextlib.suppress(threading.BrokenBarrierError):
                barrier.wait()
            try:
                self.act(app, name, 0, amount)
            except (DomainError, LookupError, PermissionError):
                pass  # refused: the other one won, or the step does not apply now
            except BaseException as error:  # anything else is a failure of the walk
                failures.append(error)

        threads = [
            threading.Thread(target=run, args=(self.app, first)),
            threading.Thread(target=run, args=(self.twin, second)),
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=60)
        assert not failures, failures

    def check(self) -> None:
        """The money invariant, after every step."""
        app = self.app
        with app.side_tables.transaction(commit=False) as tx:
            records = app.side_tables.item_records(tx, self.order.order_id)
        for record in records.values():
            assert record.refunded <= record.paid, record
            assert record.charged <= record.full_charge, record
        assert remedy_drift(app) == []
        # what the buyer got back, as the requests say it, never passes what was paid
        paid = sum(i.price + i.buyer_shipping_paid for i in self.order.items)
        refunds = sum(
            (app.get_request(r, self.agent).refund or {}).get("amount", 0) for r in self.requests
        )
        assert refunds <= paid
        assert refunds == sum(r.refunded for r in records.values())
        # and the seller's ledger never charges more than the items' R30 amounts plus the labels
        view = self.system.ledger.ledger(self.order.seller_id, _auditor())
        charged = -sum(e["amount"] for e in view["entries"] if e["amount"] < 0)
        full = sum(
            i.seller_payout + i.buyer_shipping_paid + i.processing_fee for i in self.order.items
        )
        assert charged <= full + self.labels
        assert charged == sum(r.charged for r in records.values()) + self._labels_charged()

    def _labels_charged(self) -> int:
        """The return labels the requests charged (R31), from the events' seller charges."""
        total = 0
        for rid in self.requests:
            for entry in self.app.history(rid, self.agent):
                data = entry["data"]
                shares = data.get("remedy")
                if shares and data.get("seller_charge") is not None:
                    total += data["seller_charge"] - sum(s["charge"] for s in shares)
        return total


def _auditor() -> Any:
    from services.ledger.application import Viewer

    return Viewer("auditor", "auditor-1")


def _walk(database_url: str, folder: str, prices: tuple[int, int], steps: list) -> None:
    clock = AdjustableClock(START.astimezone(UTC), frozen=True)
    app = open_application(database_url, clock)
    twin = open_application(database_url, clock)
    system = LiveSystem(app, live_urls(database_url, folder), clock)
    try:
        walk = Walk(system, twin, prices)
        for name, index, amount in steps:
            walk.run(name, index, amount)
            walk.check()
        comparison, _applied = rebuild_and_compare(app, system.urls, now=clock.now())
        assert comparison.identical, "\n".join(str(d) for d in comparison.differences[:30])
    finally:
        system.close()
        for application in (twin, app):
            application.close()
            application.recorder.datastore.engine.dispose()


walks = given(
    prices=st.tuples(st.integers(100, 5000), st.integers(100, 5000)),
    steps=st.lists(step, min_size=1, max_size=STEPS),
)
walk_settings = settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


def test_r63_money_invariant_holds_on_every_random_walk_on_sqlite() -> None:
    @walk_settings
    @walks
    def run(prices, steps) -> None:
        with tempfile.TemporaryDirectory() as folder:
            _walk(f"sqlite:///{folder}/events.db", folder, prices, steps)

    run()


@pytest.fixture
def postgres_schema_url(request: pytest.FixtureRequest) -> Any:
    """A factory of fresh PostgreSQL schemas (one per walk), dropped at the end."""
    import uuid

    from sqlalchemy import text

    from tests.conftest import _with_search_path

    admin = request.getfixturevalue("postgres_admin_engine")
    base = request.getfixturevalue("postgres_url")
    made: list[str] = []

    def make() -> str:
        schema = f"money_{uuid.uuid4().hex}"
        with admin.connect() as connection:
            connection.execute(text(f'CREATE SCHEMA "{schema}"'))
        made.append(schema)
        return _with_search_path(base, schema)

    yield make
    with admin.connect() as connection:
        for schema in made:
            connection.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))


def test_r63_money_invariant_holds_on_every_random_walk_on_postgres(postgres_schema_url) -> None:
    @settings(walk_settings, max_examples=POSTGRES_EXAMPLES)
    @walks
    def run(prices, steps) -> None:
        with tempfile.TemporaryDirectory() as folder:
            _walk(postgres_schema_url(), folder, prices, steps)

    run()
