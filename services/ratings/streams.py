"""The ratings service's Kafka side: its consumer of the request stream and the publisher of
`seller-support.ratings.v1`.

`requests_runtime` feeds `ratings.projection` from `seller-support.requests.v1` (group
`seller-support.ratings`; shared/transport's `projection_runtime`).

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
from shared.transport.consumer import ConsumerRuntime
from shared.transport.messages import EventMessage
from shared.transport.publishing import OutboxPublisher
from shared.transport.stream_consumers import StreamOptions, projection_runtime


def requests_runtime(
    ratings: RatingsApplication, stream: StreamOptions
) -> ConsumerRuntime[EventMessage]:
    """The ratings' consumer of the request stream: each poll into `ratings.projection`."""
    return projection_runtime(stream.consumer_settings(), ratings.projection)


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
