"""Composition of the ledger service: settings -> engine -> application (+ its HTTP router).

Embedded mode (services/embedded.py): `open_ledger(LedgerSettings())`, put it on `app.state.ledger`,
and feed `ledger.projection` from the requests application's notification log with
`NotificationLogFeed` (batch size at most the log's section size). A `claim_paid` upstream fact goes to
`ledger.record_claim_paid` (see `services.ledger.api.record_claim_paid_or_problem`). Distributed
mode: the Kafka consumer of `seller-support.requests.v1` applies messages through the same
`ledger.projection`; `create_app` serves the API on its own.
"""

from __future__ import annotations

import contextlib
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import FastAPI
from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url

from services.ledger.api import router
from services.ledger.application import LedgerApplication
from services.ledger.settings import LedgerSettings
from shared.auth import TokenCodec
from shared.observability import (
    Check,
    broker_check,
    configure_logging,
    consumer_alive,
    database_check,
    instrument,
)
from shared.problems import install_problem_handlers, install_problem_openapi
from shared.transport.kafka import (
    StreamOptions,
    consumer_thread,
    projection_service_parser,
    stream_options,
    token_codec_from_env,
)


def build_engine(settings: LedgerSettings) -> Engine:
    url = make_url(settings.url)
    if url.get_backend_name() == "sqlite":
        if url.database and url.database != ":memory:":
            Path(url.database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"timeout": 30})

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_connection, _record):  # pragma: no cover - trivial
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA busy_timeout=30000")
            cursor.close()

        return engine
    return create_engine(url, pool_pre_ping=True)


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
) -> FastAPI:
    """The ledger API as its own service (distributed mode, tests). With `kafka`, the process also
    consumes the request stream into `ledger.projection` (a thread; `/readyz` checks the broker)."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        configure_logging()
        application = ledger or open_ledger(settings)
        app.state.ledger = application
        app.state.token_codec = token_codec or TokenCodec()
        app.state.consumer = None
        try:
            with contextlib.ExitStack() as stack:
                if kafka is not None:
                    runtime = kafka.runtime(application.projection)
                    app.state.consumer = stack.enter_context(consumer_thread(runtime))
                yield
        finally:
            if ledger is None:
                application.close()

    app = FastAPI(title="Seller Support — ledger", version="1.0.0", lifespan=lifespan)
    install_problem_handlers(app, {})
    install_problem_openapi(app)
    app.include_router(router)
    checks: dict[str, Check] = {"database": database_check(lambda r: r.app.state.ledger.engine)}
    if kafka is not None:
        checks["broker"] = broker_check(kafka.bootstrap_servers)
    instrument(app, "ledger", checks, alive=consumer_alive)
    return app


def main(argv: list[str] | None = None) -> int:
    """`python -m services.ledger.main`: the API on SUPPORT_PORT (8002) and the consumer of
    `seller-support.requests.v1` (group `seller-support.ledger`); exit 2 when the consumer failed."""
    import uvicorn

    args = projection_service_parser("ledger", 8002).parse_args(argv)
    configure_logging(args.log_level)
    settings = LedgerSettings(database_url=args.database_url) if args.database_url else None
    app = create_app(settings, token_codec_from_env(), kafka=stream_options(args, "ledger"))
    uvicorn.run(app, host=args.host, port=args.port, log_config=None)
    consumer = getattr(app.state, "consumer", None)
    return 2 if consumer is not None and consumer.failure is not None else 0


if __name__ == "__main__":  # pragma: no cover - process entry point
    sys.exit(main())
