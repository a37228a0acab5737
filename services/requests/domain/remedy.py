"""R63: what the order has done for each item, across every request and channel, and the rules that
keep it within what was paid.

Pure: no I/O. The application loads an item's record (`ItemRecord`) from the per-item remedy table
(services/requests/persistence/store.py `ss_item_remedies`) and hands it to the aggregate; a refunding
step computes its per-item shares (`ItemShare`) from it, the event records them, and the application
adds them to the table in the step's own transaction with a guarded increment (the database refuses a
sum past the cap, so a race lost is a refusal, never a second refund).

Two caps per item:
- the buyer gets back at most what they paid for it: `paid` = price + its buyer-shipping share;
- the seller is charged at most the item's R30 amount: `full_charge` = payout + buyer shipping +
  processing fee. The return label of R31 is charged beside it, with the step that completes the
  refund after a return, so at most once per item (nothing is refundable afterwards).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from services.requests.domain.errors import IllegalTransition
from services.requests.domain.order import OrderItem


class NothingLeftToRefund(IllegalTransition):
    """R63: every item named was already refunded in full (names the request that did it)."""


class RefundExceedsWhatIsLeft(IllegalTransition):
    """R63: an amount above what is left to refund on the items (says how much is left)."""


@dataclass(frozen=True)
class ItemRecord:
    """What the order has done for one item so far (R63)."""

    item_id: str
    paid: int  # price + buyer-shipping share: the most the buyer gets back
    full_charge: int  # R30 amount: the most the seller is charged for it (R31's label beside)
    refunded: int = 0
    charged: int = 0
    last_request_id: str | None = None  # the request (or cancellation) that refunded it last

    @property
    def refundable(self) -> int:
        """What the buyer can still get back (never negative, even for a folded double refund)."""
        return max(0, self.paid - self.refunded)

    @property
    def chargeable(self) -> int:
        return max(0, self.full_charge - self.charged)


@dataclass(frozen=True)
class ItemShare:
    """One refunding step's share for one item: back to the buyer, and charged to the seller."""

    item_id: str
    refund: int
    charge: int

    def as_data(self) -> dict[str, object]:
        return {"item_id": self.item_id, "refund": self.refund, "charge": self.charge}


def item_paid(item: OrderItem) -> int:
    return item.price + item.buyer_shipping_paid


def item_full_charge(item: OrderItem) -> int:
    return item.seller_payout + item.buyer_shipping_paid + item.processing_fee


def fresh_record(item: OrderItem) -> ItemRecord:
    """The record of an item nothing was done for yet."""
    return ItemRecord(item.item_id, item_paid(item), item_full_charge(item))


def records_for(
    items: Iterable[OrderItem], known: Mapping[str, ItemRecord] | None
) -> list[ItemRecord]:
    """The records of `items`, a fresh one where nothing is known."""
    known = known or {}
    return [known.get(i.item_id) or fresh_record(i) for i in items]


def amount_left_to_refund(
    items: Iterable[OrderItem], known: Mapping[str, ItemRecord] | None = None
) -> int:
    """R63: what the buyer can still get back for these items, across every channel (issue 27's
    `limits.partial_refund.max_amount` is this minus one: a partial refund is less than it)."""
    return sum(r.refundable for r in records_for(items, known))


def check_something_left(
    items: Sequence[OrderItem], known: Mapping[str, ItemRecord] | None
) -> None:
    """R63: refuse a refunding step when every item was refunded in full already."""
    records = records_for(items, known)
    if records and all(r.refundable == 0 for r in records):
        raise NothingLeftToRefund(_nothing_left(records))


def check_items_refundable(
    items: Sequence[OrderItem], known: Mapping[str, ItemRecord] | None
) -> None:
    """R63: a new request names only items with something left to refund."""
    done = [r for r in records_for(items, known) if r.refundable == 0]
    if done:
        raise NothingLeftToRefund(_nothing_left(done))


def _nothing_left(records: Sequence[ItemRecord]) -> str:
    parts = []
    for r in records:
        by = f" by request {r.last_request_id}" if r.last_request_id else ""
        parts.append(f"item {r.item_id} was already refunded in full ({r.refunded}){by}")
    return "; ".join(parts) + "; nothing is left to refund (R63)"


def check_partial_within_left(
    amount: int, items: Sequence[OrderItem], known: Mapping[str, ItemRecord] | None
) -> None:
    """R63 with R13: a partial refund is less than what is left to refund on the items."""
    left = amount_left_to_refund(items, known)
    if amount >= left:
        raise RefundExceedsWhatIsLeft(
            f"only {left} minor units are left to refund on these items (R63); a partial refund "
            f"must be less than that, got {amount}"
        )


def full_refund_shares(
    items: Sequence[OrderItem],
    known: Mapping[str, ItemRecord] | None,
    *,
    seller_liable: bool = True,
) -> list[ItemShare]:
    """R10/R12/R22/R63: a full refund gives back what is left of each item and charges the seller
    what is left of its R30 amount (nothing when the platform funds it)."""
    return [
        ItemShare(r.item_id, r.refundable, r.chargeable if seller_liable else 0)
        for r in records_for(items, known)
    ]


def partial_refund_shares(
    amount: int, items: Sequence[OrderItem], known: Mapping[str, ItemRecord] | None
) -> list[ItemShare]:
    """R33/R63: an accepted partial amount, spread over the items in proportion to what is left of
    each (largest remainders get the odd minor units, ties to the earlier item); the seller is
    charged the same share, but never past what is left of the item's R30 amount."""
    records = records_for(items, known)
    left = sum(r.refundable for r in records)
    if amount > left:
        raise RefundExceedsWhatIsLeft(
            f"only {left} minor units are left to refund on these items (R63); the accepted "
            f"partial refund of {amount} is more than that"
        )
    refunds = allocate(amount, [r.refundable for r in records])
    return [
        ItemShare(r.item_id, refund, min(refund, r.chargeable))
        for r, refund in zip(records, refunds, strict=True)
    ]


def allocate(amount: int, weights: Sequence[int]) -> list[int]:
    """`amount` split in proportion to `weights` in whole units: each share ≤ its weight when
    amount ≤ Σ weights, and the shares sum to `amount` (largest-remainder method)."""
    weight = sum(weights)
    if weight <= 0:
        return [0 for _ in weights]
    floors = [amount * w // weight for w in weights]
    remainders = sorted(range(len(weights)), key=lambda i: (-(amount * weights[i] % weight), i))
    for i in remainders[: amount - sum(floors)]:
        floors[i] += 1
    return floors


def shares_data(shares: Iterable[ItemShare]) -> list[dict[str, object]]:
    return [s.as_data() for s in shares]


def apply_shares(
    known: Mapping[str, ItemRecord], shares: Iterable[ItemShare], by: str
) -> dict[str, ItemRecord]:
    """The records after a step (the fold and the in-memory side tables use it)."""
    result = dict(known)
    for s in shares:
        r = result[s.item_id]
        result[s.item_id] = ItemRecord(
            r.item_id, r.paid, r.full_charge, r.refunded + s.refund, r.charged + s.charge, by
        )
    return result
