"""Batch folding (issue 10): the ledger handler takes a whole batch of events, and a batch of N must
leave every ledger table exactly as N batches of one, in order, would - whatever the split, with
several events of one request in a batch, requests stored by an earlier batch, and events the ledger
has already handled arriving again.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator, Sequence
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select, text

from services.ledger import store
from services.ledger.application import LedgerApplication
from services.ledger.main import open_ledger_at
from services.ledger.projection import handle
from services.requests.application import Actor, RequestsApplication
from shared.clock import AdjustableClock
from shared.contracts.upstream import ClaimPaid
from shared.transport.projection import applied_events, feed_positions
from tests.factories import Opened, item_fact, order_placed, order_shipped
from tests.integration.ledger_harness import (
    all_messages,
    escalate_after_no_refund,
    open_request,
    respond,
    ship_return,
)

LEDGER_TABLES = (store.requests, store.entries, store.claims, store.outbox)

Messages = list[tuple[int, Any]]


@pytest.fixture
def fresh_ledger(
    request: pytest.FixtureRequest, database_url: str, tmp_path: Path
) -> Iterator[Callable[[], LedgerApplication]]:
    """Opens as many empty ledgers as a test needs, on the backend of the requests app."""
    opened: list[LedgerApplication] = []
    schemas: list[str] = []

    def open_one() -> LedgerApplication:
        if database_url.startswith("sqlite"):
            url = f"sqlite:///{tmp_path}/ledger-{uuid.uuid4().hex}.db"
        else:
            schema = f"lb_{uuid.uuid4().hex}"
            with request.getfixturevalue("postgres_admin_engine").connect() as conn:
                conn.execute(text(f'CREATE SCHEMA "{schema}"'))
            schemas.append(schema)
            base = request.getfixturevalue("postgres_url")
            url = f"{base}{'&' if '?' in base else '?'}options=-csearch_path%3D{schema}"
        opened.append(open_ledger_at(url))
        return opened[-1]

    yield open_one
    for ledger in opened:
        ledger.close()
    if schemas:
        with request.getfixturevalue("postgres_admin_engine").connect() as conn:
            for schema in schemas:
                conn.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))


def two_requests_on_one_shipment(app: RequestsApplication) -> tuple[Opened, Opened]:
    """One shipped order of two items, a request on each (lower request id first): both may turn
    the same claim on, and the lower id holds it."""
    order = order_placed(items=[item_fact(), item_fact()])
    app.record_order_placed(order)
    app.record_order_shipped(order_shipped(order.order_id))
    buyer = Actor("buyer", order.buyer_id)
    pair = []
    for item in order.items:
        request = app.open_request(
            buyer,
            order_id=order.order_id,
            item_ids=[item.item_id],
            reason="defective",
            description="It arrived broken.",
            photos=["photo-1.jpg"],
        )
        pair.append(Opened(app, request, order))
    lower, higher = sorted(pair, key=lambda opened: str(opened.id))
    return lower, higher


def varied_history(app: RequestsApplication, clock: AdjustableClock) -> Messages:
    """Every charging path of R30-R38, interleaved over two sellers, as published messages."""
    seller = "seller-batch"
    refund = open_request(app, seller_id=seller)
    partial = open_request(app, seller_id=seller)
    returned = open_request(app, seller_id=seller)
    respond(refund, "full_refund", auto_claim=True)
    respond(partial, "partial_refund", amount=700)
    app.post_message(partial.id, partial.buyer, body="fine", attachments=[])
    app.accept_offer(partial.id, partial.buyer)
    respond(returned, "full_refund_with_return", auto_claim=True)
    ship_return(returned, clock.now(), label_cost=555)
    app.confirm_return(returned.id, returned.seller)
    declined = open_request(app)
    respond(declined, "partial_refund", amount=300)
    app.decline_offer(declined.id, declined.buyer)
    ship_return(declined, clock.now(), label_cost=420)
    ruled = open_request(app, seller_id=seller)
    escalate_after_no_refund(ruled)
    app.decide(ruled.id, ruled.agent, outcome="refund")
    disputed = open_request(app)
    respond(disputed, "full_refund_with_return")
    ship_return(disputed, clock.now(), label_cost=610)
    app.dispute_return(disputed.id, disputed.seller, reason="not the item", evidence=["p.jpg"])
    app.decide(disputed.id, disputed.agent, outcome="refund")
    expired = open_request(app, seller_id=seller)
    respond(expired, "full_refund_with_return")
    # Both arrival orders: neither the first nor the last claimant holds the claim by arrival.
    lower, higher = two_requests_on_one_shipment(app)
    respond(lower, "full_refund", auto_claim=True)
    respond(higher, "full_refund", auto_claim=True)
    lower, higher = two_requests_on_one_shipment(app)
    respond(higher, "full_refund", auto_claim=True)
    respond(lower, "full_refund", auto_claim=True)
    clock.advance(timedelta(days=4))
    app.fire_due()  # the declined offer's return auto-confirmed
    clock.advance(timedelta(days=5))
    app.fire_due()  # the expired request's return window closed
    return all_messages(app)


def table_rows(ledger: LedgerApplication) -> dict[str, list[tuple[Any, ...]]]:
    """Every ledger table row by row, and the tracking rows without their wall-clock column."""
    tables = {t.name: select(t) for t in LEDGER_TABLES}
    tables["applied_events"] = select(applied_events.c.consumer, applied_events.c.event_id)
    tables["feed_positions"] = select(feed_positions)
    with ledger.engine.connect() as conn:
        return {
            name: sorted((tuple(row) for row in conn.execute(query)), key=repr)
            for name, query in tables.items()
        }


def claim_holders(rows: dict[str, list[tuple[Any, ...]]]) -> dict[str, str]:
    columns = [c.name for c in store.claims.columns]
    return {
        row[columns.index("tracking_number")]: row[columns.index("request_id")]
        for row in rows[store.claims.name]
    }


def lowest_claimants(history: Messages) -> dict[str, str]:
    """R38: each shipment's claim is held by the lowest id of the requests that turned it on."""
    claimants: dict[str, str] = {}
    for _position, message in history:
        claim = message.data.get("auto_claim")
        if claim:
            number = claim["tracking_number"]
            claimants[number] = min(claimants.get(number, message.subject), message.subject)
    return claimants


