"""Publishing a projection's own stream: a generic CloudEvents encoder and an outbox publisher.

The request stream has its own envelope (`shared/envelope.py`) and relay; the projections'
streams (`seller-support.ledger.v1`, `seller-support.ratings.v1`) use the same approach in a
generic form:

- `to_kafka_record(...)`: CloudEvents 1.0, Kafka protocol binding, **binary mode**, built with the
  CloudEvents SDK (`cloudevents.core.bindings.kafka.to_binary`): `ce_specversion`, `ce_id`,
  `ce_source`, `ce_type`, `ce_subject`, `ce_time`, `content-type: application/json`, plus a W3C
  `traceparent` derived from `ce_id` (so a re-publication is byte-identical), key = the given key;
- its strict inverse is the one CloudEvents decoder, `shared.envelope.from_kafka_record`;
- `OutboxPublisher`: drains an outbox table (rows written in the same transaction as the change
  they announce) to a topic with the `acks=all` idempotent producer, and marks the rows published
  only after the broker acknowledged every record of the batch. A publisher killed anywhere
  re-publishes the unmarked rows on restart: at least once, with the same `ce_id`.
"""

from __future__ import annotations

import contextlib
import logging
import threading
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from cloudevents.core.bindings import kafka as ce_kafka
from cloudevents.core.formats.json import JSONFormat
from cloudevents.core.v1.event import CloudEvent
from prometheus_client import Counter, Gauge

from shared.envelope import (
    CONTENT_TYPE,
    SPECVERSION,
    TRACEPARENT,
    KafkaRecord,
    traceparent_for,
)
from shared.transport.producer import (
    LazyProducer,
    ProducerFactory,
    drain_until_empty,
    make_producer,
    publish_until_stopped,
)

log = logging.getLogger("seller_support.outbox")

_FORMAT = JSONFormat()

OUTBOX_PENDING = Gauge(
    "seller_support_outbox_pending_messages",
    "Outbox rows not yet acknowledged by Kafka",
    ["outbox"],
)
OUTBOX_PUBLISHED = Counter(
    "seller_support_outbox_published_messages",
    "Outbox rows published and acknowledged (re-publications included)",
    ["outbox"],
)
OUTBOX_FAILURES = Counter(
    "seller_support_outbox_failures", "Outbox batches that failed and will be retried", ["outbox"]
)


# --- envelope --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Published:
    """One outbox row as a CloudEvent: everything the encoder needs."""

    id: str  # ce_id: unique and stable across re-publication
    type: str  # ce_type
    source: str  # ce_source
    subject: str  # ce_subject
    time: datetime  # ce_time
    key: str  # the Kafka message key
    data: dict[str, Any]  # the contract model's JSON


def to_kafka_record(message: Published) -> KafkaRecord:
    event = CloudEvent(
        attributes={
            "specversion": SPECVERSION,
            "id": message.id,
            "source": message.source,
            "type": message.type,
            "subject": message.subject,
            "time": message.time,
            "datacontenttype": CONTENT_TYPE,
        },
        data=message.data,
    )
    encoded = ce_kafka.to_binary(event, _FORMAT, key_mapper=lambda _event: message.key)
    headers = [(name, value) for name, value in encoded.headers.items()]
    headers.append((TRACEPARENT, traceparent_for(message.id).encode()))
    key = encoded.key
    return KafkaRecord(
        key=key.encode() if isinstance(key, str) else (key or b""),
        value=encoded.value,
        headers=headers,
    )


# --- outbox publisher ------------------------------------------------------------------------------

PendingReader = Callable[[int], Sequence[Published]]  # limit -> oldest unpublished rows, in order
Marker = Callable[[Sequence[str]], Any]  # ids -> mark them published


class OutboxPublisher:
    """Publishes `pending(limit)` to `topic`; `mark(ids)` only after the broker acknowledged them."""

    def __init__(
        self,
        name: str,
        topic: str,
        pending: PendingReader,
        mark: Marker,
        producer_factory: ProducerFactory,
        *,
        batch_size: int = 500,
        before_mark: Callable[[Sequence[str]], None] | None = None,
    ) -> None:
        """`before_mark(ids)` runs after the acknowledgement and before the rows are marked (a
        fault-injection point for tests)."""
        self.name = name
        self.topic = topic
        self.pending = pending
        self.mark = mark
        self.producer = LazyProducer(producer_factory)
        self.batch_size = batch_size
        self.before_mark = before_mark
        self.stop_event = threading.Event()

    @classmethod
    def for_bootstrap(
        cls,
        name: str,
        topic: str,
        pending: PendingReader,
        mark: Marker,
        bootstrap_servers: str,
        **kwargs: Any,
    ) -> OutboxPublisher:
        return cls(
            name,
            topic,
            pending,
            mark,
            lambda: make_producer(bootstrap_servers, f"seller-support-{name}"),
            **kwargs,
        )

    def run_once(self) -> int:
        """Publish the oldest unpublished batch; returns how many rows were acknowledged and
        marked (0: nothing pending). Raises when the broker did not acknowledge every record."""
        batch = list(self.pending(self.batch_size))
        OUTBOX_PENDING.labels(self.name).set(len(batch))
        if not batch:
            return 0
        records = [to_kafka_record(message) for message in batch]
        self.producer.publish(self.topic, records, self.stop_event)
        ids = [m.id for m in batch]
        if self.before_mark is not None:
            self.before_mark(ids)
        self.mark(ids)
        OUTBOX_PUBLISHED.labels(self.name).inc(len(batch))
        return len(batch)

    def drain(self, timeout_s: float = 30.0) -> int:
        """Publish until nothing is pending (tests, tools)."""
        return drain_until_empty(self.run_once, timeout_s, lambda: f"outbox {self.name} still busy")

    def run(
        self,
        *,
        idle_sleep_s: float = 0.2,
        backoff_initial_s: float = 0.5,
        backoff_max_s: float = 10.0,
        before_round: Callable[[], None] | None = None,
    ) -> None:
        """Publish until `stop()`, retrying failures with backoff (never gives up; nothing is
        marked that the broker did not acknowledge). `before_round()` runs before every round."""
        log.info("outbox %s publishing to %s", self.name, self.topic)

        def on_failure(error: Exception, backoff: float) -> None:
            OUTBOX_FAILURES.labels(self.name).inc()
            log.warning(
                "outbox %s: publishing failed, retrying in %.1fs: %r", self.name, backoff, error
            )
            self.producer.reset()

        try:
            publish_until_stopped(
                self.run_once,
                stop=self.stop_event,
                batch_size=self.batch_size,
                on_failure=on_failure,
                idle_sleep_s=idle_sleep_s,
                backoff_initial_s=backoff_initial_s,
                backoff_max_s=backoff_max_s,
                before_round=before_round,
            )
        finally:
            self.close()
            log.info("outbox %s stopped", self.name)

    def stop(self) -> None:
        self.stop_event.set()

    def close(self) -> None:
        self.producer.close()

    @contextlib.contextmanager
    def running(self, **run_kwargs: Any) -> Iterator[OutboxPublisher]:
        """Publish in a daemon thread for the duration of the block (a service's lifespan); on
        leaving it, stop and wait for the thread (at most 30 s)."""
        thread = threading.Thread(
            target=lambda: self.run(**run_kwargs), name=f"outbox-{self.name}", daemon=True
        )
        thread.start()
        try:
            yield self
        finally:
            self.stop()
            thread.join(30)
