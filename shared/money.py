"""Money as integer minor units with a currency (the basis of the seller ledger, SPEC R30-R37)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass


class CurrencyMismatchError(ValueError):
    """Two amounts in different currencies were combined or compared."""


def _is_currency_code(value: object) -> bool:
    return (
        isinstance(value, str)
        and len(value) == 3
        and all("A" <= character <= "Z" for character in value)
    )


@dataclass(frozen=True, order=False)
class Money:
    amount: int
    currency: str

    def __post_init__(self) -> None:
        # bool is an int subclass and a float would bring rounding into ledger sums.
        if isinstance(self.amount, bool) or not isinstance(self.amount, int):
            raise TypeError(
                f"amount must be an int of minor units, got {type(self.amount).__name__}"
            )
        if not _is_currency_code(self.currency):
            raise ValueError(
                f"currency must be a 3-letter upper-case ISO 4217 code: {self.currency!r}"
            )

    @classmethod
    def zero(cls, currency: str) -> Money:
        return cls(0, currency)

    def _same_currency(self, other: Money) -> None:
        if other.currency != self.currency:
            raise CurrencyMismatchError(f"cannot combine {self.currency} with {other.currency}")

    def __add__(self, other: object) -> Money:
        if not isinstance(other, Money):
            return NotImplemented
        self._same_currency(other)
        return Money(self.amount + other.amount, self.currency)

    def __sub__(self, other: object) -> Money:
        if not isinstance(other, Money):
            return NotImplemented
        self._same_currency(other)
        return Money(self.amount - other.amount, self.currency)

    def __neg__(self) -> Money:
        return Money(-self.amount, self.currency)

    def __lt__(self, other: object) -> bool:
        if not isinstance(other, Money):
            return NotImplemented
        self._same_currency(other)
        return self.amount < other.amount

    def __le__(self, other: object) -> bool:
        if not isinstance(other, Money):
            return NotImplemented
        self._same_currency(other)
        return self.amount <= other.amount

    def __gt__(self, other: object) -> bool:
        if not isinstance(other, Money):
            return NotImplemented
        self._same_currency(other)
        return self.amount > other.amount

    def __ge__(self, other: object) -> bool:
        if not isinstance(other, Money):
            return NotImplemented
        self._same_currency(other)
        return self.amount >= other.amount

    def is_positive(self) -> bool:
        return self.amount > 0

    def is_zero(self) -> bool:
        return self.amount == 0

    def to_dict(self) -> dict:
        return {"amount": self.amount, "currency": self.currency}


def total(amounts: Iterable[Money], currency: str) -> Money:
    """Sum of `amounts`; the currency is explicit so that an empty sum still has one."""
    result = Money.zero(currency)
    for amount in amounts:
        result += amount
    return result
