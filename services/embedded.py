"""The embedded composition: every service's routes in one FastAPI app and one process (`make run`).

The requests service's composition root (services/requests/main.py `create_app`) builds the app and
its lifespan; this module passes the projections in as one of that lifespan's `extensions`: the ledger, ratings, notifications and search applications on `app.state.ledger`
/ `app.state.ratings` / `app.state.notifications` / `app.state.search`, fed in process from the requests application's notification log (no broker)
by a pump task every `projection_interval_seconds`. Their databases are SQLite files under the data
folder unless `SUPPORT_LEDGER_DATABASE_URL` / `SUPPORT_RATINGS_DATABASE_URL` say otherwise.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from functools import partial
from typing import Any

from fastapi import FastAPI

from services.ledger.api import record_claim_paid_or_problem
from services.ledger.api import router as ledger_router
from services.ledger.application import Viewer
from services.ledger.main import open_ledger_at
from services.notifications.api import router as notifications_router
from services.notifications.main import NotificationsService
from services.notifications.settings import NotificationsSettings
from services.ratings.api import router as ratings_router
from services.ratings.main import open_ratings_at
from services.ratings.public_limit import AnonymousReadLimit
from services.ratings.settings import RatingsSettings
from services.requests.main import create_app
from services.requests.outbox.publishing import read_messages
from services.requests.settings import Settings
from services.search.api import router as search_router
from services.search.main import open_search_at
from services.webapp.main import create_webapp
from services.webapp.settings import WebAppSettings
from shared.clock import Clock
from shared.consistency import RememberOwnWrites
from shared.http_observability import database_check
from shared.settings import projection_database_url
from shared.transport.consumer import at_most_every
from shared.transport.notification_log import NotificationLogFeed
from shared.transport.parking import degraded_note
from shared.transport.projection import parked_events

log = logging.getLogger("seller_support.embedded")

PROJECTION_INTERVAL_SECONDS = 0.5  # the pump's round when no commit wakes it
# After a round, the pump waits this long before a commit may wake it again: under load, rounds
# of a few dozen events instead of one per command (each round has a fixed cost).
PROJECTION_MIN_GAP_SECONDS = 0.02
RATINGS_REFRESH_SECONDS = 0.5  # the ratings refresh's pace (it ran after every 0.5 s round)


def _database_url(settings: Settings, name: str) -> str:
    return projection_database_url(name, settings.data_dir)


def pump_projections(app: FastAPI, *, paced: bool = False) -> int:
    """Apply every new request event to the ledger and ratings; returns how many were applied.
    `paced` (the pump loop): the ratings refresh at most every `RATINGS_REFRESH_SECONDS`."""
    state = app.state
    applied = state.projection_feed.pump()
    if paced:
        state.ratings_refresh()
    else:
        state.ratings.refresh()
    if applied:
        state.search.refresh_metrics()
    return applied


async def _pump_loop(app: FastAPI, stop: asyncio.Event, wake: asyncio.Event) -> None:
    """A round when a command's events commit (`wake`, set by the event store), at least
    `PROJECTION_MIN_GAP_SECONDS` after the previous one, and every `PROJECTION_INTERVAL_SECONDS`
    anyway (a missed wake, the ratings' aging window)."""
    while not stop.is_set():
        wake.clear()
        try:
            await asyncio.to_thread(partial(pump_projections, app, paced=True))
        except Exception:
            log.exception("projection pump failed; retrying")
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), timeout=PROJECTION_MIN_GAP_SECONDS)
        if stop.is_set():
            return
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(
                _first(stop.wait(), wake.wait()), timeout=PROJECTION_INTERVAL_SECONDS
            )


async def _first(*waits: Any) -> None:
    tasks = [asyncio.ensure_future(w) for w in waits]
    try:
        await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for task in tasks:
            task.cancel()


def _waker(loop: asyncio.AbstractEventLoop, wake: asyncio.Event) -> Any:
    """The event store's after-commit callback: sets `wake` on the loop's thread, once per round
    (a set event is not set again, so a burst of commits costs one loop wake-up)."""

    def committed() -> None:
        if not wake.is_set():
            loop.call_soon_threadsafe(wake.set)

    return committed


