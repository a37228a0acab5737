"""The ledger's Kafka side (distributed mode): its consumer of `seller-support.requests.v1`, the
`claim_paid` consumer of `shipments.v1` and the publisher of `seller-support.ledger.v1`.

- `requests_runtime` feeds `ledger.projection` from the request stream (shared/transport's
  `projection_runtime`: decode, apply a poll in one transaction, park and dead-letter poison).

- `shipments.v1` carries every carrier fact (key = tracking number). The requests service's upstream
  consumer applies the tracking facts and leaves `claim_paid` to the ledger (R39); the ledger's own
  consumer group (`seller-support.ledger.claims`) applies `claim_paid` with
  `LedgerApplication.record_claim_paid` and ignores the facts the requests service owns. A claim
  payment the ledger rejects — no claim scheduled for that tracking number, paid before the filing
  date, or already reported with another amount or time — is dead-lettered to `shipments.v1.dlq`
  with the reason (`claim-not-scheduled: …`), never skipped silently. A repeated identical report is
  a harmless no-op.
- `ledger_publisher` drains `ledger_outbox` (written with each entry) to `seller-support.ledger.v1`:
  CloudEvents binary mode, key = seller id, `ce_id` = entry id, `acks=all`; rows are marked published
  only after the broker acknowledged them.
"""

from __future__ import annotations

from typing import Any

from services.ledger.application import (
    ClaimNotScheduled,
    ClaimPaidConflict,
    ClaimPaidTooEarly,
    LedgerApplication,
)
from services.ledger.settings import CLAIMS_GROUP, SHIPMENTS_TOPIC
from shared.contracts.ledger_v1 import LEDGER_TOPIC
from shared.contracts.upstream import ClaimPaid, UpstreamFact
from shared.envelope import PoisonMessage
from shared.transport.consumer import ConsumerRuntime, ConsumerSettings
from shared.transport.decoders import decode_upstream_fact
from shared.transport.messages import EventMessage
from shared.transport.publishing import OutboxPublisher
from shared.transport.stream_consumers import StreamOptions, fact_handler, projection_runtime

__all__ = [
    "CLAIMS_GROUP",
    "SHIPMENTS_TOPIC",
    "claims_runtime",
    "ledger_publisher",
    "requests_runtime",
]

_REJECTIONS: dict[type[Exception], str] = {
    ClaimNotScheduled: "claim-not-scheduled",
    ClaimPaidTooEarly: "claim-paid-too-early",
    ClaimPaidConflict: "claim-paid-conflict",
}


def apply_claim_fact(ledger: LedgerApplication, fact: UpstreamFact) -> bool:
    """Apply a `claim_paid`; True when it credited the seller now. Facts of other types belong to
    the requests service (its own consumer group applies them): False. Rejections raise
    PoisonMessage (-> DLQ with the reason)."""
    if not isinstance(fact, ClaimPaid):
        return False
    try:
        return bool(ledger.record_claim_paid(fact)["created"])
    except tuple(_REJECTIONS) as error:
        slug = next(s for kind, s in _REJECTIONS.items() if isinstance(error, kind))
        raise PoisonMessage(f"rejected by the ledger ({slug}): {error}") from error


def requests_runtime(
    ledger: LedgerApplication, stream: StreamOptions
) -> ConsumerRuntime[EventMessage]:
    """The ledger's consumer of the request stream (group `seller-support.ledger`): each poll's
    records into `ledger.projection` in one transaction; a parked event's record to `.dlq`."""
    return projection_runtime(stream.consumer_settings(), ledger.projection)


def claims_runtime(
    ledger: LedgerApplication,
    bootstrap_servers: str,
    *,
    topic: str = SHIPMENTS_TOPIC,
    group_id: str = CLAIMS_GROUP,
    **settings: Any,
) -> ConsumerRuntime[UpstreamFact]:
    return ConsumerRuntime(
        ConsumerSettings(
            bootstrap_servers=bootstrap_servers,
            topics=[topic],
            group_id=group_id,
            client_id="seller-support-ledger-claims",
            **settings,
        ),
        decode_upstream_fact,
        fact_handler(lambda fact: apply_claim_fact(ledger, fact), "credited", "nothing to do"),
    )


def ledger_publisher(
    ledger: LedgerApplication,
    bootstrap_servers: str,
    *,
    topic: str = LEDGER_TOPIC,
    name: str = "ledger-outbox",
    **kwargs: Any,
) -> OutboxPublisher:
    return OutboxPublisher.for_bootstrap(
        name,
        topic,
        ledger.pending_publications,
        ledger.mark_published,
        bootstrap_servers,
        **kwargs,
    )
