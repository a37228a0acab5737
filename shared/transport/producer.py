"""The Kafka producer of the transport port: safe by configuration, acknowledged by the broker.

`acks=all` and idempotence on, so a retried send never duplicates or reorders within a partition
(duplicates across relay restarts are expected and carry the same `ce_id`). `send_acknowledged`
returns only once the broker acknowledged every record; `LazyProducer` is a publisher's producer
(made on first use, dropped after a failure); `publish_until_stopped` / `drain_until_empty` are the
loops of the outbox publishers (services/requests relay, shared/transport/publishing.py).
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    # kafka-python is imported when a producer is made: embedded mode never loads it (issue 30).
    from kafka import KafkaProducer

log = logging.getLogger("seller_support.kafka")

__all__ = [
    "LazyProducer",
    "ProducerFactory",
    "PublishingStopped",
    "drain_until_empty",
    "make_producer",
    "producer_config",
    "publish_until_stopped",
    "send_acknowledged",
    "send_records",
    "wait_acknowledged",
]


def producer_config(bootstrap_servers: str, client_id: str, **overrides: Any) -> dict[str, Any]:
    config: dict[str, Any] = {
        "bootstrap_servers": bootstrap_servers,
        "client_id": client_id,
        "acks": "all",
        "enable_idempotence": True,
        "max_in_flight_requests_per_connection": 5,  # the idempotent maximum: still ordered
        "linger_ms": 5,
        "request_timeout_ms": 15_000,
        "delivery_timeout_ms": 120_000,
        "max_block_ms": 15_000,
        # Come back quickly after a broker restart (the default backs off up to 30 s).
        "reconnect_backoff_max_ms": 1_000,
    }
    config.update(overrides)
    return config


def make_producer(bootstrap_servers: str, client_id: str, **overrides: Any) -> KafkaProducer:
    """A producer that only reports success once every in-sync replica has the record."""
    from kafka import KafkaProducer

    return KafkaProducer(**producer_config(bootstrap_servers, client_id, **overrides))


def send_acknowledged(
    producer: KafkaProducer, topic: str, records: Sequence[Any], stop: threading.Event
) -> bool:
    """Send every record (`key`, `value`, `headers`) and wait until the broker acknowledged each.

    False when `stop` was set first: the caller must then drop the producer, whose buffered records
    may still go out. Raises the first delivery failure. Callers store their progress only after
    True, so a crash anywhere re-sends rather than loses."""
    return wait_acknowledged(producer, send_records(producer, topic, records), stop)


def send_records(producer: KafkaProducer, topic: str, records: Sequence[Any]) -> list[Any]:
    """Hand every record to the producer (buffered, sent in the background); their futures."""
    return [producer.send(topic, key=r.key, value=r.value, headers=r.headers) for r in records]


def wait_acknowledged(
    producer: KafkaProducer, futures: Sequence[Any], stop: threading.Event
) -> bool:
    """`send_acknowledged`'s wait: True once every future is acknowledged, False when `stop` was
    set first; raises the first delivery failure."""
    from kafka.errors import KafkaTimeoutError

    for future in futures:
        while not future.is_done:
            if stop.is_set():
                return False
            with contextlib.suppress(KafkaTimeoutError):
                producer.flush(timeout=1.0)
        if future.failed():
            raise future.exception
    return True


class PublishingStopped(Exception):
    """Shutdown was asked for while a batch waited for its acknowledgements."""


ProducerFactory = Callable[[], "KafkaProducer"]


class LazyProducer:
    """A publisher's producer: made on first use, dropped after a failure (the next round makes a
    fresh one and re-sends what was not acknowledged), closed when the publisher stops."""

    def __init__(self, factory: ProducerFactory) -> None:
        self.factory = factory
        self._producer: KafkaProducer | None = None

    def publish(self, topic: str, records: Sequence[Any], stop: threading.Event) -> None:
        """`send_acknowledged`, or PublishingStopped (producer dropped) when `stop` came first."""
        if self._producer is None:
            self._producer = self.factory()
        if not send_acknowledged(self._producer, topic, records, stop):
            self.reset()
            raise PublishingStopped("stopped while waiting for acknowledgements")

    def send(self, topic: str, records: Sequence[Any]) -> list[Any]:
        """Hand `records` to the producer without waiting (`wait` for their acknowledgements)."""
        if self._producer is None:
            self._producer = self.factory()
        return send_records(self._producer, topic, records)

    def wait(self, futures: Sequence[Any], stop: threading.Event) -> None:
        """Until every future of a `send` is acknowledged; PublishingStopped (producer dropped)
        when `stop` came first; raises the first delivery failure."""
        if not futures:
            return
        assert self._producer is not None, "wait() after send() on the same producer"
        if not wait_acknowledged(self._producer, futures, stop):
            self.reset()
            raise PublishingStopped("stopped while waiting for acknowledgements")

    def reset(self) -> None:
        self._close(timeout=0)

    def close(self) -> None:
        self._close(timeout=5)

    def _close(self, timeout: float) -> None:
        producer, self._producer = self._producer, None
        if producer is None:
            return
        try:
            producer.close(timeout=timeout)
        except Exception:  # closing a broken producer must not hide the error that broke it
            log.debug("closing the producer failed", exc_info=True)


def drain_until_empty(
    run_once: Callable[[], int], timeout_s: float, busy: Callable[[], str]
) -> int:
    """Publish rounds until one publishes nothing (tests, tools); returns how many were published."""
    deadline = time.monotonic() + timeout_s
    published = 0
    while True:
        n = run_once()
        published += n
        if n == 0:
            return published
        if time.monotonic() > deadline:
            raise TimeoutError(f"{busy()} after {timeout_s}s")


def publish_until_stopped(
    run_once: Callable[[], int],
    *,
    stop: threading.Event,
    batch_size: int,
    on_failure: Callable[[Exception, float], None],
    idle_sleep_s: float,
    backoff_initial_s: float,
    backoff_max_s: float,
    before_round: Callable[[], None] | None = None,
    after_idle_round: Callable[[], None] | None = None,
) -> None:
    """The loop of a publisher that must outlive broker outages: rounds until `stop`, sleeping when
    a round published less than a batch, retrying failures with exponential backoff, never giving
    up (nothing is marked done that the broker did not acknowledge). `on_failure(error, backoff)`
    reports and resets the producer."""
    backoff = backoff_initial_s
    while not stop.is_set():
        try:
            if before_round is not None:
                before_round()
            published = run_once()
            backoff = backoff_initial_s
            if published < batch_size:
                if after_idle_round is not None:
                    after_idle_round()
                stop.wait(idle_sleep_s)
        except PublishingStopped:
            return
        except Exception as error:
            on_failure(error, backoff)
            stop.wait(backoff)
            backoff = min(backoff_max_s, backoff * 2)
