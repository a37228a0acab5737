"""The outbox relay: the event store's notification log -> `seller-support.requests.v1`.

The event store is the outbox. The relay reads the notification log in its total order from the
position it stored last (table `ss_relay_positions` in the requests database), publishes each event
(CloudEvents binary mode, key = request id) with `acks=all` and idempotence, waits until the broker
acknowledged every record of the batch, and only then stores the new position.

So a relay killed at any point loses nothing: on restart it re-publishes from the stored position.
The re-published records are exact duplicates (same `ce_id` = `<request id>:<version>`); consumers
dedupe by it (`Projection.apply`). Per-request order holds because one request's events share a key,
hence a partition, and the idempotent producer keeps a partition's order across its own retries.

While the broker is unreachable, commands keep succeeding (they only write the event store); the
relay's lag grows and it publishes everything once the broker is back.

Run exactly one relay per requests database for the least duplication; a second one is safe (the
stored position only moves forward) but re-publishes. A relay reads its stored position once, at
its first round, and keeps it in memory from then on.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from prometheus_client import Counter, Gauge
from sqlalchemy import BigInteger, Column, DateTime, MetaData, String, Table, insert, select, update

from services.requests.outbox.publishing import EventLog, read_messages
from shared.envelope import to_kafka
from shared.migrations import Store, ensure_schema
from shared.transport.consumer import at_most_every
from shared.transport.producer import (
    LazyProducer,
    ProducerFactory,
    drain_until_empty,
    make_producer,
    publish_until_stopped,
)
from shared.vocabulary import REQUESTS_TOPIC as TOPIC

log = logging.getLogger("seller_support.relay")

REQUESTS_TOPIC = TOPIC  # shared/vocabulary.py
DEFAULT_RELAY_NAME = "requests-relay"
# How long the relay waits after a round that found less than a full batch. Each idle round is one
# indexed SELECT on the events table; 20 ms keeps command -> topic latency low (it was 100 ms, the
# largest share of the end-to-end latency: docs/benchmarks.md).
IDLE_SLEEP_S = 0.02
# Batches one round may publish back to back (pipelined, `OutboxRelay.run_once`): a round, and so
# a `stop()`, lasts at most this many batches.
PIPELINED_BATCHES = 10

relay_metadata = MetaData()

relay_positions = Table(
    "ss_relay_positions",
    relay_metadata,
    Column("name", String(100), primary_key=True),
    Column("topic", String(250), nullable=False),
    Column("position", BigInteger, nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
)
# in the requests database, migrated on its own (shared/migrations.py)
RELAY_STORE = Store("relay", "services.requests.migrations.relay", relay_metadata)

RELAY_LAG = Gauge(
    "seller_support_relay_lag_events",
    "Events in the notification log not yet acknowledged by Kafka",
    ["relay"],
)
RELAY_PUBLISHED = Counter(
    "seller_support_relay_published_events",
    "Events published to Kafka and acknowledged (re-publications included)",
    ["relay"],
)
RELAY_FAILURES = Counter(
    "seller_support_relay_failures", "Batches that failed to publish and will be retried", ["relay"]
)


class OutboxRelay:
    def __init__(
        self,
        app: EventLog,
        producer_factory: ProducerFactory,
        *,
        topic: str = REQUESTS_TOPIC,
        name: str = DEFAULT_RELAY_NAME,
        batch_size: int = 500,
        after_publish: Callable[[int], None] | None = None,
    ) -> None:
        """`after_publish(position)` runs after the broker acknowledged a batch and before its
        position is stored (a fault-injection point for tests)."""
        self.app = app
        self.producer = LazyProducer(producer_factory)
        self.topic = topic
        self.name = name
        self.batch_size = batch_size
        self.after_publish = after_publish
        self.stop_event = threading.Event()
        # The stored position, read once: this relay is its only writer, so an idle round is one
        # query (the log), not two. Another relay on the same name only makes this one re-publish.
        self._position: int | None = None
        ensure_schema(app.engine, RELAY_STORE)

    @classmethod
    def for_bootstrap(cls, app: EventLog, bootstrap_servers: str, **kwargs: Any) -> OutboxRelay:
        name = kwargs.get("name", DEFAULT_RELAY_NAME)
        return cls(
            app, lambda: make_producer(bootstrap_servers, f"seller-support-{name}"), **kwargs
        )

    # -- position and lag --

    def position(self) -> int:
        with self.app.engine.connect() as conn:
            stored = conn.execute(
                select(relay_positions.c.position).where(relay_positions.c.name == self.name)
            ).scalar_one_or_none()
        return int(stored or 0)

    def max_notification_id(self) -> int:
        return int(self.app.recorder.max_notification_id() or 0)

    def lag(self) -> int:
        """Events recorded but not yet acknowledged by the broker (max notification id - position)."""
        lag = max(0, self.max_notification_id() - self.position())
        RELAY_LAG.labels(self.name).set(lag)
        return lag

    def _store_position(self, position: int) -> None:
        now = datetime.now(UTC)
        with self.app.engine.begin() as conn:
            moved = conn.execute(
                update(relay_positions)
                .where(relay_positions.c.name == self.name, relay_positions.c.position < position)
                .values(position=position, topic=self.topic, updated_at=now)
            ).rowcount
            if not moved:
                exists = conn.execute(
                    select(relay_positions.c.position).where(relay_positions.c.name == self.name)
                ).first()
                if exists is None:
                    conn.execute(
                        insert(relay_positions).values(
                            name=self.name, topic=self.topic, position=position, updated_at=now
                        )
                    )

    # -- publishing --

    def run_once(self) -> int:
        """Publish what is new, up to `PIPELINED_BATCHES` batches; returns how many events were
        acknowledged (0: nothing new). Raises when the broker did not acknowledge every record
        (the position stays at the last batch acknowledged in full; the next round re-publishes
        from there).

        Pipelined (issue 30): while a backlog lasts, the next batch is read, encoded and handed to
        the producer before the round waits for the previous one's acknowledgements and stores its
        position, so reading and encoding overlap the broker's round trip instead of following it.
        At most two batches are in flight; the round ends with every batch it sent acknowledged.
        A position is stored only once its batch and every batch before it were acknowledged."""
        if self._position is None:
            self._position = self.position()
        published = 0
        in_flight: tuple[list[Any], int, int] | None = None
        for _ in range(PIPELINED_BATCHES):
            start = (in_flight[1] if in_flight is not None else self._position) + 1
            batch = self._read_batch(start)
            sent: tuple[list[Any], int, int] | None = None
            if batch:
                # The HTTP command's trace context, stored with the event, rides in the header.
                records = [
                    to_kafka(message, traceparent=message.traceparent) for _, message in batch
                ]
                sent = (self.producer.send(self.topic, records), batch[-1][0], len(batch))
            if in_flight is not None:
                published += self._acknowledged(in_flight)
            in_flight = sent
            if sent is None or sent[2] < self.batch_size:
                break  # the backlog's tail: nothing more to overlap with
        if in_flight is not None:
            published += self._acknowledged(in_flight)
        if not published:
            RELAY_LAG.labels(self.name).set(0)
        return published

    def _acknowledged(self, sent: tuple[list[Any], int, int]) -> int:
        futures, last, count = sent
        self.producer.wait(futures, self.stop_event)
        if self.after_publish is not None:
            self.after_publish(last)
        self._store_position(last)
        self._position = last
        RELAY_PUBLISHED.labels(self.name).inc(count)
        return count

    def _read_batch(self, start: int) -> list[tuple[int, Any]]:
        """Up to `batch_size` messages from `start`, in one read: `read_messages` selects from the
        recorder, which has no section cap (reading in the log's sections of 10 cost one query
        and one meta lookup per 10 events)."""
        return list(read_messages(self.app, start, self.batch_size))

    def drain(self, timeout_s: float = 60.0) -> int:
        """Publish until nothing is left (tests, tools); returns how many were published."""
        return drain_until_empty(
            self.run_once, timeout_s, lambda: f"relay still has {self.lag()} events"
        )

    def run(
        self,
        *,
        idle_sleep_s: float = IDLE_SLEEP_S,
        backoff_initial_s: float = 0.5,
        backoff_max_s: float = 10.0,
    ) -> None:
        """Publish forever (until `stop()`), retrying broker failures with backoff: the relay must
        outlive broker outages, so it never gives up; its lag shows how far behind it is."""
        log.info(
            "relay %s publishing to %s from position %d", self.name, self.topic, self.position()
        )

        def on_failure(error: Exception, backoff: float) -> None:
            RELAY_FAILURES.labels(self.name).inc()
            log.warning(
                "relay %s: publishing failed (lag %s), retrying in %.1fs: %r",
                self.name,
                _safe(self.lag),
                backoff,
                error,
            )
            self.producer.reset()  # unacknowledged records are re-published by the next round

        try:
            publish_until_stopped(
                self.run_once,
                stop=self.stop_event,
                batch_size=self.batch_size,
                on_failure=on_failure,
                idle_sleep_s=idle_sleep_s,
                backoff_initial_s=backoff_initial_s,
                backoff_max_s=backoff_max_s,
                after_idle_round=at_most_every(1.0, self.lag),  # the lag gauge: two queries
            )
        finally:
            self.close()
            log.info("relay %s stopped at position %s", self.name, _safe(self.position))

    def stop(self) -> None:
        self.stop_event.set()

    def close(self) -> None:
        self.producer.close()

    def start_thread(self) -> threading.Thread:
        """Run the relay in a daemon thread of this process (e.g. beside the HTTP API)."""
        thread = threading.Thread(target=self.run, name=f"relay-{self.name}", daemon=True)
        thread.start()
        return thread


def _safe(fn: Callable[[], Any]) -> Any:
    try:
        return fn()
    except Exception:
        return "?"
