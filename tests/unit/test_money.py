"""Money in integer minor units (the arithmetic under the ledger rules R30-R37)."""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from shared.money import CurrencyMismatchError, Money, total

currencies = st.sampled_from(["USD", "EUR", "GBP"])
amounts = st.integers(min_value=-(10**12), max_value=10**12)


@st.composite
def same_currency_monies(draw, count: int):
    currency = draw(currencies)
    return [Money(draw(amounts), currency) for _ in range(count)]


def usd(cents: int) -> Money:
    return Money(cents, "USD")


# --- construction -------------------------------------------------------------------------------


def test_money_holds_integer_minor_units_and_a_currency():
    assert usd(1999).to_dict() == {"amount": 1999, "currency": "USD"}


@pytest.mark.parametrize("amount", [19.99, 20.0, True, "1999", None])
def test_ledger_amounts_are_never_floats_bools_or_strings(amount):
    with pytest.raises(TypeError):
        Money(amount, "USD")


@pytest.mark.parametrize("currency", ["usd", "US", "USDT", "U$D", "", None, 840])
def test_currency_must_be_a_three_letter_upper_case_code(currency):
    with pytest.raises(ValueError):
        Money(100, currency)


def test_money_is_immutable():
    with pytest.raises(AttributeError):
        usd(100).amount = 5


def test_zero_is_zero_and_not_positive():
    zero = Money.zero("EUR")
    assert zero == Money(0, "EUR")
    assert zero.is_zero() and not zero.is_positive()


def test_is_positive_only_for_amounts_above_zero():
    assert usd(1).is_positive()
    assert not usd(-1).is_positive()
    assert not usd(1).is_zero()


def test_equal_amounts_in_different_currencies_are_different_money():
    assert usd(100) != Money(100, "EUR")


# --- arithmetic ---------------------------------------------------------------------------------


def test_a_sum_of_several_amounts_is_exact_in_minor_units():
    # The ledger rules (R30, R31) add such parts; the rules themselves: tests/unit/test_ledger_rules.py.
    payout, shipping, fee = usd(2_500), usd(495), usd(87)
    assert payout + shipping + fee == usd(3_082)


def test_adding_an_amount_on_top_of_a_sum_is_exact():
    assert usd(3_082) + usd(650) == usd(3_732)


def test_amounts_of_one_currency_are_ordered_and_subtract_exactly():
    full, partial = usd(3_082), usd(1_000)
    assert Money.zero("USD") < partial < full
    assert full - partial == usd(2_082)


@pytest.mark.parametrize(
    "operation",
    [
        lambda a, b: a + b,
        lambda a, b: a - b,
        lambda a, b: a < b,
        lambda a, b: a <= b,
        lambda a, b: a > b,
        lambda a, b: a >= b,
    ],
)
def test_mixing_currencies_is_refused(operation):
    with pytest.raises(CurrencyMismatchError, match=r"USD.*EUR"):
        operation(usd(100), Money(100, "EUR"))


def test_money_does_not_mix_with_bare_numbers():
    with pytest.raises(TypeError):
        usd(100) + 1
    with pytest.raises(TypeError):
        assert usd(100) < 1


def test_comparisons_order_by_amount():
    assert usd(1) < usd(2) and usd(2) > usd(1)
    assert usd(2) <= usd(2) and usd(2) >= usd(2)
    assert not usd(2) < usd(2)


# --- totals -------------------------------------------------------------------------------------


def test_r37_total_of_no_items_is_zero_in_the_requested_currency():
    assert total([], "EUR") == Money.zero("EUR")


def test_r37_total_refuses_an_item_in_another_currency():
    with pytest.raises(CurrencyMismatchError):
        total([usd(100), Money(100, "EUR")], "USD")


def test_r37_total_refuses_items_in_a_currency_other_than_the_requested_one():
    with pytest.raises(CurrencyMismatchError):
        total([usd(100)], "EUR")


def test_r37_total_accepts_a_generator():
    assert total((usd(cents) for cents in (1, 2, 3)), "USD") == usd(6)


# --- properties ---------------------------------------------------------------------------------


@given(same_currency_monies(3))
def test_addition_is_associative(monies):
    a, b, c = monies
    assert (a + b) + c == a + (b + c)


@given(same_currency_monies(2))
def test_addition_is_commutative(monies):
    a, b = monies
    assert a + b == b + a


@given(same_currency_monies(1))
def test_zero_is_the_identity_of_addition(monies):
    (a,) = monies
    assert a + Money.zero(a.currency) == a == Money.zero(a.currency) + a


@given(same_currency_monies(1))
def test_subtracting_money_from_itself_gives_zero(monies):
    (a,) = monies
    assert (a - a).is_zero()
    assert a - a == Money.zero(a.currency)


@given(same_currency_monies(2))
def test_subtraction_is_adding_the_negation(monies):
    a, b = monies
    assert a - b == a + (-b)
    assert -(a + b) == -a - b
    assert (-a).amount == -a.amount


@given(same_currency_monies(2))
def test_order_agrees_with_subtraction(monies):
    a, b = monies
    assert (a < b) == (b - a).is_positive()
    assert (a <= b) == (a < b or a == b)


@given(currencies, st.lists(amounts, max_size=20))
def test_r37_total_of_item_amounts_is_their_integer_sum(currency, cents):
    result = total([Money(amount, currency) for amount in cents], currency)
    assert result == Money(sum(cents), currency)
    assert type(result.amount) is int


@given(st.lists(amounts, min_size=1, max_size=10), st.data())
def test_r37_any_foreign_item_makes_total_raise(cents, data):
    foreign_position = data.draw(st.integers(min_value=0, max_value=len(cents) - 1))
    items = [Money(amount, "USD") for amount in cents]
    items[foreign_position] = Money(cents[foreign_position], "EUR")
    with pytest.raises(CurrencyMismatchError):
        total(items, "USD")


@given(same_currency_monies(1))
def test_to_dict_round_trips_through_the_constructor(monies):
    (a,) = monies
    assert Money(**a.to_dict()) == a
