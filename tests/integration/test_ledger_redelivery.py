"""Exactly once in effect: redelivery, double pumping and full rebuilds leave the same entries."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from sqlalchemy import select

from services.ledger import store
from services.ledger.application import LedgerApplication
from services.ledger.main import open_ledger_at
from services.ledger.projection import handle
from services.requests.application import RequestsApplication
from shared.clock import AdjustableClock
from shared.contracts.upstream import ClaimPaid
from tests.integration.ledger_harness import (
    R30_PER_ITEM,
    all_messages,
    escalate_after_no_refund,
    open_request,
    pump,
    respond,
    ship_return,
    shipment_tracking,
)

pytest_plugins = ["tests.integration.ledger_harness"]  # the ledger and ledger_url fixtures


def busy_history(app: RequestsApplication, clock: AdjustableClock) -> list[str]:
    """Several requests through every charging path; returns the claimed tracking numbers."""
    seller = "seller-busy"
    a = open_request(app, seller_id=seller)
    respond(a, "full_refund", auto_claim=True)
    b = open_request(app, seller_id=seller)
    respond(b, "partial_refund", amount=700)
    app.accept_offer(b.id, b.buyer)
    c = open_request(app, seller_id=seller)
    respond(c, "full_refund_with_return")
    ship_return(c, clock.now(), label_cost=555)
    d = open_request(app, seller_id=seller)
    escalate_after_no_refund(d)
    app.decide(d.id, d.agent, outcome="refund")
    e = open_request(app, seller_id=seller)
    respond(e, "full_refund_with_return")
    clock.advance(timedelta(days=4))
    app.fire_due()  # c auto-confirmed, e's return window still open
    clock.advance(timedelta(days=5))
    app.fire_due()  # e's return window expired
    return [shipment_tracking(app, a)]


def test_every_message_applied_twice_gives_the_same_entries(
    app: RequestsApplication, ledger: LedgerApplication, clock: AdjustableClock, tmp_path: Path
) -> None:
    claims = busy_history(app, clock)
    messages = all_messages(app)
    for position, message in messages:
        assert ledger.projection.apply(message, position=position) is True
        assert ledger.projection.apply(message, position=position) is False
    once = open_ledger_at(f"sqlite:///{tmp_path}/once.db")
    try:
        pump(app, once)
        assert ledger.all_entries() == once.all_entries()
        assert len(once.all_entries()) == 4
        balance = sum(e["amount"] for e in once.all_entries())
        assert balance == -(R30_PER_ITEM + 700 + (R30_PER_ITEM + 555) + R30_PER_ITEM)
        assert claims  # scheduled in both
        assert ledger.claim(claims[0])["file_at"] == once.claim(claims[0])["file_at"]
    finally:
        once.close()


def test_pumping_twice_changes_nothing(
    app: RequestsApplication, ledger: LedgerApplication, clock: AdjustableClock
) -> None:
    busy_history(app, clock)
    assert pump(app, ledger) > 0
    first = ledger.all_entries()
    assert pump(app, ledger) == 0
    assert ledger.all_entries() == first


def test_the_handler_itself_never_appends_twice_for_one_event(
    app: RequestsApplication, ledger: LedgerApplication, clock: AdjustableClock
) -> None:
    # Even without the tracking rows (a second consumer sharing the tables, a manual replay), an
    # event's entry is keyed by its event id.
    busy_history(app, clock)
    messages = all_messages(app)
    for _ in range(2):
        for _position, message in messages:
            with ledger.engine.begin() as conn:
                handle([message], conn)
    with ledger.engine.connect() as conn:
        rows = conn.execute(select(store.entries.c.event_id)).scalars().all()
    assert len(rows) == len(set(rows)) == 4


def test_rebuild_on_a_fresh_database_yields_identical_rows(
    app: RequestsApplication,
    ledger: LedgerApplication,
    clock: AdjustableClock,
    ledger_url: str,
    tmp_path: Path,
) -> None:
    claims = busy_history(app, clock)
    pump(app, ledger)
    clock.advance(timedelta(days=1))
    paid = ClaimPaid(type="claim_paid", tracking_number=claims[0], amount=1234, at=clock.now())
    ledger.record_claim_paid(paid)
    live = ledger.all_entries()
    # A rebuild replays the request stream, then the recorded upstream claim payments.
    rebuilt = open_ledger_at(f"sqlite:///{tmp_path}/rebuilt.db")
    try:
        pump(app, rebuilt)
        rebuilt.record_claim_paid(paid)
        pump(app, rebuilt)
        rebuilt.record_claim_paid(paid)
        assert rebuilt.all_entries() == live
        assert len(live) == 5
    finally:
        rebuilt.close()
