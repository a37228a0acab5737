"""Issue 18: the bounds of shared/bounds.py as properties (classes 1, 2 and 4), the upstream facts'
tolerant reader (class 3), and the dev clock that resumes and never goes back (class 6). Pure."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import BaseModel, ValidationError

from shared.bounds import (
    ID_MAX_LENGTH,
    MAX_AMOUNT,
    MAX_ORDER_ITEMS,
    MAX_TIME,
    MIN_TIME,
    Amount,
    Id,
    Instant,
)
from shared.clock import AdjustableClock
from shared.contracts.upstream import OrderPlaced, upstream_fact_adapter

INT64_MAX = 2**63 - 1


class _Amount(BaseModel):
    value: Amount


class _Instant(BaseModel):
    value: Instant


class _Id(BaseModel):
    value: Id


def _accepts(model: type[BaseModel], value: Any) -> bool:
    try:
        model.model_validate_json(f'{{"value": {_json(value)}}}')
    except ValidationError:
        return False
    return True


def _json(value: Any) -> str:
    import json

    return json.dumps(value)


# --- class 1: amounts -----------------------------------------------------------------------------


@given(st.integers())
def test_class1_an_amount_is_accepted_exactly_within_0_to_10_pow_12(value: int) -> None:
    assert _accepts(_Amount, value) == (0 <= value <= MAX_AMOUNT)


@given(st.one_of(st.floats(), st.text(), st.booleans(), st.none()))
def test_class1_an_amount_is_never_anything_but_an_integer(value: Any) -> None:
    if isinstance(value, float) and value != value:  # NaN is not JSON
        return
    assert not _accepts(_Amount, value)


def test_class1_no_sum_the_ledger_can_reach_overflows_a_signed_64_bit_integer() -> None:
    # An entry combines at most one order's four totals; each total is bounded by MAX_AMOUNT.
    largest_entry = 4 * MAX_AMOUNT
    assert largest_entry * 2_000_000 < INT64_MAX  # two million maximal orders of one seller
    assert MAX_ORDER_ITEMS * MAX_AMOUNT < INT64_MAX  # even before the order-total bound


def _item(item_id: str, **amounts: int) -> dict[str, Any]:
    base = {"price": 1, "seller_payout": 1, "buyer_shipping_paid": 0, "processing_fee": 0}
    return {"item_id": item_id, "title": "t", "category": "c", **base, **amounts}


def _order(items: list[dict[str, Any]], **extra: Any) -> dict[str, Any]:
    return {
        "type": "order_placed",
        "order_id": "o1",
        "buyer_id": "b1",
        "seller_id": "s1",
        "currency": "USD",
        "placed_at": "2026-12-01T10:00:00-05:00",
        "items": items,
        **extra,
    }


@given(st.lists(st.integers(min_value=0, max_value=MAX_AMOUNT), min_size=1, max_size=20))
def test_class1_an_order_is_accepted_only_while_each_total_stays_within_bound(
    prices: list[int],
) -> None:
    order = _order([_item(f"i{n}", price=p) for n, p in enumerate(prices)])
    try:
        upstream_fact_adapter.validate_python(order)
        accepted = True
    except ValidationError:
        accepted = False
    assert accepted == (sum(prices) <= MAX_AMOUNT)


# --- class 2: times -------------------------------------------------------------------------------


@given(
    st.datetimes(
        min_value=datetime(1, 1, 2),
        max_value=datetime(9999, 12, 30),
        timezones=st.sampled_from(
            [UTC, timezone(timedelta(hours=-5)), timezone(timedelta(hours=9))]
        ),
    )
)
def test_class2_a_time_is_accepted_exactly_within_2000_to_2200_with_an_offset(
    moment: datetime,
) -> None:
    assert _accepts(_Instant, moment.isoformat()) == (MIN_TIME <= moment < MAX_TIME)


@given(st.datetimes(min_value=datetime(2000, 1, 2), max_value=datetime(2199, 12, 30)))
def test_class2_a_naive_time_is_never_accepted(moment: datetime) -> None:
    assert not _accepts(_Instant, moment.isoformat())


@given(st.integers(min_value=0, max_value=10**12))
def test_class2_an_epoch_is_never_accepted_as_a_number_or_as_digits(epoch: int) -> None:
    assert not _accepts(_Instant, epoch)
    assert not _accepts(_Instant, str(epoch))


# --- class 4: ids ---------------------------------------------------------------------------------

SAFE = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._:@-"


@given(st.text(max_size=ID_MAX_LENGTH + 20))
def test_class4_an_id_is_accepted_exactly_when_it_is_1_to_128_safe_characters(text: str) -> None:
    expected = (
        1 <= len(text) <= ID_MAX_LENGTH
        and all(c in SAFE for c in text)
        and text[0].isascii()
        and text[0].isalnum()
    )
    assert _accepts(_Id, text) == expected


@given(st.text(alphabet=SAFE, min_size=1, max_size=ID_MAX_LENGTH))
def test_class4_an_accepted_id_is_usable_in_a_url_path_as_it_is(text: str) -> None:
    from urllib.parse import quote

    if _accepts(_Id, text):
        assert "/" not in text and quote(text, safe=":@") == text


# --- class 3: tolerant reader, strict on meaning ----------------------------------------------


def test_class3_unknown_fields_of_a_fact_and_its_items_are_ignored() -> None:
    fact = upstream_fact_adapter.validate_python(
        _order([{**_item("i1"), "colour": "red"}], channel="app")
    )
    assert isinstance(fact, OrderPlaced)
    assert "channel" not in fact.model_dump() and "colour" not in fact.items[0].model_dump()


def test_class3_an_order_naming_one_item_id_twice_is_invalid() -> None:
    with pytest.raises(ValidationError, match="repeated: i1"):
        upstream_fact_adapter.validate_python(_order([_item("i1"), _item("i1", price=2)]))


# --- class 6: the dev clock -----------------------------------------------------------------------


@given(
    st.timedeltas(min_value=timedelta(0), max_value=timedelta(days=3000)),
    st.timedeltas(min_value=timedelta(days=-10), max_value=timedelta(days=3000)),
)
def test_class6_a_resumed_clock_is_never_behind_its_offset_or_its_floor(
    offset: timedelta, floor_shift: timedelta
) -> None:
    clock = AdjustableClock()
    floor = datetime.now(UTC) + floor_shift
    before = clock.now()
    resumed = clock.resume(offset, floor)
    assert resumed >= before
    assert resumed >= floor
    assert clock.offset >= offset - timedelta(seconds=1)


def test_class6_the_clock_never_hands_out_an_earlier_time() -> None:
    clock = AdjustableClock()
    clock.advance(timedelta(days=2))
    seen = [clock.now() for _ in range(200)]
    assert seen == sorted(seen)
