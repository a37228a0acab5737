"""Composition of the search service: settings -> engine -> application (+ its HTTP router).

Embedded mode (services/embedded.py): `open_search_at(url, clock)` with the requests application's
clock, on `app.state.search`, its `projection` fed from the requests notification log with the
other projections. Distributed mode (`python -m services.search.main`, port 8005): the same
projection consumes `seller-support.requests.v1` with its own consumer group
(`seller-support.search`) in a thread of the API process, and the support-queue gauges are
refreshed after polls.
"""

from __future__ import annotations

import argparse
import contextlib
import logging
import sys
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager

from fastapi import FastAPI

from services.search.api import router
from services.search.application import SearchApplication
from services.search.settings import SearchSettings
from shared.auth import TokenCodec
from shared.clock import Clock, SystemClock
from shared.database import create_projection_engine
from shared.http_observability import consumer_alive
from shared.observability import configure_logging
from shared.service_process import projection_service_app, run_projection_service
from shared.transport.consumer import ConsumerRuntime, at_most_every, consumer_thread
from shared.transport.messages import EventMessage
from shared.transport.stream_consumers import StreamOptions, projection_runtime

log = logging.getLogger("seller_support.search")

DEFAULT_PORT = 8005
# The queue gauges are recomputed at most this often after polls.
METRICS_EVERY_S = 5.0


def open_search(
    settings: SearchSettings | None = None, clock: Clock | None = None
) -> SearchApplication:
    settings = settings or SearchSettings()
    return SearchApplication(
        create_projection_engine(settings.url), clock or SystemClock(), settings
    )


def open_search_at(database_url: str, clock: Clock) -> SearchApplication:
    """The search service on an explicit database URL (embedded mode, tests, tools)."""
    return open_search(SearchSettings(database_url=database_url), clock)


def requests_runtime(
    search: SearchApplication, stream: StreamOptions
) -> ConsumerRuntime[EventMessage]:
    """The search's consumer of the request stream (group `seller-support.search`): each poll
    into `search.projection`."""
    return projection_runtime(stream.consumer_settings(), search.projection)


def create_app(
    settings: SearchSettings | None = None,
    clock: Clock | None = None,
    token_codec: TokenCodec | None = None,
    *,
    kafka: StreamOptions | None = None,
) -> FastAPI:
    """The search API as its own service; with `kafka`, the process also consumes the request
    stream into its projection (a thread; `/readyz` checks the broker)."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        configure_logging()
        search = open_search(settings, clock)
        app.state.search = search
        app.state.token_codec = token_codec or TokenCodec()
        app.state.consumer = None

        def refresh() -> None:
            try:
                search.refresh_metrics()
            except Exception:  # retried after a later poll
                log.exception("refreshing the support-queue gauges failed")

        try:
            with contextlib.ExitStack() as stack:
                if kafka is not None:
                    runtime = requests_runtime(search, kafka)
                    app.state.consumer = stack.enter_context(
                        consumer_thread(runtime, at_most_every(METRICS_EVERY_S, refresh))
                    )
                yield
        finally:
            search.close()

    return projection_service_app(
        "search", lifespan, router, lambda r: r.app.state.search.engine, kafka, consumer_alive
    )


def main(argv: Sequence[str] | None = None) -> int:
    """`python -m services.search.main`: the API on SUPPORT_PORT (8005) and the consumer of
    `seller-support.requests.v1` (group `seller-support.search`); exit 2 when the consumer
    failed."""

    def build(args: argparse.Namespace, kafka: StreamOptions | None, codec: TokenCodec) -> FastAPI:
        settings = SearchSettings(database_url=args.database_url) if args.database_url else None
        return create_app(settings, token_codec=codec, kafka=kafka)

    return run_projection_service("search", DEFAULT_PORT, build, argv)


if __name__ == "__main__":  # pragma: no cover - process entry point
    sys.exit(main())
