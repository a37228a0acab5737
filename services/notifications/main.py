"""Composition of the notifications service: settings -> engine -> application, and its loops.

Embedded mode (services/embedded.py): build a `NotificationsService` with the requests
application's log reader, put its `application` on `app.state.notifications` (the HTTP router reads
it there) and run `service.run(clock, stop)` as a background task in the lifespan. Each round:
pump new request events into the projection, fire due reminders at the business clock's now, send
the e-mail outbox. The SMTP server it sends to is a separate process (`smtp_server.py`); `make run`
starts it unless `SUPPORT_SMTP_URL` points elsewhere.

Distributed mode: `python -m services.notifications.main` consumes `seller-support.requests.v1`
from Kafka (consumer group `notifications`) with the same handler, and between polls fires
reminders and sends mail. It serves no HTTP; mount `services.notifications.api.router` in an app
whose `app.state.notifications` is `open_notifications(settings)`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url

from services.notifications.application import NotificationsApplication
from services.notifications.settings import NotificationsSettings
from shared.clock import Clock
from shared.transport.messages import EventMessage
from shared.transport.notification_log import NotificationLogFeed

log = logging.getLogger("seller_support.notifications")

LogReader = Callable[[int, int], Sequence[tuple[int, EventMessage]]]


def build_engine(settings: NotificationsSettings) -> Engine:
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
        batch_size: int = 10,
    ) -> None:
        self.settings = settings or NotificationsSettings()
        self.application = open_notifications(self.settings)
        self.feed = NotificationLogFeed(read_log, [self.application.projection])
        self.batch_size = batch_size  # at most the event store's log section size

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


def run_kafka(bootstrap_servers: str, settings: NotificationsSettings | None = None) -> None:
    """Distributed mode: the Kafka consumer feeds the same projection (system clock)."""
    from shared.transport.kafka import (
        ConsumerRuntime,
        ConsumerSettings,
        decode_request_event,
        projection_handler,
    )

    settings = settings or NotificationsSettings()
    application = open_notifications(settings)
    runtime = ConsumerRuntime(
        ConsumerSettings(
            bootstrap_servers=bootstrap_servers,
            topics=["seller-support.requests.v1"],
            group_id=settings.consumer_name,
            client_id="seller-support-notifications",
        ),
        decode_request_event,
        projection_handler(application.projection),
    )
    try:
        runtime.start()
        while not runtime.stopping:
            runtime.poll_once()
            application.fire_due(datetime.now(UTC))
            application.send_pending()
    finally:
        runtime.close()
        application.close()


if __name__ == "__main__":  # pragma: no cover - process entry point
    import os

    logging.basicConfig(level=logging.INFO)
    run_kafka(os.environ.get("SUPPORT_KAFKA_BOOTSTRAP", "127.0.0.1:9092"))
