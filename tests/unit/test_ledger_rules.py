"""The ledger's rules (SPEC R30-R39) on the pure domain: published event data in, entries out."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from services.ledger.domain import (
    CHARGING_EVENTS,
    ClaimPaidTooEarly,
    EntryKind,
    Outcome,
    RequestFacts,
    UnknownRequest,
    claim_credit,
    decide,
    entry_id,
)
from shared.money import Money

RID = "11111111-1111-4111-8111-111111111111"
T0 = datetime(2026, 12, 7, 19, 0, tzinfo=UTC)
ITEM = {"seller_payout": 2200, "buyer_shipping_paid": 500, "processing_fee": 103, "price": 2500}
R30 = 2200 + 500 + 103  # 2803, API.md's example
LABEL = 800


class Stream:
    """Feeds one request's events through the pure rules, as the projection would."""

    def __init__(self, items: list[dict[str, Any]] | None = None, currency: str = "USD") -> None:
        self.version = 0
        self.facts: RequestFacts | None = None
        self.entries: list[Any] = []
        self.claims: list[Any] = []
        self.send(
            "opened",
            seller_id="seller-1",
            currency=currency,
            items=[{"item_id": f"i{n}", "title": "t", **i} for n, i in enumerate(items or [ITEM])],
        )

    def send(self, name: str, at: datetime | None = None, **data: Any) -> Outcome:
        self.version += 1
        payload = {
            "request_id": RID,
            "version": self.version,
            "at": (at or T0 + timedelta(hours=self.version)).isoformat(),
            "actor": "x",
            **data,
        }
        outcome = decide(self.facts, name, payload, f"{RID}:{self.version}")
        self.facts = outcome.facts
        self.entries.extend(outcome.entries)
        if outcome.claim:
            self.claims.append(outcome.claim)
        return outcome

    def amounts(self) -> list[tuple[str, int]]:
        return [(str(e.kind), e.amount.amount) for e in self.entries]

    def returned(self, label: int = LABEL) -> None:
        self.send("return_label_issued", tracking_number="RET-1", label_cost=label)
        self.send("return_dropped_off")
        self.send("return_delivered", return_inspection_due=T0.isoformat())


def claim_data(file_at: datetime = T0, insured: int = 10_000) -> dict[str, Any]:
    return {"tracking_number": "9400-1", "insured_value": insured, "file_at": file_at.isoformat()}


# --- R30 --------------------------------------------------------------------------------------------


def test_r30_full_refund_charges_payout_shipping_and_fee_at_the_offer() -> None:
    s = Stream()
    at = T0 + timedelta(days=1)
    s.send("full_refund_offered", at=at, amount=3000, auto_claim=None)
    assert s.amounts() == [("refund_no_return", -R30)]
    assert s.entries[0].at == at
    assert s.entries[0].amount == Money(-R30, "USD")


def test_r30_charge_ignores_what_the_buyer_got_back() -> None:
    # The buyer's refund (price + shipping = 3000) is not the seller's charge (2803).
    s = Stream()
    s.send("full_refund_offered", amount=999_999, auto_claim=None)
    assert s.amounts() == [("refund_no_return", -R30)]


# --- R31 --------------------------------------------------------------------------------------------


def test_r31_refund_after_return_charged_at_confirmation_with_label_cost() -> None:
    s = Stream()
    s.send("return_required", return_dropoff_due=T0.isoformat(), auto_claim=None)
    s.returned()
    assert s.entries == []
    confirmed_at = T0 + timedelta(days=3)
    s.send("return_confirmed", at=confirmed_at, amount=3000)
    assert s.amounts() == [("refund_after_return", -(R30 + LABEL))]
    assert s.entries[0].at == confirmed_at


def test_r31_auto_confirmation_charges_the_same_at_its_deadline() -> None:
    s = Stream()
    s.send("return_required", return_dropoff_due=T0.isoformat(), auto_claim=None)
    s.returned(label=650)
    due = T0 + timedelta(days=4)
    s.send("return_auto_confirmed", at=due, amount=3000)
    assert s.amounts() == [("refund_after_return", -(R30 + 650))]
    assert s.entries[0].at == due


@pytest.mark.parametrize("starter", ["offer_declined", "return_for_refund_chosen"])
def test_r31_other_returns_for_a_full_refund_are_charged_alike(starter: str) -> None:
    s = Stream()
    s.send(starter, return_dropoff_due=T0.isoformat())
    s.returned()
    s.send("return_confirmed", amount=3000)
    assert s.amounts() == [("refund_after_return", -(R30 + LABEL))]


