"""The seller ledger under any walk of the policy (R30-R39, R63), on SQLite and on PostgreSQL.

Two kinds of oracle, neither a copy of the ledger's cost table:

- **Invariants** over random walks of valid and invalid commands and timer firings (hypothesis):
  the balance is the sum of the entries; a request is charged at most once; no item is charged more
  than its full-refund amount with its return label (R63's cap); a charge exists exactly when the buyer
  was refunded with the seller liable, and a partial refund costs the seller what the buyer got, up
  to that cap (conservation); a paid claim is credited once, never above what was paid or insured (R39); a
  second delivery of every event changes nothing.
- **Literal examples** from the policy's own words: a table of scenarios with the amounts worked out
  by hand from SPEC.md section 6 and the factories' item figures (payout 2200, buyer shipping 500,
  processing fee 103, price 2500, insured 10000).
"""

from __future__ import annotations

import contextlib
from datetime import timedelta
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from services.ledger.application import (
    ClaimNotScheduled,
    ClaimPaidConflict,
    ClaimPaidTooEarly,
    LedgerApplication,
    Viewer,
)
from services.requests.application import SellerResponse, open_application
from services.requests.domain import DomainError
from shared.clock import AdjustableClock
from shared.contracts.upstream import ClaimPaid
from tests.factories import (
    INSURED_VALUE,
    item_fact,
    ny,
    return_label_created,
    shipment_scanned,
    unique,
)
from tests.integration.ledger_harness import open_request, pump, shipment_tracking

pytest_plugins = ["tests.integration.ledger_harness"]  # database_url x ledger_url: both stores

START = ny(2026, 12, 7, 14, 0)
AUDITOR = Viewer("auditor", "a")

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
        # an amount where one is needed: a partial offer, a label cost, a claim payment
        st.one_of(st.integers(1, 2_999), st.integers(3_000, 15_000)),
    ),
)

request_spec = st.tuples(
    st.integers(min_value=1, max_value=2),  # items on the order, all affected
    st.sampled_from([1, 10, 13, 20]),  # shipped this many days before the start
    st.sampled_from([3000, INSURED_VALUE]),  # insured value
)


class World:
    """One example's requests application (its own clock) beside the test's ledger; one fresh
    seller per example, so examples sharing a database never see each other's entries."""

    def __init__(self, database_url: str, ledger: LedgerApplication) -> None:
        self.clock = AdjustableClock(START, frozen=True)
        self.app = open_application(database_url, self.clock)
        self.ledger = ledger
        self.seller = unique("seller-walk")
        self.requests: list[Any] = []
        self.returns: dict[int, str] = {}
        self.replacements: dict[int, str] = {}
        self.credited: dict[str, int] = {}
        self.paid: dict[str, int] = {}

    def close(self) -> None:
        self.app.close()
        self.app.recorder.datastore.engine.dispose()

    def open(self, n_items: int, shipped_days_ago: int, insured: int) -> None:
        self.requests.append(
            open_request(
                self.app,
                seller_id=self.seller,
                items=[item_fact() for _ in range(n_items)],
                shipped_at=START - timedelta(days=shipped_days_ago),
                insured_value=insured,
            )
        )

    def advance(self, hours: int) -> None:
        self.clock.advance(timedelta(hours=hours))
        self.app.fire_due()

    def run(self, name: str, index: int, amount: int, redeliver: bool = False) -> None:
        index %= len(self.requests)
        for atomic in SCENARIOS.get(name, [name]):
            if atomic.startswith("advance:"):
                self.advance(int(atomic.split(":")[1]))
                continue
            with contextlib.suppress(DomainError, LookupError, PermissionError):
                # not valid in this state: rejected without any event
                _act(self, self.requests[index], atomic, amount, index)
            if redeliver:
                pump(self.app, self.ledger)

    def entries(self) -> dict[str, Any]:
        return self.ledger.ledger(self.seller, AUDITOR, limit=500)