def ledger_rows(ledger: LedgerApplication) -> dict[str, list[tuple[Any, ...]]]:
    tracking = {applied_events.name, feed_positions.name}
    return {name: rows for name, rows in table_rows(ledger).items() if name not in tracking}


def one_at_a_time(ledger: LedgerApplication, messages: Messages) -> None:
    for position, message in messages:
        ledger.projection.apply(message, position=position)


def in_batches(ledger: LedgerApplication, messages: Messages, sizes: Sequence[int]) -> int:
    applied, start, turn = 0, 0, 0
    while start < len(messages):
        size = sizes[turn % len(sizes)]
        applied += ledger.projection.apply_batch(messages[start : start + size])
        start, turn = start + size, turn + 1
    return applied


@pytest.fixture
def history(app: RequestsApplication, clock: AdjustableClock) -> Messages:
    return varied_history(app, clock)


@pytest.fixture
def reference(
    history: Messages, fresh_ledger: Callable[[], LedgerApplication]
) -> dict[str, list[tuple[Any, ...]]]:
    """The tables after applying the history one event at a time."""
    ledger = fresh_ledger()
    one_at_a_time(ledger, history)
    return table_rows(ledger)


@settings(
    max_examples=12,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(sizes=st.lists(st.integers(min_value=1, max_value=70), min_size=1, max_size=6))
def test_ledger_batch_equals_one_at_a_time(
    history: Messages,
    reference: dict[str, list[tuple[Any, ...]]],
    fresh_ledger: Callable[[], LedgerApplication],
    sizes: list[int],
) -> None:
    # given the history applied one event at a time (reference)
    ledger = fresh_ledger()
    # when the same history is applied in batches of these sizes
    applied = in_batches(ledger, history, sizes)
    # then every table holds exactly the same rows
    assert applied == len(history)
    assert table_rows(ledger) == reference
    assert len(reference["ledger_entries"]) == 10
    assert claim_holders(reference) == lowest_claimants(history)


def test_ledger_batch_redelivered_changes_nothing(
    history: Messages, reference: dict[str, list[tuple[Any, ...]]], fresh_ledger: Callable
) -> None:
    # given the history applied in batches
    ledger = fresh_ledger()
    in_batches(ledger, history, [7, 30, 2])
    # when every event is delivered again, in other batches, and again (as Kafka redelivers:
    # without feed positions) with repeats inside one batch
    again = in_batches(ledger, history, [11, 500])
    unpositioned = [(None, message) for _position, message in history]
    repeated = ledger.projection.apply_batch(unpositioned[:20] + unpositioned)
    # then nothing is applied and no row changes
    assert again == repeated == 0
    assert table_rows(ledger) == reference


def test_ledger_batch_handler_run_again_without_tracking_appends_nothing(
    history: Messages, reference: dict[str, list[tuple[Any, ...]]], fresh_ledger: Callable
) -> None:
    # given the history applied in batches
    ledger = fresh_ledger()
    in_batches(ledger, history, [13])
    expected = ledger_rows(ledger)
    # when the handler itself runs over the whole history again, and a batch holds every event twice
    # (a second consumer without shared tracking rows, a manual replay)
    messages = [message for _position, message in history]
    with ledger.engine.begin() as conn:
        handle(messages, conn)
    with ledger.engine.begin() as conn:
        handle(messages + messages, conn)
    # then the ledger's own tables are unchanged: entries, outbox, facts, claims
    assert ledger_rows(ledger) == expected
    assert expected == {
        name: rows for name, rows in reference.items() if name.startswith("ledger_")
    }


def test_ledger_batch_leaves_a_paid_claim_with_the_request_it_was_paid_for(
    app: RequestsApplication, clock: AdjustableClock, fresh_ledger: Callable
) -> None:
    # given a shipment's claim turned on by the higher request id, and paid
    lower, higher = two_requests_on_one_shipment(app)
    respond(higher, "full_refund", auto_claim=True)
    paid_before = all_messages(app)
    respond(lower, "full_refund", auto_claim=True)
    app.post_message(lower.id, lower.buyer, body="thanks", attachments=[])
    rest = all_messages(app)[len(paid_before) :]
    tracking = higher.state().auto_claim["tracking_number"]
    payment = ClaimPaid(type="claim_paid", tracking_number=tracking, amount=900, at=clock.now())
    single, batched = fresh_ledger(), fresh_ledger()
    one_at_a_time(single, paid_before)
    in_batches(batched, paid_before, [len(paid_before)])
    for ledger in (single, batched):
        ledger.record_claim_paid(payment)
    # when the lower request's claim arrives afterwards, alone or in one batch with other events
    one_at_a_time(single, rest)
    in_batches(batched, rest, [len(rest)])
    # then the paid claim stays with the request it was paid for, the same either way
    assert table_rows(batched) == table_rows(single)
    assert claim_holders(table_rows(single)) == {tracking: str(higher.id)}