def test_r31_a_new_return_forgets_the_previous_label() -> None:
    s = Stream()
    s.send("return_required", return_dropoff_due=T0.isoformat(), auto_claim=None)
    s.returned(label=500)
    s.send("return_disputed", reason="empty box", evidence=[])
    s.send("support_decided", outcome="refund_with_return", liable="seller", amount=3000)
    s.returned(label=900)
    s.send("return_confirmed", amount=3000)
    assert s.amounts() == [("refund_after_return", -(R30 + 900))]


# --- R32 --------------------------------------------------------------------------------------------


def test_r32_replacement_charges_nothing() -> None:
    s = Stream()
    s.send("replacement_promised", carrier="USPS", tracking_number="R1", replacement_ship_due="x")
    s.send("replacement_shipped")
    assert s.entries == []


# --- R33 --------------------------------------------------------------------------------------------


def test_r33_partial_refund_charged_at_acceptance_with_the_partial_amount() -> None:
    s = Stream()
    offer = s.send("partial_refund_offered", amount=1000, offer_answer_due=T0.isoformat())
    assert offer.entries == ()
    accepted_at = T0 + timedelta(days=1)
    s.send("offer_accepted", at=accepted_at, amount=1000)
    assert s.amounts() == [("partial_refund", -1000)]
    assert s.entries[0].at == accepted_at


def test_r33_a_lapsed_offer_charges_nothing() -> None:
    s = Stream()
    s.send("partial_refund_offered", amount=1000, offer_answer_due=T0.isoformat())
    s.send("offer_lapsed")
    assert s.entries == []


# --- R34 --------------------------------------------------------------------------------------------


def test_r34_support_refund_with_seller_liable_charges_r30_at_the_decision() -> None:
    s = Stream()
    s.send("no_refund_explained", message="m", evidence=["e"], no_refund_close_due="x")
    s.send("escalated", reason="r", grounds=["no_refund"])
    decided_at = T0 + timedelta(days=2)
    s.send("support_decided", at=decided_at, outcome="refund", liable="seller", amount=3000)
    assert s.amounts() == [("support_ruling", -R30)]
    assert s.entries[0].at == decided_at


def test_r34_support_refund_with_return_is_charged_at_the_return_confirmation() -> None:
    s = Stream()
    s.send("escalated", reason="r", grounds=["no_response"])
    decided = s.send("support_decided", outcome="refund_with_return", liable="seller", amount=3000)
    assert decided.entries == ()
    s.returned()
    s.send("return_auto_confirmed", amount=3000)
    assert s.amounts() == [("refund_after_return", -(R30 + LABEL))]


def test_r34_support_refund_after_a_disputed_return_charges_the_r31_amount() -> None:
    s = Stream()
    s.send("return_required", return_dropoff_due=T0.isoformat(), auto_claim=None)
    s.returned()
    s.send("return_disputed", reason="not the item", evidence=["p"])
    s.send("support_decided", outcome="refund", liable="seller", amount=3000)
    assert s.amounts() == [("support_ruling", -(R30 + LABEL))]


@pytest.mark.parametrize(
    ("outcome", "liable"),
    [("platform_refund", "platform"), ("uphold_seller", None), ("refund", "platform")],
)
def test_r34_platform_funded_or_upheld_charges_nothing(outcome: str, liable: str | None) -> None:
    s = Stream()
    s.send("escalated", reason="r", grounds=["no_response"])
    s.send("support_decided", outcome=outcome, liable=liable, amount=None)
    assert s.entries == []


def test_r34_a_platform_liable_return_is_not_charged_at_confirmation() -> None:
    s = Stream()
    s.send("support_decided", outcome="refund_with_return", liable="platform", amount=3000)
    s.returned()
    s.send("return_confirmed", amount=3000)
    assert s.entries == []


# --- R35 --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("starter", ["return_required", "offer_declined", "support_decided"])
def test_r35_an_expired_return_window_charges_nothing(starter: str) -> None:
    s = Stream()
    s.send(
        starter,
        return_dropoff_due=T0.isoformat(),
        auto_claim=None,
        outcome="refund_with_return",
        liable="seller",
        amount=3000,
    )
    s.send("return_window_expired")
    assert s.entries == []


