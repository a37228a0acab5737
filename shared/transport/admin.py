"""Kafka topic administration: create the topics a process needs (and their dead-letter topics)."""

from __future__ import annotations

import contextlib
import logging
import threading
from collections.abc import Sequence

from shared.transport.dead_letter import DLQ_SUFFIX

log = logging.getLogger("seller_support.kafka")

__all__ = ["create_topics_with_dlq", "ensure_topics", "ensure_topics_patiently"]


def ensure_topics(
    bootstrap_servers: str, topics: dict[str, int], *, client_id: str = "seller-support-admin"
) -> None:
    """Create the topics that do not exist yet (name -> partitions), replication factor 1 locally."""
    from kafka import KafkaAdminClient  # here, not at import: embedded mode never loads kafka
    from kafka.errors import TopicAlreadyExistsError

    admin = KafkaAdminClient(bootstrap_servers=bootstrap_servers, client_id=client_id)
    try:
        existing = set(admin.list_topics())
        missing = {
            name: {"num_partitions": partitions, "replication_factor": 1}
            for name, partitions in topics.items()
            if name not in existing
        }
        if missing:
            with contextlib.suppress(TopicAlreadyExistsError):  # created concurrently
                admin.create_topics(missing, timeout_ms=30_000, wait_for_metadata=True)
    finally:
        admin.close()


def ensure_topics_patiently(
    bootstrap_servers: str,
    topics: dict[str, int],
    *,
    backoff_initial_s: float = 0.5,
    backoff_max_s: float = 10.0,
    stop: threading.Event | None = None,
) -> bool:
    """`ensure_topics`, retried with capped exponential backoff until it succeeds (a process that
    starts while the broker is down waits for it instead of exiting: issue 18); False when `stop`
    was set first."""
    stop = stop or threading.Event()
    delay = backoff_initial_s
    attempt = 0
    while not stop.is_set():
        attempt += 1
        try:
            ensure_topics(bootstrap_servers, topics)
            if attempt > 1:
                log.info("topics %s exist after %d attempts", sorted(topics), attempt)
            return True
        except Exception as error:
            log.warning(
                "creating topics failed (attempt %d), retrying in %.1fs: %r", attempt, delay, error
            )
            stop.wait(delay)
            delay = min(backoff_max_s, delay * 2)
    return False


def create_topics_with_dlq(bootstrap_servers: str, topics: Sequence[str]) -> None:
    """`topics` and their `.dlq` topics (3 partitions each), waiting for the broker if need be."""
    ensure_topics_patiently(
        bootstrap_servers, {name: 3 for topic in topics for name in (topic, f"{topic}{DLQ_SUFFIX}")}
    )
