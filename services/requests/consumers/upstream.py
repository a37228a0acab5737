"""Upstream facts from Kafka (R60): `orders.v1` and `shipments.v1` -> the requests application.

Message value = the upstream JSON of API.md (one fact), key = order id (orders.v1) or tracking
number (shipments.v1), so one order's facts arrive in order. Each fact is validated with
`upstream_fact_adapter` and applied by the application's handler of its type (`apply_upstream_fact`,
the one table of services/requests/application/upstream.py) in its own transaction;
the offset is committed afterwards (shared/transport/consumer.py).

- Duplicates are harmless: every `record_*` method is idempotent (returns False when nothing changed).
- Invalid JSON or a contract violation -> `<topic>.dlq` with the validation error.
- A fact the application rejects (a shipment of an unknown order, a scan of an unknown tracking
  number, a conflicting re-placement of an order, a label for a request not awaiting one) ->
  `<topic>.dlq` with the reason. Never a silent skip.
- A concurrent update of the same request, or a database error, is transient: retried with
  backoff, then the consumer stops (exit code non-zero) without committing.

[decided] Either topic accepts any upstream fact type: the topic only decides the key (ordering).
"""

from __future__ import annotations

from typing import Any

from services.requests.application import (
    ConcurrentUpdate,
    FactNotHandled,
    OrderNotFound,
    RequestNotFound,
    RequestsApplication,
    UnknownTrackingNumber,
)
from services.requests.domain import DomainError
from shared.contracts.upstream import UpstreamFact
from shared.envelope import PoisonMessage
from shared.transport.consumer import ConsumerRuntime, ConsumerSettings
from shared.transport.decoders import decode_upstream_fact
from shared.transport.stream_consumers import fact_handler

ORDERS_TOPIC = "orders.v1"
SHIPMENTS_TOPIC = "shipments.v1"
UPSTREAM_GROUP = "seller-support.requests.upstream"


# Facts another service owns share shipments.v1; that service's own consumer group applies them.
OWNED_ELSEWHERE = frozenset({"claim_paid"})  # the ledger's (R39)


def apply_fact(app: RequestsApplication, fact: UpstreamFact) -> bool:
    """Apply one fact through the application's table of fact handlers; True when it changed
    something. Rejections raise PoisonMessage."""
    if fact.type in OWNED_ELSEWHERE:
        return False
    try:
        return app.apply_upstream_fact(fact)
    except ConcurrentUpdate:
        raise  # transient: another writer moved the request; the runtime retries
    except FactNotHandled:
        raise PoisonMessage(f"no handler for upstream fact type {fact.type!r}") from None
    except (OrderNotFound, UnknownTrackingNumber, RequestNotFound, DomainError) as error:
        raise PoisonMessage(
            f"rejected by the requests application ({type(error).__name__}): {error}"
        ) from error


def upstream_runtime(
    app: RequestsApplication,
    bootstrap_servers: str,
    *,
    orders_topic: str = ORDERS_TOPIC,
    shipments_topic: str = SHIPMENTS_TOPIC,
    group_id: str = UPSTREAM_GROUP,
    **settings: Any,
) -> ConsumerRuntime[UpstreamFact]:
    return ConsumerRuntime(
        ConsumerSettings(
            bootstrap_servers=bootstrap_servers,
            topics=[orders_topic, shipments_topic],
            group_id=group_id,
            client_id="seller-support-requests-upstream",
            **settings,
        ),
        decode_upstream_fact,
        fact_handler(lambda fact: apply_fact(app, fact), "applied", "already known"),
    )
