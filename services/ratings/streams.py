"""The ratings service's Kafka side: the publisher of `seller-support.ratings.v1`.

`RatingsApplication.refresh` writes one `SupportRatingChanged` per change of a seller's public
rating into `ratings_changes` (the outbox) in the transaction that records it as announced;
`ratings_publisher` drains it: CloudEvents binary mode (shared/transport/publishing.py), key and
`ce_subject` = seller id, `ce_id` = change id, `acks=all`, marked published only after the broker
acknowledged. At least once, per-seller `sequence` for consumers to drop repeats.
"""

from __future__ import annotations

from typing import Any

from services.ratings.application import RatingsApplication
from shared.contracts.ratings_v1 import TOPIC
from shared.transport.publishing import OutboxPublisher


def ratings_publisher(
    ratings: RatingsApplication,
    bootstrap_servers: str,
    *,
    topic: str = TOPIC,
    name: str = "ratings-outbox",
    **kwargs: Any,
) -> OutboxPublisher:
    return OutboxPublisher.for_bootstrap(
        name,
        topic,
        ratings.pending_publications,
        ratings.mark_published,
        bootstrap_servers,
        **kwargs,
    )
