"""Every bound a value meets at the door, spelled once (issue 18; docs/http.md, "Bounds").

Pure: pydantic `Annotated` types and constants only, no I/O. Request bodies, upstream facts (HTTP and
Kafka), query parameters and the JSON Schemas under shared/contracts/schemas all use these, so an
out-of-range value is a 422 naming its field at every door and never reaches a database column or a
sum.

Why these numbers: an amount is at most 10^12 minor units (ten billion in a two-decimal currency),
and so is each of an order's totals (the sum over its items of price, payout, shipping and fee). A
ledger entry is made of one order's amounts (at most 4 * 10^12 with a label cost and a claim), so a
seller's balance could only reach 2^63 (about 9.2 * 10^18) after more than two million orders of ten
billion each: PostgreSQL `bigint` and SQLite `INTEGER` sums never overflow in practice, and Python's
never do.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Annotated, Any

from pydantic import AfterValidator, AwareDatetime, BeforeValidator, Field, StrictInt, StrictStr

MAX_AMOUNT = 10**12
"""Largest amount in minor units: a price, payout, fee, label cost, offer, claim, insured value."""

MAX_ORDER_TOTAL = MAX_AMOUNT
"""Largest sum over an order's items of each of price, seller payout, buyer shipping and fee."""

MAX_ORDER_ITEMS = 500
"""Most items on one order (and named in one support request)."""

MAX_LIST = 50
"""Most entries of a short list (photos, evidence, attachments)."""

MIN_TIME = datetime(2000, 1, 1, tzinfo=UTC)
MAX_TIME = datetime(2200, 1, 1, tzinfo=UTC)
"""Every time lies in [MIN_TIME, MAX_TIME) and carries an offset."""

MAX_OFFSET = 1_000_000_000
"""Largest `offset` a listing accepts (far beyond any real list; keeps SQL OFFSET small)."""

MAX_POSITION = 2**53
"""Largest stream position (`before`, `Last-Event-ID`): below 2^63, exact in JSON numbers."""

ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._:@-]{0,127}$"
"""An id: 1-128 safe characters, no `/`, no space, no `%`: usable in a URL path as it is."""

ID_MAX_LENGTH = 128


def _check_time(value: datetime) -> datetime:
    if not MIN_TIME <= value < MAX_TIME:
        raise ValueError(
            f"the time must lie between {MIN_TIME.isoformat()} and {MAX_TIME.isoformat()}"
        )
    return value


_ISO_WITH_OFFSET = re.compile(
    r"^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|z|[+-]\d{2}:?\d{2})$"
)


def _time_as_text(value: Any) -> Any:
    """ISO 8601 text with an offset (or an aware datetime from Python callers); never an epoch,
    neither as a number nor as digits in a string (which pydantic would read as one)."""
    if isinstance(value, datetime):
        return value
    if isinstance(value, str) and _ISO_WITH_OFFSET.match(value):
        return value
    raise ValueError(
        "send the time as ISO 8601 text with a timezone offset, e.g. 2026-12-01T09:00:00-05:00"
    )


Amount = Annotated[
    StrictInt,
    Field(ge=0, le=MAX_AMOUNT, description=f"integer minor units, 0..{MAX_AMOUNT}"),
]
"""A non-negative amount in minor units."""

PositiveAmount = Annotated[
    StrictInt,
    Field(gt=0, le=MAX_AMOUNT, description=f"integer minor units, 1..{MAX_AMOUNT}"),
]

Instant = Annotated[
    AwareDatetime,
    BeforeValidator(_time_as_text),
    AfterValidator(_check_time),
    Field(
        description="ISO 8601 time with an offset, from 2000-01-01T00:00:00Z (inclusive) to "
        "2200-01-01T00:00:00Z (exclusive)",
        json_schema_extra={
            "pattern": r"(Z|z|[+-]\d{2}:?\d{2})$",
            "x-minimum": MIN_TIME.isoformat(),
            "x-exclusiveMaximum": MAX_TIME.isoformat(),
        },
    ),
]
"""A time at the door: text with an offset, within [MIN_TIME, MAX_TIME)."""

Id = Annotated[
    StrictStr,
    Field(
        min_length=1,
        max_length=ID_MAX_LENGTH,
        pattern=ID_PATTERN,
        description="1-128 characters: letters, digits and . _ : @ - (first a letter or digit)",
    ),
]
"""An id of an order, item, user, category, carrier or tracking number."""

Offset = Annotated[int, Field(ge=0, le=MAX_OFFSET, description=f"0..{MAX_OFFSET}")]
Position = Annotated[int, Field(ge=0, le=MAX_POSITION, description=f"0..{MAX_POSITION}")]


def in_time_range(value: datetime) -> bool:
    """Whether an aware time lies within the bounds (for non-pydantic doors)."""
    return MIN_TIME <= value < MAX_TIME
