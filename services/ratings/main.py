"""Composition of the ratings service: settings -> engine -> application (+ its HTTP router).

Embedded mode (services/embedded.py): `open_ratings(RatingsSettings(), clock)` with the requests
application's clock, put it on `app.state.ratings`, feed `ratings.projection` from the requests
notification log with `NotificationLogFeed`, and call `ratings.refresh()` after each pump and from
the timer loop (the window moves with the clock); `ratings.pending_changes()` /
`mark_published()` is the outbox of `seller-support.ratings.v1`. Distributed mode: the Kafka
consumer of `seller-support.requests.v1` applies messages through the same `ratings.projection`.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import FastAPI
from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url

from services.ratings.api import router
from services.ratings.application import RatingsApplication
from services.ratings.settings import RatingsSettings
from shared.auth import TokenCodec
from shared.clock import Clock, SystemClock
from shared.problems import install_problem_handlers, install_problem_openapi


def build_engine(database_url: str) -> Engine:
    url = make_url(database_url)
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
) -> FastAPI:
    """The ratings API as its own service (distributed mode)."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        ratings = open_ratings(settings, clock)
        app.state.ratings = ratings
        app.state.token_codec = token_codec or TokenCodec()
        try:
            yield
        finally:
            ratings.engine.dispose()

    app = FastAPI(title="Seller Support — ratings", version="1.0.0", lifespan=lifespan)
    install_problem_handlers(app, {})
    install_problem_openapi(app)
    app.include_router(router)

    @app.get("/healthz", tags=["operations"], summary="The process is alive")
    def healthz() -> dict[str, str]:
        return {"status": "ok"}

    return app