def test_r35_no_refund_closed_charges_nothing() -> None:
    s = Stream()
    s.send("no_refund_explained", message="m", evidence=["e"], no_refund_close_due="x")
    s.send("no_refund_closed")
    assert s.entries == []


# --- R36 --------------------------------------------------------------------------------------------


def test_r36_a_chargeback_charges_the_seller_nothing() -> None:
    # No request event represents a chargeback; should one ever be published (under any of these
    # names), it must not move money: only the allow-listed events of R30-R34 charge.
    s = Stream()
    s.send("full_refund_offered", amount=3000, auto_claim=None)
    for name in ("chargeback_opened", "chargeback", "chargeback_lost", "buyer_chargeback"):
        outcome = s.send(name, amount=3000, liable="seller", outcome="refund")
        assert outcome.entries == ()
    assert s.amounts() == [("refund_no_return", -R30)]
    assert not any("chargeback" in name for name in CHARGING_EVENTS)
    assert not any("chargeback" in kind for kind in EntryKind)


# --- R37 --------------------------------------------------------------------------------------------


def test_r37_the_charge_sums_the_affected_items_figures() -> None:
    items = [
        {"seller_payout": 1000, "buyer_shipping_paid": 0, "processing_fee": 31, "price": 1100},
        {"seller_payout": 4500, "buyer_shipping_paid": 350, "processing_fee": 170, "price": 5000},
    ]
    s = Stream(items=items, currency="EUR")
    s.send("full_refund_offered", amount=6450, auto_claim=None)
    assert s.entries[0].amount == Money(-(1031 + 5020), "EUR")


def test_r37_money_events_before_the_opening_are_refused() -> None:
    with pytest.raises(UnknownRequest):
        decide(None, "full_refund_offered", {"request_id": RID, "at": T0.isoformat()}, "x:2")
    assert decide(None, "message_posted", {"request_id": RID}, "x:2").entries == ()


def test_r37_entry_ids_are_derived_from_event_and_kind() -> None:
    a, b = Stream(), Stream()
    a.send("full_refund_offered", amount=3000, auto_claim=None)
    b.send("full_refund_offered", amount=3000, auto_claim=None)
    assert a.entries[0].id == b.entries[0].id == entry_id(f"{RID}:2", "refund_no_return")
    assert entry_id(f"{RID}:2", "refund_no_return") != entry_id(f"{RID}:3", "refund_no_return")


# --- R38 / R39 ----------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["full_refund_offered", "return_required"])
def test_r38_auto_claim_on_a_full_refund_schedules_a_claim(name: str) -> None:
    s = Stream()
    file_at = T0 + timedelta(days=14)
    s.send(name, amount=3000, return_dropoff_due=T0.isoformat(), auto_claim=claim_data(file_at))
    [claim] = s.claims
    assert (claim.tracking_number, claim.insured_value, claim.file_at) == (
        "9400-1",
        10_000,
        file_at,
    )
    assert claim.seller_id == "seller-1"
    assert claim.request_id == RID


def test_r38_no_auto_claim_no_claim() -> None:
    s = Stream()
    s.send("full_refund_offered", amount=3000, auto_claim=None)
    assert s.claims == []


def _credit(paid: int, paid_at: datetime, insured: int = 10_000, file_at: datetime = T0):
    return claim_credit(
        tracking_number="9400-1",
        request_id=RID,
        seller_id="seller-1",
        currency="USD",
        insured_value=insured,
        file_at=file_at,
        paid_amount=paid,
        paid_at=paid_at,
    )


def test_r39_paid_claim_is_credited_positive() -> None:
    credit = _credit(4200, T0 + timedelta(days=1))
    assert (credit.kind, credit.amount) == (EntryKind.CLAIM_CREDIT, Money(4200, "USD"))
    assert credit.at == T0 + timedelta(days=1)


def test_r39_credit_is_at_most_the_insured_amount() -> None:
    assert _credit(15_000, T0, insured=10_000).amount == Money(10_000, "USD")
    assert _credit(7_500, T0, insured=7_500).amount == Money(7_500, "USD")


def test_r39_payment_before_the_filing_date_is_refused() -> None:
    with pytest.raises(ClaimPaidTooEarly, match="14 calendar days"):
        _credit(100, T0 - timedelta(seconds=1))
    assert _credit(100, T0).amount == Money(100, "USD")  # exactly at the filing date is fine
