"""Property (hypothesis): for any walk of valid commands and timer firings over a few requests of one
seller, the seller's balance is minus the money the policy assigns to the seller, plus paid claims.

The expectation is computed independently of the ledger, from the requests' final states (their
resolution, refund, support decision and liability, return label cost) and the factories' item
figures; claim credits from the claims the test itself reported paid.
"""

from __future__ import annotations

import contextlib
import tempfile
from datetime import timedelta
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from services.ledger.application import (
    ClaimNotScheduled,
    ClaimPaidConflict,
    ClaimPaidTooEarly,
    Viewer,
)
from services.ledger.main import open_ledger_at
from services.requests.application import SellerResponse, open_application
from services.requests.domain import DomainError
from shared.clock import AdjustableClock
from shared.contracts.upstream import ClaimPaid
from tests.factories import (
    BUYER_SHIPPING_PAID,
    INSURED_VALUE,
    PROCESSING_FEE,
    SELLER_PAYOUT,
    item_fact,
    ny,
    return_label_created,
    shipment_scanned,
    unique,
)
from tests.integration.ledger_harness import open_request, pump, shipment_tracking

SELLER = "seller-walk"
START = ny(2026, 12, 7, 14, 0)

ACTIONS = [
    "full_refund",
    "full_refund_claim",
    "full_refund_with_return",
    "full_refund_with_return_claim",
    "partial",
    "replacement",
    "no_refund",
    "request_info",
    "accept",
    "decline",
    "ship_return",
    "ship_return",
    "label_and_drop_off",
    "confirm",
    "dispute",
    "replacement_scan",
    "return_for_refund",
    "buyer_message",
    "escalate",
    "escalate",
    "decide_refund",
    "decide_refund_with_return",
    "decide_uphold_seller",
    "decide_platform_refund",
    "claim_paid",
]

# Short paths through the policy, so that most walks reach money; atomic actions interleave with
# them (on the same or another request) and may derail them, which is fine: invalid ones are no-ops.
SCENARIOS = {
    "refund": ["full_refund"],
    "refund_claim": ["full_refund_claim"],
    "refund_claim_paid": ["full_refund_claim", "advance:336", "claim_paid"],
    "return_confirmed": ["full_refund_with_return_claim", "ship_return", "confirm"],
    "return_auto_confirmed": ["full_refund_with_return", "ship_return", "advance:73"],
    "return_expired": ["full_refund_with_return", "advance:192"],
    "partial_accepted": ["partial", "accept"],
    "partial_declined": ["partial", "decline", "ship_return", "confirm"],
    "partial_lapsed": ["partial", "advance:49"],
    "replacement": ["replacement", "replacement_scan"],
    "replacement_overdue": ["replacement", "advance:73", "return_for_refund", "ship_return"],
    "support_refund": ["escalate", "decide_refund"],
    "support_return": ["escalate", "decide_refund_with_return", "ship_return", "confirm"],
    "support_uphold": ["escalate", "decide_uphold_seller"],
    "support_platform": ["escalate", "decide_platform_refund"],
    "dispute_refund": ["full_refund_with_return", "ship_return", "dispute", "decide_refund"],
    "dispute_platform": [
        "full_refund_with_return",
        "ship_return",
        "dispute",
        "decide_platform_refund",
    ],
}

step = st.one_of(
    st.tuples(st.just("advance"), st.sampled_from([1, 5, 25, 49, 73, 24 * 8])),
    st.tuples(
        st.sampled_from(ACTIONS + sorted(SCENARIOS)),
        st.integers(min_value=0, max_value=1),  # which request
        st.integers(min_value=1, max_value=20_000),  # an amount where one is needed
    ),
)

request_spec = st.tuples(
    st.integers(min_value=1, max_value=2),  # items on the order, all affected
    st.sampled_from([1, 10, 13, 20]),  # shipped this many days before the start
    st.sampled_from([3000, INSURED_VALUE]),  # insured value
)


def policy_charge(state: Any, n_items: int) -> int:
    """What the cost table (R30-R35) assigns to the seller for a request in its final state."""
    base = n_items * (SELLER_PAYOUT + BUYER_SHIPPING_PAID + PROCESSING_FEE)
    if state.resolution == "partial_refund":
        return state.refund["amount"]  # R33
    if state.resolution != "full_refund":
        return 0  # R32 replacement, R34 uphold/no refund, R35 expired/cancelled, still open
    decision = state.decision
    if decision is not None and decision["liable"] != "seller":
        return 0  # R34 platform-funded
    returned = state.return_ is not None and state.return_["delivered_at"] is not None
    label = (state.return_ or {}).get("label_cost") or 0
    return base + (label if returned else 0)  # R30, or R31 with the return label


@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(
    specs=st.lists(request_spec, min_size=1, max_size=3),
    steps=st.lists(step, min_size=1, max_size=25),
    redeliver=st.booleans(),
)
def test_r30_r39_balance_equals_policy_charges_plus_paid_claims(
    specs: list[tuple[int, int, int]], steps: list[tuple], redeliver: bool
) -> None:
    with tempfile.TemporaryDirectory() as folder:
        clock = AdjustableClock(START, frozen=True)
        app = open_application(f"sqlite:///{folder}/events.db", clock)
        ledger = open_ledger_at(f"sqlite:///{folder}/ledger.db")
        try:
            _walk(app, ledger, clock, specs, steps, redeliver)
        finally:
            ledger.close()
            app.close()
            app.recorder.datastore.engine.dispose()


