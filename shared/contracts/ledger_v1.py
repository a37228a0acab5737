"""`seller-support.ledger.v1`: one message per ledger entry, as downstream consumers see it.

Key = seller id (one seller's entries stay in order on one partition); CloudEvents binary mode with
`ce_id` = the entry id (stable across rebuilds), `ce_type` = `seller_support.ledger.entry_recorded.v1`,
`ce_subject` = the seller id. Amounts are integer minor units: negative = charge to the seller,
positive = credit. Adding optional fields is compatible; anything else needs `v2`.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

LEDGER_TOPIC = "seller-support.ledger.v1"
LEDGER_ENTRY_RECORDED_TYPE = "seller_support.ledger.entry_recorded.v1"

EntryKind = Literal[
    "refund_no_return",
    "refund_after_return",
    "partial_refund",
    "support_ruling",
    "claim_credit",
]


class LedgerEntryRecorded(BaseModel):
    """A ledger entry was appended (entries are never changed; a correction is a new entry)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    schema_version: Literal[1] = 1
    id: Annotated[str, Field(description="entry id: UUIDv5 of the causing event id and the kind")]
    seller_id: Annotated[str, Field(min_length=1, max_length=200)]
    request_id: Annotated[str, Field(min_length=1, max_length=200)]
    kind: EntryKind
    amount: Annotated[int, Field(strict=True, description="minor units; negative = charge")]
    currency: Annotated[str, Field(pattern=r"^[A-Z]{3}$")]
    at: Annotated[AwareDatetime, Field(description="effective time on the business clock")]
    event_id: Annotated[
        str,
        Field(
            description="the request event (`<request id>:<version>`) or `claim_paid:<tracking>`"
        ),
    ]