@pytest.fixture
def world(database_url: str, ledger: LedgerApplication) -> Any:
    """A factory of Worlds on this test's databases (one per hypothesis example)."""
    made: list[World] = []

    def make() -> World:
        made.append(World(database_url, ledger))
        return made[-1]

    yield make
    for w in made:
        w.close()


# --- invariants over random walks -------------------------------------------------------------


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[
        HealthCheck.too_slow,
        HealthCheck.data_too_large,
        HealthCheck.function_scoped_fixture,  # one database per test; a fresh seller per example
    ],
)
@given(
    specs=st.lists(request_spec, min_size=1, max_size=3),
    steps=st.lists(step, min_size=1, max_size=25),
    redeliver=st.booleans(),
)
def test_r30_r39_r63_ledger_invariants_hold_for_any_walk_of_the_policy(
    world: Any, specs: list[tuple[int, int, int]], steps: list[tuple], redeliver: bool
) -> None:
    w = world()
    for spec in specs:
        w.open(*spec)
    for action in steps:
        if action[0] == "advance":
            w.advance(action[1])
        else:
            w.run(*action, redeliver=redeliver)
    pump(w.app, w.ledger)
    before = w.entries()
    assert pump(w.app, w.ledger) == 0 or w.entries() == before  # a second pass changes nothing
    view = w.entries()
    entries = view["entries"]
    assert view["total_entries"] == len(entries)
    # the balance is the sum of the entries
    assert view["balance"] == {"amount": sum(e["amount"] for e in entries), "currency": "USD"}
    charges = [e for e in entries if e["kind"] != "claim_credit"]
    credits = [e for e in entries if e["kind"] == "claim_credit"]
    assert all(e["amount"] < 0 for e in charges) and all(e["amount"] > 0 for e in credits)
    for opened in w.requests:
        mine = [e for e in charges if e["request_id"] == str(opened.id)]
        _assert_charge_invariants(opened, mine)
    assert {e["request_id"] for e in charges} <= {str(o.id) for o in w.requests}
    # R39: each paid claim credited once, never above what was paid nor above the insured value
    assert sorted(e["amount"] for e in credits) == sorted(w.credited.values())
    for tracking, credit in w.credited.items():
        assert 0 < credit <= w.paid[tracking]


def _assert_charge_invariants(opened: Any, charges: list[dict[str, Any]]) -> None:
    state = opened.state()
    # at most one charge per request (a request resolves once)
    assert len(charges) <= 1, charges
    charged = -sum(e["amount"] for e in charges)
    # R63: never more than the affected items' full-refund amounts, with the return label (R31)
    items = {i.item_id: i for i in opened.order.items}
    cap = sum(
        items[i].seller_payout + items[i].buyer_shipping_paid + items[i].processing_fee
        for i in state.item_ids
    )
    label = (state.return_ or {}).get("label_cost") or 0
    assert charged <= cap + label
    # conservation: the seller pays only when the buyer got money back with the seller liable
    refunded = state.refund["amount"] if state.refund else 0
    liable = (state.decision or {}).get("liable", "seller")
    if not refunded or liable != "seller":
        assert charges == [], (state.status, state.resolution, state.decision)
    else:
        assert len(charges) == 1, (state.status, state.resolution)
        if state.resolution == "partial_refund":
            # R33: the seller pays what the buyer got, but (R63) never more than the item's R30
            assert charged == min(refunded, cap)


# --- literal examples from the policy's words --------------------------------------------------

