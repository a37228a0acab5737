"""Dead-letter topics: where a consumer puts a record it can never process, and why.

A record is copied to `<topic>.dlq` with its own key, value and headers plus `error`,
`original_topic`, `original_partition`, `original_offset`, `consumer_group` and `failed_at`. Two
kinds of records go there: poison ones (`PoisonMessage`: bad JSON, schema violation, unknown type,
a fact the application rejects, or a handler failing every attempt), and the records of events a
projection parked in its own database (shared/transport/parking.py): that `parked_events` row is
the operator's record, the `.dlq` copy tells the stream's other readers.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from shared.observability import DLQ_MESSAGES
from shared.transport.messages import EventMessage
from shared.transport.parking import describe
from shared.transport.producer import make_producer

if TYPE_CHECKING:
    from kafka import KafkaProducer
    from kafka.consumer.fetcher import ConsumerRecord

log = logging.getLogger("seller_support.kafka")

DLQ_SUFFIX = ".dlq"

# (record, reason): copy the record to its dead-letter topic
DeadLetter = Callable[["ConsumerRecord", str], None]
# (attempt, error, what): wait before the next attempt (the consumer's backoff)
Retry = Callable[[int, Exception, str], None]

__all__ = [
    "DLQ_SUFFIX",
    "DeadLetter",
    "DeadLetterProducer",
    "copy_parked",
    "dead_letter_headers",
    "where",
]


def where(record: ConsumerRecord) -> str:
    """`topic[partition]@offset`, for log lines."""
    return f"{record.topic}[{record.partition}]@{record.offset}"


def dead_letter_headers(
    record: ConsumerRecord, reason: str, group_id: str
) -> list[tuple[str, bytes]]:
    """The record's own headers plus why and where it failed."""
    return [
        *(record.headers or []),
        ("error", reason[:4000].encode()),
        ("original_topic", record.topic.encode()),
        ("original_partition", str(record.partition).encode()),
        ("original_offset", str(record.offset).encode()),
        ("consumer_group", group_id.encode()),
        ("failed_at", datetime.now(UTC).isoformat().encode()),
    ]


class DeadLetterProducer:
    """A consumer group's producer of dead-letter records: made on first use, each send waited
    for (acknowledged) and retried through `retry` until it succeeds."""

    def __init__(
        self,
        bootstrap_servers: str,
        client_id: str,
        group_id: str,
        *,
        suffix: str = DLQ_SUFFIX,
        producer_overrides: dict[str, Any] | None = None,
    ) -> None:
        self.bootstrap_servers = bootstrap_servers
        self.client_id = client_id
        self.group_id = group_id
        self.suffix = suffix
        self.producer_overrides = dict(producer_overrides or {})
        self._producer: KafkaProducer | None = None

    def send(self, record: ConsumerRecord, reason: str, retry: Retry) -> str:
        """Copy `record` to `<topic><suffix>`; returns that topic once the broker acknowledged."""
        topic = f"{record.topic}{self.suffix}"
        headers = dead_letter_headers(record, reason, self.group_id)
        attempt = 0
        while True:
            attempt += 1
            try:
                if self._producer is None:
                    self._producer = make_producer(
                        self.bootstrap_servers, self.client_id, **self.producer_overrides
                    )
                self._producer.send(topic, key=record.key, value=record.value, headers=headers).get(
                    timeout=30
                )
                break
            except Exception as error:
                retry(attempt, error, f"dead-lettering {where(record)}")
        DLQ_MESSAGES.labels(self.group_id, record.topic).inc()
        log.warning("dead-lettered %s to %s: %s", where(record), topic, reason[:500])
        return topic

    def close(self) -> None:
        if self._producer is not None:
            self._producer.close(timeout=10)
            self._producer = None


def copy_parked(
    dead_letter: DeadLetter | None, record_at: Callable[[int], ConsumerRecord]
) -> Callable[[int, EventMessage, BaseException], None] | None:
    """`Projection.apply_batch`'s `on_parked`: the record of the event parked at `index` is copied
    to its dead-letter topic by `dead_letter`, with the reason it was parked."""
    if dead_letter is None:
        return None

    def copy(index: int, _message: EventMessage, error: BaseException) -> None:
        dead_letter(record_at(index), f"parked by the projection: {describe(error)}")

    return copy