def create_embedded_app(
    settings: Settings, clock: Clock | None = None, *, smtp_url: str | None = None
) -> FastAPI:
    """The requests service's composition root (`create_app`) with the projections as one of its
    lifespan's parts (`_projections`), their routes beside its own, and the web app at /app/.
    `smtp_url`: the mail server the notifications send through, when the caller chose one (the
    CLI's local SMTP server); otherwise the notifications settings decide."""
    app = create_app(
        settings,
        clock,
        extra_routers=(ledger_router, ratings_router, notifications_router, search_router),
        title="Seller Support",
        service="embedded",
        extra_checks={
            "ledger database": database_check(lambda r: r.app.state.ledger.engine),
            "ratings database": database_check(lambda r: r.app.state.ratings.engine),
            "notifications database": database_check(lambda r: r.app.state.notifications.engine),
            "search database": database_check(lambda r: r.app.state.search.engine),
        },
        extensions=(partial(_projections, settings=settings, smtp_url=smtp_url),),
    )
    # API.md: in one process a caller's reads reflect their own commands even without the token
    app.add_middleware(RememberOwnWrites)
    _mount_webapp(app, settings)
    return app


@asynccontextmanager
async def _projections(
    app: FastAPI, *, settings: Settings, smtp_url: str | None = None
) -> AsyncIterator[None]:
    """The ledger, ratings, notifications and search in this process, fed from the requests
    application's notification log (entered once `app.state.requests` is open)."""
    requests = app.state.requests
    ledger = open_ledger_at(_database_url(settings, "ledger"))
    ratings = open_ratings_at(_database_url(settings, "ratings"), app.state.clock)
    search = open_search_at(_database_url(settings, "search"), app.state.clock)
    app.state.ledger = ledger
    # The case dossier's ledger port, in process: the ledger's public read (issue 21).
    app.state.ledger_entries = lambda seller, request_id, role, sub, _token: ledger.ledger(
        seller, Viewer(role=role, id=sub), request_id=request_id, limit=500
    )["entries"]
    app.state.ratings = ratings
    app.state.ratings_anonymous_limit = AnonymousReadLimit(RatingsSettings().anonymous_rate_limit)
    app.state.search = search
    # The ledger owns claim_paid (R39); in one process it arrives at the upstream ingest.
    requests.register_fact_handlers(
        {"claim_paid": lambda fact: record_claim_paid_or_problem(ledger, fact)["created"]}
    )

    def read(start: int, limit: int) -> Any:
        return read_messages(requests, start, limit)

    app.state.projection_feed = NotificationLogFeed(
        read, [ledger.projection, ratings.projection, search.projection]
    )
    notifications = NotificationsService(
        read,
        NotificationsSettings(
            database_url=_database_url(settings, "notifications"),
            **({"smtp_url": smtp_url} if smtp_url else {}),
        ),
    )
    app.state.notifications = notifications.application
    # `/readyz` answers "degraded" while a projection has parked events (issue 18).
    app.state.degraded_notes = [
        degraded_note(
            lambda _r: [ledger.engine, ratings.engine, notifications.application.engine],
            parked_events,
        )
    ]
    app.state.ratings_refresh = at_most_every(RATINGS_REFRESH_SECONDS, ratings.refresh)
    stop = asyncio.Event()
    wake = asyncio.Event()
    recorder = getattr(requests, "recorder", None)
    if hasattr(recorder, "call_after_commit"):
        recorder.call_after_commit(_waker(asyncio.get_running_loop(), wake))
    pump = asyncio.create_task(_pump_loop(app, stop, wake))
    notify = asyncio.create_task(notifications.run(app.state.clock, stop))
    try:
        yield
    finally:
        stop.set()
        with contextlib.suppress(asyncio.CancelledError):
            await pump
            await notify
        notifications.close()
        ledger.close()
        with contextlib.suppress(Exception):
            ratings.close()
        search.close()


def _mount_webapp(app: FastAPI, settings: Settings) -> None:
    """The web app at /app/ (issue 20), calling this server's own API over loopback with each
    user's token (docs/webapp.md); `/` leads to it."""
    from fastapi.responses import RedirectResponse

    loopback = "127.0.0.1" if settings.host in ("0.0.0.0", "", "::") else settings.host
    if ":" in loopback:  # an IPv6 address in a URL
        loopback = f"[{loopback}]"
    webapp = WebAppSettings()
    app.mount(
        "/app",
        create_webapp(
            webapp,
            api_url=webapp.api_url or f"http://{loopback}:{settings.port}",
            codec=settings.token_codec(),
            production=settings.production,
            now=lambda: app.state.clock.now(),
        ),
    )

    @app.get("/", include_in_schema=False)
    async def index() -> RedirectResponse:
        return RedirectResponse("/app/", status_code=307)