def _walk(app, ledger, clock, specs, steps, redeliver) -> None:
    requests = []
    for n_items, shipped_days_ago, insured in specs:
        requests.append(
            open_request(
                app,
                seller_id=SELLER,
                items=[item_fact() for _ in range(n_items)],
                shipped_at=START - timedelta(days=shipped_days_ago),
                insured_value=insured,
            )
        )
    returns: dict[int, str] = {}
    replacements: dict[int, str] = {}
    credited: dict[str, int] = {}

    for action in steps:
        if action[0] == "advance":
            clock.advance(timedelta(hours=action[1]))
            app.fire_due()
            continue
        name, index, amount = action
        index %= len(requests)
        opened = requests[index]
        for atomic in SCENARIOS.get(name, [name]):
            if atomic.startswith("advance:"):
                clock.advance(timedelta(hours=int(atomic.split(":")[1])))
                app.fire_due()
                continue
            with contextlib.suppress(DomainError, LookupError, PermissionError):
                # not valid in this state: rejected without any event
                _act(
                    app,
                    ledger,
                    clock,
                    opened,
                    atomic,
                    amount,
                    index,
                    returns,
                    replacements,
                    credited,
                )
            if redeliver:
                pump(app, ledger)

    pump(app, ledger)
    pump(app, ledger)  # a second pass changes nothing
    expected = 0
    for opened, (n_items, _days, _insured) in zip(requests, specs, strict=True):
        expected -= policy_charge(opened.state(), n_items)
    expected += sum(credited.values())
    view = ledger.ledger(SELLER, Viewer("auditor", "a"), limit=500)
    assert sum(e["amount"] for e in view["entries"]) == view["balance"]["amount"]
    assert view["balance"] == {"amount": expected, "currency": "USD"}
    assert view["total_entries"] <= len(requests) + len(credited)  # one charge per request at most


def _act(app, ledger, clock, opened, name, amount, index, returns, replacements, credited) -> None:
    seller, buyer, agent = opened.seller, opened.buyer, opened.agent
    rid = opened.id
    if name.startswith("full_refund"):
        kind = "full_refund_with_return" if "with_return" in name else "full_refund"
        app.respond(rid, seller, SellerResponse(type=kind, auto_claim=name.endswith("_claim")))
    elif name == "partial":
        app.respond(rid, seller, SellerResponse(type="partial_refund", amount=1 + amount % 2999))
    elif name == "replacement":
        replacements[index] = unique("REPL")
        app.respond(
            rid,
            seller,
            SellerResponse(type="replacement", carrier="USPS", tracking_number=replacements[index]),
        )
    elif name == "no_refund":
        app.respond(
            rid, seller, SellerResponse(type="no_refund", message="no", evidence=("e.png",))
        )
    elif name == "request_info":
        app.respond(rid, seller, SellerResponse(type="request_info", message="photos?"))
    elif name == "accept":
        app.accept_offer(rid, buyer)
    elif name == "decline":
        app.decline_offer(rid, buyer)
    elif name in ("ship_return", "label_and_drop_off"):
        current = opened.state().return_
        if current is not None and current["tracking_number"] is None:
            tracking = unique("RET")
            label = return_label_created(
                rid, clock.now(), label_cost=amount % 2000, tracking_number=tracking
            )
            app.record_return_label(label)  # raises unless a return is expected
            returns[index] = tracking
        if index not in returns:
            return
        app.record_shipment_scan(shipment_scanned(returns[index], "accepted", clock.now()))
        if name == "ship_return":
            app.record_shipment_scan(shipment_scanned(returns[index], "delivered", clock.now()))
    elif name == "confirm":
        app.confirm_return(rid, seller)
    elif name == "dispute":
        app.dispute_return(rid, seller, reason="not the item", evidence=["p.jpg"])
    elif name == "replacement_scan":
        if index in replacements:
            app.record_shipment_scan(shipment_scanned(replacements[index], "accepted", clock.now()))
    elif name == "return_for_refund":
        app.return_for_refund(rid, buyer)
    elif name == "buyer_message":
        app.post_message(rid, buyer, body="here you go", attachments=[])
    elif name == "escalate":
        with contextlib.suppress(DomainError):  # a no-refund explanation: a ground (R17, R20)
            app.respond(
                rid, seller, SellerResponse(type="no_refund", message="no", evidence=("e.png",))
            )
        app.escalate(rid, buyer, reason="help")
    elif name.startswith("decide_"):
        app.decide(rid, agent, outcome=name.removeprefix("decide_"))
    elif name == "claim_paid":
        pump(app, ledger)
        tracking = shipment_tracking(app, opened)
        state = opened.state()
        paid = (amount * 7919) % 15_000 + 1  # spread over both sides of the insured values
        fact = ClaimPaid(type="claim_paid", tracking_number=tracking, amount=paid, at=clock.now())
        claim = state.auto_claim
        try:
            result = ledger.record_claim_paid(fact)
        except ClaimNotScheduled:
            assert claim is None
            return
        except ClaimPaidTooEarly:
            assert claim is not None and clock.now() < claim["file_at"]
            return
        except ClaimPaidConflict:
            assert tracking in credited  # a different amount for an already paid claim
            return
        assert claim is not None and clock.now() >= claim["file_at"]
        if tracking not in credited:
            credited[tracking] = min(paid, claim["insured_value"])
        assert result["amount"] == credited[tracking]
