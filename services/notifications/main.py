"""Composition of the notifications service: settings -> engine -> application, and its loops.

Embedded mode (services/embedded.py): build a `NotificationsService` with the requests
application's log reader, put its `application` on `app.state.notifications` (the HTTP router reads
it there) and run `service.run(clock, stop)` as a background task in the lifespan. Each round:
pump new request events into the projection, fire due reminders at the business clock's now, send
the e-mail outbox. The SMTP server it sends to is a separate process (`smtp_server.py`); `make run`
starts it unless `SUPPORT_SMTP_URL` points elsewhere.

Distributed mode: `python -m services.notifications.main` serves the notifications API (+ /healthz,
/readyz, /metrics) and consumes `seller-support.requests.v1` from Kafka (consumer group
`seller-support.notifications`) with the same handler, firing reminders and sending mail between
polls (`create_app(settings, kafka=StreamOptions(...))`).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import sys
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime

from fastapi import FastAPI
from sqlalchemy import Engine

from services.notifications.api import router
from services.notifications.application import NotificationsApplication
from services.notifications.settings import NotificationsSettings
from shared.auth import TokenCodec
from shared.clock import Clock
from shared.database import create_projection_engine
from shared.http_observability import consumer_alive
from shared.observability import configure_logging
from shared.service_process import projection_service_app, run_projection_service
from shared.transport.consumer import ConsumerRuntime, at_most_every, consumer_thread
from shared.transport.messages import EventMessage
from shared.transport.notification_log import NotificationLogFeed
from shared.transport.parking import open_patiently
from shared.transport.stream_consumers import StreamOptions, projection_runtime

log = logging.getLogger("seller_support.notifications")

LogReader = Callable[[int, int], Sequence[tuple[int, EventMessage]]]

# Due reminders and the e-mail outbox are worked at most this often, not after every poll.
ROUND_EVERY_S = 0.5


def build_engine(settings: NotificationsSettings) -> Engine:
    return create_projection_engine(settings.url)


def open_notifications(settings: NotificationsSettings | None = None) -> NotificationsApplication:
    settings = settings or NotificationsSettings()
    return NotificationsApplication(build_engine(settings), settings)


@dataclass
class Round:
    applied: int
    reminders: int
    sent: int


class NotificationsService:
    """The embedded composition: the application plus its in-process feed and loop."""

    def __init__(
        self,
        read_log: LogReader,
        settings: NotificationsSettings | None = None,
        batch_size: int = 500,
    ) -> None:
        self.settings = settings or NotificationsSettings()
        self.application = open_notifications(self.settings)
        self.feed = NotificationLogFeed(read_log, [self.application.projection])
        self.batch_size = batch_size

    def run_once(self, now: datetime, send: bool = True) -> Round:
        applied = self.feed.pump(batch_size=self.batch_size)
        fired = self.application.fire_due(now)
        sent = self.application.send_pending(datetime.now(UTC)) if send else 0
        return Round(applied, fired, sent)

    async def run(self, clock: Clock, stop: asyncio.Event) -> None:
        """Until `stop` is set: one round every `interval_seconds`; errors are logged and retried."""
        while not stop.is_set():
            try:
                done = await asyncio.to_thread(self.run_once, clock.now())
                if done.applied or done.reminders or done.sent:
                    log.info(
                        "notifications: %d event(s), %d reminder(s), %d e-mail(s) sent",
                        done.applied,
                        done.reminders,
                        done.sent,
                    )
            except Exception:
                log.exception("notifications round failed; retrying")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=self.settings.interval_seconds)

    def close(self) -> None:
        self.application.close()


def requests_runtime(
    application: NotificationsApplication, stream: StreamOptions
) -> ConsumerRuntime[EventMessage]:
    """The notifications' consumer of the request stream (group `seller-support.notifications`):
    each poll into `application.projection`."""
    return projection_runtime(stream.consumer_settings(), application.projection)


def create_app(
    settings: NotificationsSettings | None = None,
    token_codec: TokenCodec | None = None,
    *,
    kafka: StreamOptions | None = None,
) -> FastAPI:
    """The notifications service on its own (distributed mode): its HTTP API, and with `kafka` the
    consumer of the request stream (a thread) that, after every poll, fires due reminders and sends
    the e-mail outbox — the same round as the embedded loop, on the system clock."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        configure_logging()
        application = open_patiently(
            lambda: open_notifications(settings), "the notifications database"
        )
        app.state.notifications = application
        app.state.token_codec = token_codec or TokenCodec()
        app.state.consumer = None

        def reminders_and_mail() -> None:
            try:
                application.fire_due(datetime.now(UTC))
                application.send_pending()
            except Exception:  # retried after the next poll
                log.exception("notifications round failed; retrying")

        try:
            with contextlib.ExitStack() as stack:
                if kafka is not None:
                    runtime = requests_runtime(application, kafka)
                    app.state.consumer = stack.enter_context(
                        consumer_thread(runtime, at_most_every(ROUND_EVERY_S, reminders_and_mail))
                    )
                yield
        finally:
            application.close()

    return projection_service_app(
        "notifications",
        lifespan,
        router,
        lambda r: r.app.state.notifications.engine,
        kafka,
        consumer_alive,
    )


def run_kafka(bootstrap_servers: str, settings: NotificationsSettings | None = None) -> int:
    """Distributed mode without flags: `main` with the given broker."""
    return main(["--bootstrap", bootstrap_servers], settings)


def main(argv: Sequence[str] | None = None, settings: NotificationsSettings | None = None) -> int:
    """`python -m services.notifications.main`: the API on SUPPORT_PORT (8004) and the consumer of
    `seller-support.requests.v1` (group `seller-support.notifications`), reminders and e-mail;
    exit 2 when the consumer failed."""

    def build(args: argparse.Namespace, kafka: StreamOptions | None, codec: TokenCodec) -> FastAPI:
        chosen = settings
        if chosen is None and args.database_url:
            chosen = NotificationsSettings(database_url=args.database_url)
        return create_app(chosen, codec, kafka=kafka)

    return run_projection_service("notifications", 8004, build, argv)


if __name__ == "__main__":  # pragma: no cover - process entry point
    sys.exit(main())
