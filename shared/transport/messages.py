"""One published event, as every consumer sees it whatever carried it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

REQUEST_EVENT_TYPE_PREFIX = "seller_support.request."
CONTRACT_VERSION = "v1"


@dataclass(frozen=True)
class EventMessage:
    id: str  # stable and unique: "<request id>:<version>", the same on every re-publication
    name: str  # e.g. "full_refund_offered"
    subject: str  # the request id
    time: datetime  # when it happened on the business clock
    data: dict[str, Any]  # the published contract's JSON (shared/contracts), JSON-ready
    # The request's hash-chain head at this event (R62, services/requests/application/audit.py), when known.
    chain_hash: str | None = None
    # The W3C traceparent of the command that stored the event, when it had one.
    traceparent: str | None = None

    @property
    def type(self) -> str:
        return f"{REQUEST_EVENT_TYPE_PREFIX}{self.name}.{CONTRACT_VERSION}"

    @staticmethod
    def name_from_type(ce_type: str) -> str:
        """`seller_support.request.full_refund_offered.v1` -> `full_refund_offered`."""
        if not (ce_type.startswith(REQUEST_EVENT_TYPE_PREFIX) and ce_type.endswith(".v1")):
            raise ValueError(f"not a v1 request event type: {ce_type!r}")
        return ce_type[len(REQUEST_EVENT_TYPE_PREFIX) : -len(".v1")]