# (rule, scenario, items, insured, amount, expected entries (kind, amount) in minor units).
# One item: payout 2200 + buyer shipping 500 + processing fee 103 = 2803 (R30, R37).
EXAMPLES = [
    ("R30", "refund", 1, INSURED_VALUE, 1, [("refund_no_return", -2803)]),
    ("R30", "refund", 2, INSURED_VALUE, 1, [("refund_no_return", -5606)]),
    # R31: 2803 + a 650 return label
    ("R31", "return_confirmed", 1, INSURED_VALUE, 650, [("refund_after_return", -3453)]),
    ("R31", "return_auto_confirmed", 1, INSURED_VALUE, 650, [("refund_after_return", -3453)]),
    # R14 decline: a 1000 offer declined, the item returned with a 1000 label, then R31
    ("R14/R31", "partial_declined", 1, INSURED_VALUE, 1000, [("refund_after_return", -3803)]),
    ("R32", "replacement", 1, INSURED_VALUE, 1, []),
    ("R33", "partial_accepted", 1, INSURED_VALUE, 1000, [("partial_refund", -1000)]),
    # R63: a 2900 offer (below the 3000 full refund) costs the seller at most the item's 2803
    ("R33/R63", "partial_accepted", 1, INSURED_VALUE, 2900, [("partial_refund", -2803)]),
    ("R15/R33", "partial_lapsed", 1, INSURED_VALUE, 1000, []),
    ("R34", "support_refund", 1, INSURED_VALUE, 1, [("support_ruling", -2803)]),
    ("R34", "support_return", 1, INSURED_VALUE, 1000, [("refund_after_return", -3803)]),
    ("R34", "support_uphold", 1, INSURED_VALUE, 1, []),
    ("R34", "support_platform", 1, INSURED_VALUE, 1, []),
    ("R34", "dispute_refund", 1, INSURED_VALUE, 1000, [("support_ruling", -3803)]),
    ("R34", "dispute_platform", 1, INSURED_VALUE, 1000, []),
    ("R35", "return_expired", 1, INSURED_VALUE, 1, []),
    # R39: paid 12000, insured 10000 -> credit 10000; paid 2500 -> 2500
    (
        "R39",
        "refund_claim_paid",
        1,
        INSURED_VALUE,
        12_000,
        [("claim_credit", 10_000), ("refund_no_return", -2803)],
    ),
    (
        "R39",
        "refund_claim_paid",
        1,
        3000,
        2500,
        [("claim_credit", 2500), ("refund_no_return", -2803)],
    ),
]


@pytest.mark.parametrize(
    ("rule", "scenario", "n_items", "insured", "amount", "expected"),
    EXAMPLES,
    ids=[f"{e[0]}-{e[1]}-{e[2]}items-{e[4]}" for e in EXAMPLES],
)
def test_ledger_entries_match_the_policy_worked_by_hand(
    world: Any,
    rule: str,
    scenario: str,
    n_items: int,
    insured: int,
    amount: int,
    expected: list[tuple[str, int]],
) -> None:
    # given one request on an order shipped a day ago
    w = world()
    w.open(n_items, 1, insured)
    # when the scenario plays out
    w.run(scenario, 0, amount)
    pump(w.app, w.ledger)
    # then the seller's ledger holds exactly the hand-worked entries
    view = w.entries()
    assert sorted((e["kind"], e["amount"]) for e in view["entries"]) == sorted(expected), rule
    assert view["balance"]["amount"] == sum(a for _, a in expected)


def _act(w: World, opened: Any, name: str, amount: int, index: int) -> None:
    app, ledger, clock = w.app, w.ledger, w.clock
    returns, replacements, credited = w.returns, w.replacements, w.credited
    seller, buyer, agent = opened.seller, opened.buyer, opened.agent
    rid = opened.id
    if name.startswith("full_refund"):
        kind = "full_refund_with_return" if "with_return" in name else "full_refund"
        app.respond(rid, seller, SellerResponse(type=kind, auto_claim=name.endswith("_claim")))
    elif name == "partial":
        app.respond(rid, seller, SellerResponse(type="partial_refund", amount=amount))
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
                rid, clock.now(), label_cost=amount, tracking_number=tracking
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
        paid = amount
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
            credited[tracking] = result["amount"]
            w.paid[tracking] = paid
        assert result["amount"] == credited[tracking]
        assert result["amount"] <= claim["insured_value"]
