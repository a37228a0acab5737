"""Consumer runtimes for the system's streams, assembled from the generic parts.

- The request stream (`seller-support.requests.v1`) into a projection: `projection_runtime` (or
  `StreamOptions.runtime`) decodes each record (`decode_request_event`), applies a poll's records
  in one transaction with `Projection.apply_batch` (`projection_batch_handler`; one at a time with
  `projection_handler`), and copies the record of an event the projection parked to `<topic>.dlq`.
  Each projection service builds its own (services/<name>/streams.py `requests_runtime`).
- Upstream facts (`orders.v1`, `shipments.v1`): `fact_handler` applies one decoded fact.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from shared.settings import REQUESTS_TOPIC
from shared.transport.consumer import (
    BatchHandler,
    ConsumerRuntime,
    ConsumerSettings,
    RecordHandler,
)
from shared.transport.dead_letter import DeadLetter, copy_parked, where
from shared.transport.decoders import decode_request_event, record_fields
from shared.transport.messages import EventMessage
from shared.transport.projection import Projection

if TYPE_CHECKING:
    from kafka.consumer.fetcher import ConsumerRecord

log = logging.getLogger("seller_support.kafka")


__all__ = [
    "REQUESTS_TOPIC",
    "StreamOptions",
    "fact_handler",
    "projection_batch_handler",
    "projection_handler",
    "projection_runtime",
]


def fact_handler(apply: Callable[[Any], bool], changed: str, unchanged: str) -> RecordHandler[Any]:
    """A record handler applying one decoded upstream fact (`apply(fact)`: did it change
    anything?), with a debug line saying which record did what."""

    def handle(fact: Any, record: ConsumerRecord) -> None:
        outcome = changed if apply(fact) else unchanged
        log.debug("%s %s: %s", where(record), fact.type, outcome)

    return handle


def projection_handler(
    projection: Projection, group_id: str = "", dead_letter: DeadLetter | None = None
) -> RecordHandler[EventMessage]:
    """Feed a projection one record: the same `Projection.apply_batch` the in-process feed uses;
    a parked event's record is copied to `<topic>.dlq` by `dead_letter`."""

    def handle(message: EventMessage, record: ConsumerRecord) -> None:
        projection.apply_batch(
            [(None, message)],
            log_fields=lambda _index: record_fields(record, group_id),
            on_parked=copy_parked(dead_letter, lambda _index: record),
        )

    return handle


def projection_batch_handler(
    projection: Projection, group_id: str, dead_letter: DeadLetter | None = None
) -> BatchHandler[EventMessage]:
    """Feed a projection a poll's records in one transaction (`Projection.apply_batch`); each
    event's log line names the record it came from; a parked event's record is copied to
    `<topic>.dlq` by `dead_letter`."""

    def handle(items: Sequence[tuple[EventMessage, ConsumerRecord]]) -> None:
        projection.apply_batch(
            [(None, message) for message, _ in items],
            log_fields=lambda index: record_fields(items[index][1], group_id),
            on_parked=copy_parked(dead_letter, lambda index: items[index][1]),
        )

    return handle


def projection_runtime(
    settings: ConsumerSettings, projection: Projection, *, batched: bool = True
) -> ConsumerRuntime[EventMessage]:
    """A consumer runtime feeding `projection`, copying the records of parked events to
    `<topic>.dlq` (the projection's `parked_events` row is the operator's record)."""
    holder: list[ConsumerRuntime[EventMessage]] = []

    def dead_letter(record: ConsumerRecord, reason: str) -> None:
        holder[0].dead_letter(record, reason)

    group = settings.group_id
    runtime: ConsumerRuntime[EventMessage] = ConsumerRuntime(
        settings,
        decode_request_event,
        projection_handler(projection, group, dead_letter),
        handle_batch=projection_batch_handler(projection, group, dead_letter) if batched else None,
    )
    holder.append(runtime)
    return runtime


@dataclass(frozen=True)
class StreamOptions:
    """Where a projection service consumes the request stream (distributed mode)."""

    bootstrap_servers: str
    group_id: str
    topic: str = REQUESTS_TOPIC
    client_id: str = "seller-support-consumer"

    def consumer_settings(self) -> ConsumerSettings:
        return ConsumerSettings(
            bootstrap_servers=self.bootstrap_servers,
            topics=[self.topic],
            group_id=self.group_id,
            client_id=self.client_id,
        )

    def runtime(self, projection: Projection) -> ConsumerRuntime[EventMessage]:
        """The consumer runtime feeding `projection` from this stream (batched)."""
        return projection_runtime(self.consumer_settings(), projection)
