"""R63: the per-item remedy rules of services/requests/domain/remedy.py and the aggregate's refunding
steps given an order record, without I/O."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from services.requests.domain import InvalidPartialAmount
from services.requests.domain.remedy import (
    ItemRecord,
    NothingLeftToRefund,
    RefundExceedsWhatIsLeft,
    allocate,
    amount_left_to_refund,
    fresh_record,
    full_refund_shares,
    partial_refund_shares,
)
from tests.factories import (
    BUYER_SHIPPING_PAID,
    PRICE,
    PROCESSING_FEE,
    SELLER_PAYOUT,
    new_request,
    ny,
    order_items,
)

PAID = PRICE + BUYER_SHIPPING_PAID  # 3000
R30 = SELLER_PAYOUT + BUYER_SHIPPING_PAID + PROCESSING_FEE  # 2803
AT = ny(2026, 12, 7, 15, 0)


def _after(item, refunded: int, charged: int, by: str = "req-1") -> dict[str, ItemRecord]:
    fresh = fresh_record(item)
    return {
        item.item_id: ItemRecord(item.item_id, fresh.paid, fresh.full_charge, refunded, charged, by)
    }


def test_r63_amount_left_to_refund_is_what_was_paid_less_what_was_refunded() -> None:
    # given two items, one partly refunded
    first, second = order_items(2)
    known = _after(first, 2000, 2000)
    # then what is left is the rest of the first and all of the second
    assert amount_left_to_refund([first, second], known) == (PAID - 2000) + PAID
    assert amount_left_to_refund([first, second], None) == 2 * PAID


def test_r63_full_refund_after_partial_refunds_what_is_left_and_charges_the_rest_of_r30() -> None:
    # given an item with an accepted partial refund of 2000
    (item,) = order_items(1)
    known = _after(item, 2000, 2000)
    # when a full refund is computed
    (share,) = full_refund_shares([item], known)
    # then the buyer gets the 1000 left and the seller is charged the 803 left of its R30 amount
    assert (share.refund, share.charge) == (PAID - 2000, R30 - 2000)


def test_r63_a_platform_funded_refund_charges_the_seller_nothing() -> None:
    (item,) = order_items(1)
    (share,) = full_refund_shares([item], None, seller_liable=False)
    assert (share.refund, share.charge) == (PAID, 0)


def test_r63_r33_a_partial_refund_never_charges_past_the_r30_amount() -> None:
    # given an item whose R30 amount (2803) is below what the buyer paid (3000)
    (item,) = order_items(1)
    # when a partial refund of 2900 is accepted
    (share,) = partial_refund_shares(2900, [item], None)
    # then the buyer gets 2900 and the seller is charged at most 2803
    assert (share.refund, share.charge) == (2900, R30)


def test_r63_a_partial_refund_above_what_is_left_is_refused_saying_how_much_is_left() -> None:
    (item,) = order_items(1)
    with pytest.raises(RefundExceedsWhatIsLeft, match="only 1000"):
        partial_refund_shares(1500, [item], _after(item, 2000, 2000))


@given(
    amount=st.integers(min_value=0, max_value=10_000),
    weights=st.lists(st.integers(min_value=0, max_value=5_000), min_size=1, max_size=6),
)
def test_r63_allocation_sums_to_the_amount_and_never_passes_a_weight(amount, weights) -> None:
    # given an amount no larger than the weights' sum (what is left of each item)
    amount = min(amount, sum(weights))
    shares = allocate(amount, weights)
    # then the shares add up exactly and none is more than its item has left
    assert sum(shares) == amount
    assert all(0 <= s <= w for s, w in zip(shares, weights, strict=True))


def test_r63_the_aggregate_refuses_a_full_refund_when_nothing_is_left_naming_the_request() -> None:
    # given a request whose only item an earlier request refunded in full
    request = new_request()
    (item,) = request.order_items
    request.order_record = _after(item, PAID, R30, by="req-earlier")
    # when the seller offers a full refund
    # then it is refused, naming the earlier request
    with pytest.raises(NothingLeftToRefund, match="req-earlier"):
        request.offer_full_refund(at=AT, actor="seller:s")


def test_r63_the_aggregate_refunds_what_is_left_and_records_the_shares() -> None:
    # given a request on an item with 2000 refunded earlier
    request = new_request()
    (item,) = request.order_items
    request.order_record = _after(item, 2000, 2000)
    # when the seller refunds in full
    request.offer_full_refund(at=AT, actor="seller:s")
    # then the event records the refund of what is left and the charge of the rest of R30
    (event,) = [e for e in request.pending_events if type(e).__name__ == "FullRefundOffered"]
    assert event.amount == PAID - 2000
    assert event.seller_charge == R30 - 2000
    assert event.remedy == [{"item_id": item.item_id, "refund": 1000, "charge": 803}]
    assert request.refund == {"amount": 1000, "currency": "USD"}


def test_r63_r13_a_partial_offer_must_be_less_than_what_is_left() -> None:
    # given 2000 of the item's 3000 refunded earlier
    request = new_request()
    (item,) = request.order_items
    request.order_record = _after(item, 2000, 2000)
    # when the seller offers 1500 (less than the full refund, more than what is left)
    # then it is refused, saying 1000 is left; an amount past the full refund stays 422
    with pytest.raises(RefundExceedsWhatIsLeft, match="only 1000"):
        request.offer_partial_refund(at=AT, actor="seller:s", amount=1500)
    with pytest.raises(InvalidPartialAmount):
        request.offer_partial_refund(at=AT, actor="seller:s", amount=PAID)
    request.offer_partial_refund(at=AT, actor="seller:s", amount=999)
    assert request.offer["amount"] == 999
