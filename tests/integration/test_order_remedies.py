"""R63 through the requests application on a real database (SQLite file and PostgreSQL schema) and
the ledger projection: one remedy per item across every request and channel, the guarded per-item
record under concurrency, and the charges the ledger takes from it."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from services.ledger.application import LedgerApplication
from services.requests.application import SellerResponse, open_application
from services.requests.application.errors import ConcurrentUpdate
from services.requests.domain.remedy import (
    NothingLeftToRefund,
    RefundExceedsWhatIsLeft,
    fresh_record,
)
from services.requests.persistence import store
from tests.conftest import close_application
from tests.factories import (
    BUYER_SHIPPING_PAID,
    PRICE,
    Opened,
    order_item,
    shipment_scanned,
    unique,
)
from tests.integration.ledger_harness import (
    R30_PER_ITEM,
    escalate_after_no_refund,
    open_request,
    pump,
    respond,
    seller_ledger,
    ship_return,
)

pytest_plugins = ["tests.integration.ledger_harness"]

PAID = PRICE + BUYER_SHIPPING_PAID  # 3000 per item


def _reopen(opened: Opened, item_ids: list[str] | None = None) -> Opened:
    """A new request by the same buyer on the same order (all its items unless named)."""
    order = opened.order
    request = opened.app.open_request(
        opened.buyer,
        order_id=order.order_id,
        item_ids=item_ids or [i.item_id for i in order.items],
        reason="defective",
        description="Still broken.",
        photos=["photo-2.jpg"],
    )
    return Opened(opened.app, request, order)


def _charges(ledger: LedgerApplication, opened: Opened) -> int:
    return -sum(e["amount"] for e in seller_ledger(ledger, opened)["entries"])


def _record(app, opened: Opened) -> dict[str, tuple[int, int]]:
    with app.side_tables.transaction(commit=False) as tx:
        records = app.side_tables.item_records(tx, opened.order.order_id)
    return {i: (r.refunded, r.charged) for i, r in records.items()}


def test_r63_a_refunded_item_cannot_be_refunded_again(app, ledger, clock) -> None:
    # given an item refunded in full (the first case: ledger -28.03)
    first = open_request(app)
    respond(first, "full_refund")
    # when the buyer opens a second request on the same item
    # then it is refused with a 409 naming the first request, and the seller is charged once
    with pytest.raises(NothingLeftToRefund, match=str(first.id)):
        _reopen(first)
    pump(app, ledger)
    assert _charges(ledger, first) == R30_PER_ITEM
    assert _record(app, first) == {first.order.items[0].item_id: (PAID, R30_PER_ITEM)}


def test_r63_full_refund_after_partial_refunds_what_is_left(app, ledger, clock) -> None:
    # given a partial refund of 2000 accepted on a 2500 + 500 shipping item (the second
    # case: 48.03 charged for a 25.00 item)
    first = open_request(app)
    respond(first, "partial_refund", amount=2000)
    app.accept_offer(first.id, first.buyer)
    # when a second request on the same item is refunded in full
    second = _reopen(first)
    respond(second, "full_refund")
    # then the buyer got back what was left (1000), and the seller was charged the rest of the
    # item's R30 amount (803): 2803 in all, never 4803
    assert second.state().refund == {"amount": PAID - 2000, "currency": "USD"}
    pump(app, ledger)
    assert _charges(ledger, first) == R30_PER_ITEM
    assert _record(app, first) == {first.order.items[0].item_id: (PAID, R30_PER_ITEM)}


def test_r63_an_offer_above_what_is_left_is_refused_saying_how_much_is_left(app, clock) -> None:
    # given 2000 of the item's 3000 refunded by an accepted offer
    first = open_request(app)
    respond(first, "partial_refund", amount=2000)
    app.accept_offer(first.id, first.buyer)
    second = _reopen(first)
    # when the seller offers 1500 on a second request
    # then it is refused, saying 1000 is left
    with pytest.raises(RefundExceedsWhatIsLeft, match="only 1000"):
        respond(second, "partial_refund", amount=1500)


def test_r63_a_support_decision_after_a_partial_refund_refunds_only_what_is_left(
    app, ledger, clock
) -> None:
    # given 2000 refunded by an accepted offer, and a second request escalated after a no-refund
    first = open_request(app)
    respond(first, "partial_refund", amount=2000)
    app.accept_offer(first.id, first.buyer)
    second = _reopen(first)
    escalate_after_no_refund(second)
    # when support decides a refund with the seller liable
    app.decide(second.id, second.agent, outcome="refund")
    # then the buyer gets what is left and the seller is charged the rest of R30 (R34 with R63)
    assert second.state().refund == {"amount": PAID - 2000, "currency": "USD"}
    pump(app, ledger)
    assert _charges(ledger, first) == R30_PER_ITEM


def test_r63_a_replacement_or_no_refund_leaves_the_item_refundable(app, ledger, clock) -> None:
    # given a request resolved by a replacement
    first = open_request(app)
    tracking = unique("9400")
    respond(first, "replacement", carrier="USPS", tracking_number=tracking)
    app.record_shipment_scan(shipment_scanned(tracking, "accepted", clock.now()))
    assert first.state().resolution == "replacement"
    # when the buyer opens another request on the item, which the seller refunds in full
    second = _reopen(first)
    respond(second, "full_refund")
    # then the whole amount is refunded and charged once
    assert second.state().refund == {"amount": PAID, "currency": "USD"}
    pump(app, ledger)
    assert _charges(ledger, first) == R30_PER_ITEM


def test_r63_r31_a_return_after_a_partial_refund_charges_the_rest_plus_the_label(
    app, ledger, clock
) -> None:
    # given 2000 refunded by an accepted offer, then a second request refunded after a return
    first = open_request(app)
    respond(first, "partial_refund", amount=2000)
    app.accept_offer(first.id, first.buyer)
    second = _reopen(first)
    respond(second, "full_refund_with_return")
    ship_return(second, clock.now(), label_cost=800)
    app.confirm_return(second.id, second.seller)
    # then the buyer got the 1000 left, and the seller in all its R31 amount: 2803 + 800
    assert second.state().refund == {"amount": PAID - 2000, "currency": "USD"}
    pump(app, ledger)
    assert _charges(ledger, first) == R30_PER_ITEM + 800


def test_r63_the_guarded_record_lets_one_of_two_racing_refunds_through(database_url) -> None:
    # given an item with nothing refunded yet, and two transactions each adding 2000 of its 3000
    # (what a cancellation and an accepted offer racing on one item would write)
    from shared.clock import AdjustableClock

    clock = AdjustableClock(datetime(2026, 12, 7, 19, 0, tzinfo=UTC), frozen=True)
    apps = [open_application(database_url, clock) for _ in range(2)]
    item = order_item()
    record = fresh_record(item)
    barrier = threading.Barrier(2, timeout=20)
    results: list[object] = []

    def add(app) -> None:
        try:
            with app.side_tables.transaction() as tx:
                (read,) = app.side_tables.item_records(tx, "order-race", [item.item_id]).values()
                barrier.wait()  # both read "500 refunded" before either writes
                refused = app.side_tables.add_remedy(
                    tx, "order-race", "USD", [(read, 2000, 2000)], "req", clock.now()
                )
                results.append(refused)
        except Exception as error:
            results.append(error)

    try:
        # the row exists (a first remedy of 500), so both race on the guarded increment
        with apps[0].side_tables.transaction() as tx:
            apps[0].side_tables.add_remedy(
                tx, "order-race", "USD", [(record, 500, 500)], "req-0", clock.now()
            )
        threads = [threading.Thread(target=add, args=(a,)) for a in apps]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=30)
        # then exactly one went through and the guard refused the other
        assert len(results) == 2, results
        assert sorted(map(str, results)) == ["['" + item.item_id + "']", "[]"], results
        with apps[0].engine.connect() as connection:
            row = connection.execute(select(store.item_remedies)).one()
        assert (row.refunded, row.charged) == (2500, 2500)
    finally:
        for app in apps:
            close_application(app)


def test_r63_two_instances_racing_two_responses_refund_at_most_once(database_url) -> None:
    # given a request awaiting the seller, and two instances answering it from the same version:
    # a full refund on one, a partial offer on the other
    from shared.clock import AdjustableClock

    clock = AdjustableClock(datetime(2026, 12, 7, 19, 0, tzinfo=UTC), frozen=True)
    first = open_application(database_url, clock)
    second = open_application(database_url, clock)
    try:
        opened = open_request(first)
        barrier = threading.Barrier(2, timeout=20)
        for application in (first, second):
            real_load = application._load

            def load_then_wait(request_id, _real=real_load):
                request = _real(request_id)
                barrier.wait()
                return request

            application._load = load_then_wait
        results: dict[str, object] = {}

        def run(name, command) -> None:
            try:
                results[name] = command()
            except Exception as error:
                results[name] = error

        threads = [
            threading.Thread(
                target=run,
                args=(
                    "full",
                    lambda: first.respond(opened.id, opened.seller, SellerResponse("full_refund")),
                ),
            ),
            threading.Thread(
                target=run,
                args=(
                    "partial",
                    lambda: second.respond(
                        opened.id, opened.seller, SellerResponse("partial_refund", amount=1000)
                    ),
                ),
            ),
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=30)
        for application in (first, second):
            del application._load
        # then one response won, the other was refused as a concurrent update
        losers = [n for n, r in results.items() if isinstance(r, ConcurrentUpdate)]
        assert len(losers) == 1, results
        records = _record(first, opened)
        assert sum(r for r, _ in records.values()) in (0, PAID)
    finally:
        close_application(second)
        close_application(first)


def test_r63_an_auto_confirmed_return_refunds_only_what_is_left(app, ledger, clock) -> None:
    # given 2000 refunded, then a second request's return delivered and never inspected
    first = open_request(app)
    respond(first, "partial_refund", amount=2000)
    app.accept_offer(first.id, first.buyer)
    second = _reopen(first)
    respond(second, "full_refund_with_return")
    ship_return(second, clock.now(), label_cost=0)
    # when the inspection deadline passes (R12 auto-confirmation by the timer)
    clock.advance(timedelta(days=7))
    app.fire_due()
    # then the refund is what was left
    state = second.state()
    assert state.resolution == "full_refund"
    assert state.refund == {"amount": PAID - 2000, "currency": "USD"}
    pump(app, ledger)
    assert _charges(ledger, first) == R30_PER_ITEM


def test_r63_a_confirmation_racing_the_auto_confirmation_refunds_once(database_url) -> None:
    # given a delivered return whose inspection deadline has passed, and two instances: the seller
    # confirms on one while the timer auto-confirms on the other, both from the same version
    from shared.clock import AdjustableClock

    clock = AdjustableClock(datetime(2026, 12, 7, 19, 0, tzinfo=UTC), frozen=True)
    first = open_application(database_url, clock)
    second = open_application(database_url, clock)
    try:
        opened = open_request(first)
        respond(opened, "full_refund_with_return")
        ship_return(opened, clock.now(), label_cost=300)
        clock.advance(timedelta(days=7))
        barrier = threading.Barrier(2, timeout=20)
        for application in (first, second):
            real_load = application._load

            def load_then_wait(request_id, _real=real_load):
                request = _real(request_id)
                barrier.wait()
                return request

            application._load = load_then_wait
        results: dict[str, object] = {}

        def run(name, command) -> None:
            try:
                results[name] = command()
            except Exception as error:
                results[name] = error

        threads = [
            threading.Thread(
                target=run, args=("confirm", lambda: first.confirm_return(opened.id, opened.seller))
            ),
            threading.Thread(target=run, args=("timer", second.fire_due)),
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=30)
        for application in (first, second):
            del application._load
        # then the request is resolved once, and the item refunded and charged once
        state = first.get_request(opened.id, opened.auditor)
        assert state.resolution == "full_refund"
        refunds = [
            e["type"]
            for e in first.history(opened.id, opened.auditor)
            if e["type"] in ("return_confirmed", "return_auto_confirmed")
        ]
        assert len(refunds) == 1, (refunds, results)
        assert _record(first, opened) == {opened.order.items[0].item_id: (PAID, R30_PER_ITEM)}
    finally:
        close_application(second)
        close_application(first)
