"""Composition of the ledger service: settings -> engine -> application (+ its HTTP router).

Embedded mode (services/embedded.py): `open_ledger(LedgerSettings())`, put it on `app.state.ledger`,
and feed `ledger.projection` from the requests application's notification log with
`NotificationLogFeed` (batch size at most the log's section size). A `claim_paid` upstream fact goes to
`ledger.record_claim_paid` (see `services.ledger.api.record_claim_paid_or_problem`). Distributed
mode: the Kafka consumer of `seller-support.requests.v1` applies messages through the same
`ledger.projection`; `create_app` serves the API on its own.

`python -m services.ledger.main` (distributed mode, `make up`) runs in one process: the HTTP API, the
consumer of `seller-support.requests.v1` (group `seller-support.ledger`) into `ledger.projection`,
the consumer of `shipments.v1` (group `seller-support.ledger.claims`) applying `claim_paid` (R39),
and the publisher of `seller-support.ledger.v1` draining the ledger's outbox (services/ledger/streams.py).
"""

from __future__ import annotations

import argparse
import contextlib
import sys
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager

from fastapi import FastAPI, Request
from sqlalchemy import Engine

from services.ledger.api import router
from services.ledger.application import LedgerApplication
from services.ledger.settings import LedgerSettings
from services.ledger.streams import (
    CLAIMS_GROUP,
    SHIPMENTS_TOPIC,
    claims_runtime,
    ledger_publisher,
    requests_runtime,
)
from shared.auth import TokenCodec
from shared.contracts.ledger_v1 import LEDGER_TOPIC
from shared.database import create_projection_engine
from shared.observability import configure_logging
from shared.service_process import projection_service_app, run_projection_service
from shared.transport.consumer import consumer_thread
from shared.transport.parking import open_patiently
from shared.transport.stream_consumers import StreamOptions


def build_engine(settings: LedgerSettings) -> Engine:
    return create_projection_engine(settings.url)


def open_ledger(settings: LedgerSettings | None = None) -> LedgerApplication:
    return LedgerApplication(build_engine(settings or LedgerSettings()))


def open_ledger_at(database_url: str) -> LedgerApplication:
    """The ledger on an explicit database URL (tests, tools)."""
    return open_ledger(LedgerSettings(database_url=database_url))


def create_app(
    settings: LedgerSettings | None = None,
    token_codec: TokenCodec | None = None,
    ledger: LedgerApplication | None = None,
    *,
    kafka: StreamOptions | None = None,
    shipments_topic: str | None = SHIPMENTS_TOPIC,
    claims_group: str = CLAIMS_GROUP,
    ledger_topic: str | None = LEDGER_TOPIC,
) -> FastAPI:
    """The ledger API as its own service (distributed mode, tests). With `kafka`, the process also
    runs (threads; `/readyz` checks the broker): the consumer of the request stream into
    `ledger.projection`; unless `shipments_topic` is None, the `claim_paid` consumer of that topic
    (group `claims_group`); unless `ledger_topic` is None, the outbox publisher to that topic."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        configure_logging()
        application = ledger or open_patiently(lambda: open_ledger(settings), "the ledger database")
        app.state.ledger = application
        app.state.token_codec = token_codec or TokenCodec()
        app.state.consumer = None
        app.state.claims_consumer = None
        app.state.publisher = None
        try:
            with contextlib.ExitStack() as stack:
                if kafka is not None:
                    runtime = requests_runtime(application, kafka)
                    app.state.consumer = stack.enter_context(consumer_thread(runtime))
                    if shipments_topic is not None:
                        claims = claims_runtime(
                            application,
                            kafka.bootstrap_servers,
                            topic=shipments_topic,
                            group_id=claims_group,
                        )
                        app.state.claims_consumer = stack.enter_context(consumer_thread(claims))
                    if ledger_topic is not None:
                        publisher = ledger_publisher(
                            application, kafka.bootstrap_servers, topic=ledger_topic
                        )
                        app.state.publisher = stack.enter_context(publisher.running())
                yield
        finally:
            if ledger is None:
                application.close()

    return projection_service_app(
        "ledger", lifespan, router, lambda r: r.app.state.ledger.engine, kafka, _consumers_alive
    )


def _consumers_alive(request: Request) -> str | None:
    """Not alive once either consumer thread stopped on an error (the probe restarts the process)."""
    for name in ("consumer", "claims_consumer"):
        failure = getattr(getattr(request.app.state, name, None), "failure", None)
        if failure is not None:
            return f"the Kafka {name.replace('_', ' ')} stopped: {failure!r}"
    return None


def main(argv: Sequence[str] | None = None) -> int:
    """`python -m services.ledger.main`: the API on SUPPORT_PORT (8002), the consumer of
    `seller-support.requests.v1` (group `seller-support.ledger`), the `claim_paid` consumer of
    `shipments.v1` (group `seller-support.ledger.claims`) and the publisher of
    `seller-support.ledger.v1`; exit 2 when a consumer failed. Flags default to `LedgerSettings`
    and the shared `ProcessSettings`."""
    own = LedgerSettings()

    def add_arguments(parser: argparse.ArgumentParser) -> None:
        parser.add_argument("--shipments-topic", default=own.shipments_topic)
        parser.add_argument("--claims-group", default=own.claims_group)
        parser.add_argument("--ledger-topic", default=own.topic)

    def build(args: argparse.Namespace, kafka: StreamOptions | None, codec: TokenCodec) -> FastAPI:
        settings = LedgerSettings(database_url=args.database_url) if args.database_url else None
        return create_app(
            settings,
            codec,
            kafka=kafka,
            shipments_topic=args.shipments_topic,
            claims_group=args.claims_group,
            ledger_topic=args.ledger_topic,
        )

    return run_projection_service(
        "ledger",
        8002,
        build,
        argv,
        add_arguments=add_arguments,
        topics_to_create=(
            "the ledger topic and shipments.v1",
            lambda args: [args.ledger_topic, args.shipments_topic],
        ),
        consumers=("consumer", "claims_consumer"),
    )


if __name__ == "__main__":  # pragma: no cover - process entry point
    sys.exit(main())
