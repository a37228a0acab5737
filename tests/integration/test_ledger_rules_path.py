"""R30-R39 through the whole path: command -> event -> transport -> ledger projection -> ledger
query, on both transport adapters (`sync`):

- `sqlite-embedded`, `postgres-embedded`: the in-process notification-log feed (`make run`);
- `sqlite-kafka`: the outbox relay publishes to a real broker (a topic of the test's own) and the
  ledger's ConsumerRuntime (consumer group of its own) applies the records (`make up`). SQLite is
  enough there: the PostgreSQL side of the projection is covered by the embedded variant."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest

from services.ledger.application import (
    ClaimNotScheduled,
    ClaimPaidConflict,
    ClaimPaidTooEarly,
    LedgerApplication,
)
from services.requests.application import RequestsApplication
from services.requests.domain import AutoClaimNotEligible
from shared.clock import AdjustableClock
from shared.contracts.upstream import ClaimPaid
from shared.transport.messages import EventMessage
from tests.factories import item_fact, ny, shipment_scanned, unique, utc
from tests.integration.ledger_harness import (
    R30_PER_ITEM,
    KafkaLedgerPath,
    escalate_after_no_refund,
    kinds_and_amounts,
    open_request,
    pump,
    respond,
    seller_ledger,
    ship_return,
    shipment_tracking,
)

# the ledger and ledger_url fixtures; the broker and per-test topics
pytest_plugins = ["tests.integration.ledger_harness", "tests.integration.kafka_fixtures"]

LABEL = 800

TRANSPORTS = [
    pytest.param("sqlite", "embedded", id="sqlite-embedded"),
    pytest.param("postgres", "embedded", id="postgres-embedded"),
    pytest.param("sqlite", "kafka", id="sqlite-kafka", marks=pytest.mark.kafka),
]


# Every test here takes `sync`: each scenario runs on each transport.
pytestmark = pytest.mark.parametrize(("database_url", "sync"), TRANSPORTS, indirect=True)


@pytest.fixture
def sync(request: pytest.FixtureRequest) -> Iterator[Any]:
    """`sync(app, ledger)`: deliver every new request event to the ledger over the transport."""
    if request.param == "embedded":
        yield pump
        return
    bootstrap = request.getfixturevalue("kafka_bootstrap")
    path = KafkaLedgerPath(bootstrap, request.getfixturevalue("topics")("ledger-path"))
    try:
        yield path
    finally:
        path.close()


def test_r30_full_refund_without_return_charged_at_the_offer(
    app: RequestsApplication, ledger: LedgerApplication, clock: AdjustableClock, sync: Any
) -> None:
    opened = open_request(app)
    clock.advance(timedelta(hours=3))
    offered_at = clock.now()
    respond(opened, "full_refund")
    sync(app, ledger)
    view = seller_ledger(ledger, opened)
    assert kinds_and_amounts(view) == [("refund_no_return", -R30_PER_ITEM)]
    assert view["balance"] == {"amount": -2803, "currency": "USD"}  # API.md's example
    [entry] = view["entries"]
    assert entry["at"] == utc(offered_at)
    assert entry["request_id"] == str(opened.id)
    assert entry["event_id"] == f"{opened.id}:2"


def test_r31_refund_after_return_charged_at_seller_confirmation(
    app: RequestsApplication, ledger: LedgerApplication, clock: AdjustableClock, sync: Any
) -> None:
    opened = open_request(app)
    respond(opened, "full_refund_with_return")
    clock.advance(timedelta(hours=2))
    ship_return(opened, clock.now(), label_cost=LABEL)
    sync(app, ledger)
    assert seller_ledger(ledger, opened)["entries"] == []  # nothing until the inspection ends
    clock.advance(timedelta(hours=5))
    confirmed_at = clock.now()
    app.confirm_return(opened.id, opened.seller)
    sync(app, ledger)
    view = seller_ledger(ledger, opened)
    assert kinds_and_amounts(view) == [("refund_after_return", -(R30_PER_ITEM + LABEL))]
    assert view["entries"][0]["at"] == utc(confirmed_at)


def test_r31_auto_confirmation_two_business_days_after_delivery(
    app: RequestsApplication, ledger: LedgerApplication, clock: AdjustableClock, sync: Any
) -> None:
    opened = open_request(app)
    respond(opened, "full_refund_with_return")
    ship_return(opened, clock.now(), label_cost=650)  # delivered Monday 15:00 New York
    clock.advance(timedelta(days=1))
    app.fire_due()
    sync(app, ledger)
    assert seller_ledger(ledger, opened)["entries"] == []
    clock.advance(timedelta(days=2))
    app.fire_due()
    sync(app, ledger)
    view = seller_ledger(ledger, opened)
    assert kinds_and_amounts(view) == [("refund_after_return", -(R30_PER_ITEM + 650))]
    assert view["entries"][0]["at"] == utc(ny(2026, 12, 9, 15, 0))  # Wednesday 15:00
    assert opened.view()["resolution"] == "full_refund"


def test_r31_declined_partial_offer_then_return_is_charged_in_full(
    app: RequestsApplication, ledger: LedgerApplication, clock: AdjustableClock, sync: Any
) -> None:
    opened = open_request(app)
    respond(opened, "partial_refund", amount=1000)
    app.decline_offer(opened.id, opened.buyer)
    ship_return(opened, clock.now())
    app.confirm_return(opened.id, opened.seller)
    sync(app, ledger)
    assert kinds_and_amounts(seller_ledger(ledger, opened)) == [
        ("refund_after_return", -(R30_PER_ITEM + LABEL))
    ]


def test_r32_replacement_charges_nothing(
    app: RequestsApplication, ledger: LedgerApplication, clock: AdjustableClock, sync: Any
) -> None:
    opened = open_request(app)
    tracking = unique("REPL")
    respond(opened, "replacement", carrier="USPS", tracking_number=tracking)
    clock.advance(timedelta(hours=5))
    app.record_shipment_scan(shipment_scanned(tracking, "accepted", clock.now()))
    sync(app, ledger)
    assert opened.view()["resolution"] == "replacement"
    assert seller_ledger(ledger, opened)["entries"] == []
    assert seller_ledger(ledger, opened)["balance"]["amount"] == 0


def test_r32_overdue_replacement_returned_for_refund_is_charged_as_r31(
    app: RequestsApplication, ledger: LedgerApplication, clock: AdjustableClock, sync: Any
) -> None:
    opened = open_request(app)
    respond(opened, "replacement", carrier="USPS", tracking_number=unique("REPL"))
    clock.advance(timedelta(days=3))
    app.fire_due()  # replacement_overdue
    app.return_for_refund(opened.id, opened.buyer)
    ship_return(opened, clock.now())
    app.confirm_return(opened.id, opened.seller)
    sync(app, ledger)
    assert kinds_and_amounts(seller_ledger(ledger, opened)) == [
        ("refund_after_return", -(R30_PER_ITEM + LABEL))
    ]


def test_r33_partial_refund_charged_at_acceptance(
    app: RequestsApplication, ledger: LedgerApplication, clock: AdjustableClock, sync: Any
) -> None:
    opened = open_request(app)
    respond(opened, "partial_refund", amount=1250)
    sync(app, ledger)
    assert seller_ledger(ledger, opened)["entries"] == []  # an offer alone charges nothing
    clock.advance(timedelta(hours=4))
    accepted_at = clock.now()
    app.accept_offer(opened.id, opened.buyer)
    sync(app, ledger)
    view = seller_ledger(ledger, opened)
    assert kinds_and_amounts(view) == [("partial_refund", -1250)]
    assert view["entries"][0]["at"] == utc(accepted_at)


def test_r34_support_refund_with_seller_liable_charged_at_the_decision(
    app: RequestsApplication, ledger: LedgerApplication, clock: AdjustableClock, sync: Any
) -> None:
    opened = open_request(app)
    escalate_after_no_refund(opened)
    clock.advance(timedelta(days=1))
    decided_at = clock.now()
    app.decide(opened.id, opened.agent, outcome="refund")
    sync(app, ledger)
    view = seller_ledger(ledger, opened)
    assert kinds_and_amounts(view) == [("support_ruling", -R30_PER_ITEM)]
    assert view["entries"][0]["at"] == utc(decided_at)


def test_r34_support_refund_with_return_charged_at_return_confirmation(
    app: RequestsApplication, ledger: LedgerApplication, clock: AdjustableClock, sync: Any
) -> None:
    opened = open_request(app)
    escalate_after_no_refund(opened)
    app.decide(opened.id, opened.agent, outcome="refund_with_return")
    sync(app, ledger)
    assert seller_ledger(ledger, opened)["entries"] == []
    ship_return(opened, clock.now())
    clock.advance(timedelta(hours=6))
    app.confirm_return(opened.id, opened.seller)
    sync(app, ledger)
    view = seller_ledger(ledger, opened)
    assert kinds_and_amounts(view) == [("refund_after_return", -(R30_PER_ITEM + LABEL))]
    assert view["entries"][0]["at"] == utc(clock.now())


def test_r34_support_refund_after_disputed_return_charges_the_r31_amount(
    app: RequestsApplication, ledger: LedgerApplication, clock: AdjustableClock, sync: Any
) -> None:
    opened = open_request(app)
    respond(opened, "full_refund_with_return")
    ship_return(opened, clock.now())
    app.dispute_return(opened.id, opened.seller, reason="Empty box", evidence=["box.jpg"])
    app.decide(opened.id, opened.agent, outcome="refund")
    sync(app, ledger)
    assert kinds_and_amounts(seller_ledger(ledger, opened)) == [
        ("support_ruling", -(R30_PER_ITEM + LABEL))
    ]


@pytest.mark.parametrize("outcome", ["platform_refund", "uphold_seller"])
def test_r34_platform_funded_refund_or_upheld_seller_charges_nothing(
    app: RequestsApplication, ledger: LedgerApplication, outcome: str, sync: Any
) -> None:
    opened = open_request(app)
    escalate_after_no_refund(opened)
    app.decide(opened.id, opened.agent, outcome=outcome)
    sync(app, ledger)
    assert opened.view()["status"] == "resolved"
    assert seller_ledger(ledger, opened)["entries"] == []


def test_r35_expired_return_window_charges_nothing(
    app: RequestsApplication, ledger: LedgerApplication, clock: AdjustableClock, sync: Any
) -> None:
    opened = open_request(app)
    respond(opened, "full_refund_with_return")
    clock.advance(timedelta(days=8))
    app.fire_due()
    sync(app, ledger)
    assert opened.view()["status"] == "cancelled"
    assert seller_ledger(ledger, opened)["entries"] == []


def test_r36_a_buyer_chargeback_leaves_the_ledger_unchanged(
    app: RequestsApplication, ledger: LedgerApplication, clock: AdjustableClock, sync: Any
) -> None:
    # [decided] Chargebacks are the payment provider's business: no request event represents one.
    # Should such a message ever reach the ledger's consumer, it must not charge the seller.
    opened = open_request(app)
    respond(opened, "full_refund")
    sync(app, ledger)
    before = ledger.all_entries()
    for n, name in enumerate(("chargeback_opened", "chargeback_lost"), start=100):
        ledger.projection.apply(
            EventMessage(
                id=f"{opened.id}:{n}",
                name=name,
                subject=str(opened.id),
                time=clock.now(),
                data={
                    "request_id": str(opened.id),
                    "version": n,
                    "at": clock.now().isoformat(),
                    "actor": "platform",
                    "amount": 3000,
                    "liable": "seller",
                },
            )
        )
    assert ledger.all_entries() == before
    assert seller_ledger(ledger, opened)["balance"]["amount"] == -R30_PER_ITEM


def test_r37_only_the_affected_items_figures_are_summed(
    app: RequestsApplication, ledger: LedgerApplication, sync: Any
) -> None:
    items = [
        item_fact(seller_payout=1000, buyer_shipping_paid=0, processing_fee=31, price=1100),
        item_fact(seller_payout=4500, buyer_shipping_paid=350, processing_fee=170, price=5000),
        item_fact(seller_payout=9000, buyer_shipping_paid=10, processing_fee=300, price=9500),
    ]
    opened = open_request(app, items=items, affected=2)
    respond(opened, "full_refund")
    sync(app, ledger)
    assert kinds_and_amounts(seller_ledger(ledger, opened)) == [
        ("refund_no_return", -(1031 + 5020))
    ]


def test_r38_auto_claim_schedules_a_claim_14_days_after_shipping(
    app: RequestsApplication, ledger: LedgerApplication, sync: Any
) -> None:
    shipped_at = ny(2026, 11, 30, 9, 0)
    opened = open_request(app, shipped_at=shipped_at, insured_value=6000)
    respond(opened, "full_refund", auto_claim=True)
    sync(app, ledger)
    claim = ledger.claim(shipment_tracking(app, opened))
    assert claim is not None
    assert claim["file_at"] == utc(shipped_at + timedelta(days=14))
    assert (claim["insured_value"], claim["seller_id"]) == (6000, opened.order.seller_id)
    assert claim["paid_at"] is None


def test_r38_ineligible_auto_claim_is_refused_and_schedules_nothing(
    app: RequestsApplication, ledger: LedgerApplication, sync: Any
) -> None:
    opened = open_request(app, carrier="UPS")
    with pytest.raises(AutoClaimNotEligible):
        respond(opened, "full_refund", auto_claim=True)
    sync(app, ledger)
    assert ledger.claim(shipment_tracking(app, opened)) is None


def test_r39_paid_claim_credited_once_at_most_the_insured_value(
    app: RequestsApplication, ledger: LedgerApplication, clock: AdjustableClock, sync: Any
) -> None:
    opened = open_request(app, insured_value=2500)  # shipped Nov 23: claimable from Dec 7 09:00
    respond(opened, "full_refund", auto_claim=True)
    sync(app, ledger)
    tracking = shipment_tracking(app, opened)
    clock.advance(timedelta(days=20))
    paid = ClaimPaid(type="claim_paid", tracking_number=tracking, amount=4000, at=clock.now())
    first = ledger.record_claim_paid(paid)
    again = ledger.record_claim_paid(paid)
    assert first["created"] and not again["created"]
    assert first["id"] == again["id"]
    view = seller_ledger(ledger, opened)
    assert kinds_and_amounts(view) == [("refund_no_return", -R30_PER_ITEM), ("claim_credit", 2500)]
    assert view["balance"]["amount"] == -R30_PER_ITEM + 2500
    with pytest.raises(ClaimPaidConflict):
        ledger.record_claim_paid(paid.model_copy(update={"amount": 100}))
    sync(app, ledger)  # the request stream does not touch the credit
    assert seller_ledger(ledger, opened)["balance"]["amount"] == -R30_PER_ITEM + 2500


def test_r39_payment_before_the_filing_date_is_a_conflict(
    app: RequestsApplication, ledger: LedgerApplication, clock: AdjustableClock, sync: Any
) -> None:
    opened = open_request(app, shipped_at=ny(2026, 12, 1, 9, 0))  # claimable from Dec 15 09:00
    respond(opened, "full_refund_with_return", auto_claim=True)
    sync(app, ledger)
    tracking = shipment_tracking(app, opened)
    early = ClaimPaid(type="claim_paid", tracking_number=tracking, amount=900, at=clock.now())
    with pytest.raises(ClaimPaidTooEarly, match="no earlier than"):
        ledger.record_claim_paid(early)
    assert seller_ledger(ledger, opened)["entries"] == []
    on_time = early.model_copy(update={"at": ny(2026, 12, 15, 9, 0)})
    assert ledger.record_claim_paid(on_time)["amount"] == 900


def test_r39_payment_for_an_unscheduled_claim_is_refused(
    app: RequestsApplication, ledger: LedgerApplication, clock: AdjustableClock, sync: Any
) -> None:
    opened = open_request(app)
    respond(opened, "full_refund")  # no auto_claim
    sync(app, ledger)
    with pytest.raises(ClaimNotScheduled):
        ledger.record_claim_paid(
            ClaimPaid(
                type="claim_paid",
                tracking_number=shipment_tracking(app, opened),
                amount=100,
                at=clock.now(),
            )
        )
