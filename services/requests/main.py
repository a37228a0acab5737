"""Composition root of the requests service: `create_app(settings, clock)` builds the FastAPI app.

Nothing happens at import time. The lifespan opens the application on its database, installs the
token codec and the idempotency store, and runs the timer loop: a background task that fires every
due deadline at the next deadline, or every `timer_interval_seconds` at the latest (the clock may be
moved by the admin endpoint in between).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
import time
from collections.abc import AsyncIterator, Callable, Iterable, Mapping, Sequence
from contextlib import AbstractAsyncContextManager, AsyncExitStack, asynccontextmanager

from fastapi import APIRouter, FastAPI
from sqlalchemy import func, select

from services.requests.application import RequestsApplication, open_application
from services.requests.attachments.main import attach as attach_attachments
from services.requests.http.app import install as install_http
from services.requests.persistence import dev_clock
from services.requests.persistence.idempotency_store import IdempotencyStore
from services.requests.persistence.store import deadlines
from services.requests.settings import ProgrammeSettings, Settings
from shared.clock import AdjustableClock, Clock, SystemClock
from shared.http_observability import Check, broker_check, database_check, instrument
from shared.observability import (
    TIMER_LOOP_LAST_RUN,
    TIMERS_DUE,
    TIMERS_FIRED,
    configure_logging,
    trace_context,
)
from shared.tracing import new_traceparent

log = logging.getLogger("seller_support.requests")

DESCRIPTION = """Seller Support: buyers' post-purchase problems resolved by sellers under
business-time deadlines. Every call needs `Authorization: Bearer <JWT>` (claims `sub`, `role`, `exp`);
errors are `application/problem+json`; every POST accepts an `Idempotency-Key` header."""


Extension = Callable[[FastAPI], AbstractAsyncContextManager[object]]
"""A part of the process that lives as long as the app, entered (in order) once the requests
application is open on `app.state.requests`, and left (in reverse) before it closes: the embedded
composition's projections (services/embedded.py)."""


def count_due(requests: RequestsApplication, clock: Clock) -> int:
    with requests.engine.connect() as connection:
        return int(
            connection.execute(
                select(func.count()).select_from(deadlines).where(deadlines.c.due_at <= clock.now())
            ).scalar_one()
        )


def fire_due_now(app: FastAPI) -> int:
    """Fire every due deadline, serialised with the admin clock so counts are exact."""
    with app.state.timer_lock:
        TIMERS_DUE.set(count_due(app.state.requests, app.state.clock))
        fired = app.state.requests.fire_due()
    TIMERS_FIRED.inc(fired)
    TIMER_LOOP_LAST_RUN.set(time.time())
    return fired


async def timer_loop(app: FastAPI, interval: float, stop: asyncio.Event) -> None:
    requests: RequestsApplication = app.state.requests
    clock: Clock = app.state.clock
    while not stop.is_set():
        delay = interval
        try:
            # Each round is a trace of its own: the events it causes carry its trace id.
            with trace_context(new_traceparent()):
                fired = await asyncio.to_thread(fire_due_now, app)
                if fired:
                    log.info("timers fired", extra={"fired": fired})
            upcoming = await asyncio.to_thread(requests.next_deadline)
            if upcoming is not None:
                delay = min(interval, max(0.05, (upcoming - clock.now()).total_seconds()))
        except Exception:
            log.exception("timer loop: firing due deadlines failed; retrying")
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), timeout=delay)


def create_app(
    settings: Settings,
    clock: Clock | None = None,
    extra_routers: Iterable[APIRouter] = (),
    title: str = "Seller Support — requests",
    *,
    service: str = "requests",
    kafka_bootstrap: str | None = None,
    extra_checks: Mapping[str, Check] | None = None,
    extensions: Sequence[Extension] = (),
) -> FastAPI:
    """`kafka_bootstrap`: the broker this process depends on (checked by `/readyz` with the
    database); `extra_checks`: further readiness checks (the embedded projections' databases);
    `extensions`: parts entered by the lifespan after the requests application (`Extension`)."""
    clock_given = clock
    if clock is None:
        clock = SystemClock() if settings.production else AdjustableClock()
    clock_is_movable = not settings.production and isinstance(clock, AdjustableClock)
    # Issue 18: the clock this app made itself (`make run`) resumes where the last run left it.
    durable_clock = clock_is_movable and clock_given is None

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        configure_logging(settings.log_level)
        settings.ensure_data_dir()
        application = open_application(settings.database_url, clock, ProgrammeSettings().rules())
        app.state.requests = application
        app.state.clock = clock
        app.state.timer_lock = threading.Lock()
        app.state.token_codec = settings.token_codec()
        app.state.idempotency = IdempotencyStore(application.recorder.transaction)
        app.state.durable_clock = durable_clock
        if durable_clock:
            assert isinstance(clock, AdjustableClock)
            resumed = dev_clock.resume(application.engine, clock)
            log.info("clock resumed", extra={"now": resumed.isoformat()})
        stop = asyncio.Event()
        timers = asyncio.create_task(timer_loop(app, settings.timer_interval_seconds, stop))
        sweeper = attach_attachments(app, settings, stop)
        try:
            async with AsyncExitStack() as parts:
                for extension in extensions:
                    await parts.enter_async_context(extension(app))
                yield
        finally:
            stop.set()
            with contextlib.suppress(asyncio.CancelledError):
                await timers
                await sweeper
            if durable_clock:
                assert isinstance(clock, AdjustableClock)
                dev_clock.save(application.engine, clock)
            application.close()
            application.engine.dispose()

    app = FastAPI(title=title, version="1.0.0", description=DESCRIPTION, lifespan=lifespan)
    install_http(app, max_body_bytes=settings.max_body_bytes, clock_is_movable=clock_is_movable)
    for extra in extra_routers:
        app.include_router(extra)
    checks: dict[str, Check] = {"database": database_check(lambda r: r.app.state.requests.engine)}
    if kafka_bootstrap:
        checks["broker"] = broker_check(kafka_bootstrap)
    checks.update(extra_checks or {})
    instrument(app, service, checks)
    return app
