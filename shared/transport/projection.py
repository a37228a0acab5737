"""Idempotent application of events to a projection's own database.

The handler's changes, the record that this event id was applied, and (for ordered feeds) the feed
position all commit in one transaction: a crash before commit applies nothing, a redelivery after
commit is recognised and skipped, so every event is applied exactly once in effect.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

from sqlalchemy import (
    Column,
    DateTime,
    Engine,
    Integer,
    MetaData,
    String,
    Table,
    insert,
    select,
    update,
)
from sqlalchemy.engine import Connection

from shared import tracing
from shared.observability import EVENTS_APPLIED, EVENTS_SKIPPED, get_logger, trace_context
from shared.transport.messages import EventMessage

log = get_logger("seller_support.projection")

Handler = Callable[[EventMessage, Connection], None]

tracking_metadata = MetaData()

applied_events = Table(
    "applied_events",
    tracking_metadata,
    Column("consumer", String(100), primary_key=True),
    Column("event_id", String(200), primary_key=True),
    Column("applied_at", DateTime(timezone=True), nullable=False),
)

feed_positions = Table(
    "feed_positions",
    tracking_metadata,
    Column("consumer", String(100), primary_key=True),
    Column("position", Integer, nullable=False),
)


class Projection:
    """A named consumer of the request stream with its own tables in `engine`."""

    def __init__(self, engine: Engine, consumer: str, handler: Handler) -> None:
        self.engine = engine
        self.consumer = consumer
        self.handler = handler
        tracking_metadata.create_all(engine)

    def apply(self, message: EventMessage, position: int | None = None) -> bool:
        """Apply one event; False when it had been applied before (a harmless redelivery).

        Logs one line per applied event with the trace context the event carries (the HTTP
        command's `traceparent`, stored with the event), or else the one its carrier set (the
        Kafka consumer binds the record's `traceparent` header)."""
        traceparent = getattr(message, "traceparent", None) or tracing.current_traceparent()
        with trace_context(traceparent):
            applied = self._apply(message, position)
            if applied:
                EVENTS_APPLIED.labels(self.consumer).inc()
                log.info(
                    "event applied",
                    projection=self.consumer,
                    event_id=message.id,
                    event_type=message.name,
                    subject=message.subject,
                    position=position,
                )
            else:
                EVENTS_SKIPPED.labels(self.consumer).inc()
                log.debug(
                    "event already applied; skipped",
                    projection=self.consumer,
                    event_id=message.id,
                    event_type=message.name,
                    subject=message.subject,
                )
        return applied

    def _apply(self, message: EventMessage, position: int | None) -> bool:
        with self.engine.begin() as conn:
            seen = conn.execute(
                select(applied_events.c.event_id).where(
                    applied_events.c.consumer == self.consumer,
                    applied_events.c.event_id == message.id,
                )
            ).first()
            if seen is None:
                self.handler(message, conn)
                conn.execute(
                    insert(applied_events).values(
                        consumer=self.consumer, event_id=message.id, applied_at=datetime.now(UTC)
                    )
                )
            if position is not None:
                self._store_position(conn, position)
        return seen is None

    def position(self) -> int:
        """The last feed position applied (0 before the first)."""
        with self.engine.connect() as conn:
            stored = conn.execute(
                select(feed_positions.c.position).where(feed_positions.c.consumer == self.consumer)
            ).scalar_one_or_none()
        return stored or 0

    def _store_position(self, conn: Connection, position: int) -> None:
        moved = conn.execute(
            update(feed_positions)
            .where(feed_positions.c.consumer == self.consumer)
            .values(position=position)
        ).rowcount
        if not moved:
            conn.execute(insert(feed_positions).values(consumer=self.consumer, position=position))
