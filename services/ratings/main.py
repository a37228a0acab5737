"""Composition of the ratings service: settings -> engine -> application (+ its HTTP router).

Embedded mode (services/embedded.py): `open_ratings(RatingsSettings(), clock)` with the requests
application's clock, put it on `app.state.ratings`, feed `ratings.projection` from the requests
notification log with `NotificationLogFeed`, and call `ratings.refresh()` after each pump and from
the timer loop (the window moves with the clock); `ratings.pending_changes()` /
`mark_published()` is the outbox of `seller-support.ratings.v1`. Distributed mode: the Kafka
consumer of `seller-support.requests.v1` applies messages through the same `ratings.projection`, and
`services/ratings/streams.py` publishes the outbox to `seller-support.ratings.v1`.
"""

from __future__ import annotations

import argparse
import contextlib
import logging
import sys
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager

from fastapi import FastAPI
from sqlalchemy import Engine

from services.ratings.api import router
from services.ratings.application import RatingsApplication
from services.ratings.public_limit import AnonymousReadLimit
from services.ratings.settings import RatingsSettings
from services.ratings.streams import ratings_publisher, requests_runtime
from shared.auth import TokenCodec
from shared.clock import Clock, SystemClock
from shared.contracts.ratings_v1 import TOPIC as RATINGS_TOPIC
from shared.database import create_projection_engine
from shared.http_observability import consumer_alive
from shared.observability import configure_logging
from shared.service_process import projection_service_app, run_projection_service
from shared.transport.consumer import at_most_every, consumer_thread
from shared.transport.parking import open_patiently
from shared.transport.stream_consumers import StreamOptions

log = logging.getLogger("seller_support.ratings")

# Ratings are recomputed for the sellers whose requests changed at most this often (each
# refresh reads those sellers' windows), not after every poll.
REFRESH_EVERY_S = 1.0


def build_engine(database_url: str) -> Engine:
    return create_projection_engine(database_url)


def open_ratings(
    settings: RatingsSettings | None = None, clock: Clock | None = None
) -> RatingsApplication:
    settings = settings or RatingsSettings()
    return RatingsApplication(
        build_engine(settings.database_url), clock or SystemClock(), settings.formula()
    )


def open_ratings_at(database_url: str, clock: Clock) -> RatingsApplication:
    """The ratings service on an explicit database URL (tests, tools), default formula."""
    return open_ratings(RatingsSettings(database_url=database_url), clock)


def create_app(
    settings: RatingsSettings | None = None,
    clock: Clock | None = None,
    token_codec: TokenCodec | None = None,
    *,
    kafka: StreamOptions | None = None,
    ratings_topic: str | None = RATINGS_TOPIC,
) -> FastAPI:
    """The ratings API as its own service (distributed mode). With `kafka`, the process also
    consumes the request stream into `ratings.projection` and refreshes the ratings after every
    poll (a thread; `/readyz` checks the broker), and unless `ratings_topic` is None publishes the
    outbox of rating changes to that topic (`seller-support.ratings.v1`, another thread)."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        configure_logging()
        ratings = open_patiently(lambda: open_ratings(settings, clock), "the ratings database")
        app.state.ratings = ratings
        app.state.ratings_anonymous_limit = AnonymousReadLimit(
            (settings or RatingsSettings()).anonymous_rate_limit
        )
        app.state.token_codec = token_codec or TokenCodec()
        app.state.consumer = None
        app.state.publisher = None

        def refresh() -> None:
            try:
                ratings.refresh()
            except Exception:  # retried after the next poll
                log.exception("refreshing the ratings failed")

        try:
            with contextlib.ExitStack() as stack:
                if kafka is not None:
                    runtime = requests_runtime(ratings, kafka)
                    app.state.consumer = stack.enter_context(
                        consumer_thread(runtime, at_most_every(REFRESH_EVERY_S, refresh))
                    )
                    if ratings_topic is not None:
                        publisher = ratings_publisher(
                            ratings, kafka.bootstrap_servers, topic=ratings_topic
                        )
                        app.state.publisher = stack.enter_context(publisher.running())
                yield
        finally:
            ratings.engine.dispose()

    return projection_service_app(
        "ratings", lifespan, router, lambda r: r.app.state.ratings.engine, kafka, consumer_alive
    )


def main(argv: Sequence[str] | None = None) -> int:
    """`python -m services.ratings.main`: the API on SUPPORT_PORT (8003) and the consumer of
    `seller-support.requests.v1` (group `seller-support.ratings`); exit 2 when the consumer failed.
    Flags default to `RatingsSettings` and the shared `ProcessSettings`."""

    def add_arguments(parser: argparse.ArgumentParser) -> None:
        parser.add_argument("--ratings-topic", default=RatingsSettings().topic)

    def build(args: argparse.Namespace, kafka: StreamOptions | None, codec: TokenCodec) -> FastAPI:
        settings = RatingsSettings(database_url=args.database_url) if args.database_url else None
        return create_app(
            settings, token_codec=codec, kafka=kafka, ratings_topic=args.ratings_topic
        )

    return run_projection_service(
        "ratings",
        8003,
        build,
        argv,
        add_arguments=add_arguments,
        topics_to_create=("the ratings topic", lambda args: [args.ratings_topic]),
    )


if __name__ == "__main__":  # pragma: no cover - process entry point
    sys.exit(main())
