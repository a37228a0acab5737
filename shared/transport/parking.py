"""Parking poison events: an event a projection cannot apply is set aside, with a record, and the
projection goes on with the next one (issue 18).

Every projection gets this through `Projection.apply_batch` (shared/transport/projection.py),
whatever feeds it (the in-process notification-log feed, the Kafka consumer runtime):

- an error the database or the network caused (`is_transient`) is never a reason to park: it is
  raised to the feed, which retries it with capped backoff for as long as the process runs;
- any other error fails the event `POISON_ATTEMPTS` times, then the event is *parked*: one row in
  `parked_events` (the projection's own database, beside `applied_events`) with its origin (log
  position, or Kafka topic/partition/offset), id, type, subject, the error, whether it is a money
  event (one the ledger charges: a seller's balance is incomplete while it is parked) and the
  message itself, so that it can be applied again. In the same transaction the event counts as
  processed (`applied_events`, the feed position), so the feed moves on and a redelivery is skipped;
- the Kafka runtime also copies the record to `<topic>.dlq` (shared/transport/consumer.py, dead_letter.py).

Nothing is skipped without this record. An operator lists, retries or discards parked events with
`seller-support dlq list|retry|discard` (services/cli.py); `/readyz` answers `degraded` with the
count while any is parked, and `seller_support_events_parked` counts them.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import (
    Boolean,
    Column,
    DateTime,
    Engine,
    Integer,
    String,
    Table,
    Text,
    case,
    func,
    inspect,
    select,
    update,
)
from sqlalchemy import exc as sa_exc
from sqlalchemy.engine import Connection

from shared.observability import PARKED_EVENTS, get_logger
from shared.transport.messages import EventMessage

log = get_logger("seller_support.parking")

# How many times an event that fails for a reason other than the database or the network is tried
# before it is parked (a deterministic failure fails every time; a flaky one gets its chances).
POISON_ATTEMPTS = 3


class ParkedStatus(StrEnum):
    PARKED = "parked"  # waiting for an operator
    RETRIED = "retried"  # applied later by `dlq retry`
    DISCARDED = "discarded"  # an operator decided it is never to be applied (the row stays)


def parked_table(metadata: Any) -> Table:
    return Table(
        "parked_events",
        metadata,
        Column("consumer", String(100), primary_key=True),
        Column("event_id", String(200), primary_key=True),
        Column("event_type", String(200), nullable=False),
        Column("subject", String(200), nullable=False),
        Column("origin", String(300), nullable=False),  # "log position 42", "topic[1]@17"
        Column("error", Text, nullable=False),
        Column("money", Boolean, nullable=False),
        Column("status", String(20), nullable=False),
        Column("attempts", Integer, nullable=False),
        Column("parked_at", DateTime(timezone=True), nullable=False),
        Column("resolved_at", DateTime(timezone=True), nullable=True),
        Column("message", Text, nullable=False),  # the EventMessage as JSON, to apply it again
    )


# --- what is transient ------------------------------------------------------------------------------

_TRANSIENT = (
    sa_exc.OperationalError,  # connection refused/lost, server shut down, database locked
    sa_exc.InterfaceError,
    sa_exc.DisconnectionError,
    sa_exc.TimeoutError,  # the pool had no connection to give
    ConnectionError,
    TimeoutError,
)


def is_transient(error: BaseException) -> bool:
    """Did the database or the network cause `error` (retry it), rather than the event (park it)?"""
    if isinstance(error, _TRANSIENT):
        return True
    if isinstance(error, sa_exc.DBAPIError) and error.connection_invalidated:
        return True
    cause = error.__cause__
    return cause is not None and cause is not error and is_transient(cause)


def describe(error: BaseException) -> str:
    return f"{type(error).__name__}: {error}"[:4000]


def open_patiently(
    open_: Callable[[], Any], what: str, *, initial_s: float = 0.5, max_s: float = 10.0
) -> Any:
    """`open_()`, retried with capped exponential backoff while the database (or network) is away:
    a process that starts during an outage waits for it instead of exiting (issue 18). Any other
    error is raised at once."""
    delay = initial_s
    attempt = 0
    while True:
        attempt += 1
        try:
            return open_()
        except Exception as error:
            if not is_transient(error):
                raise
            log.warning(
                "opening failed, retrying",
                what=what,
                attempt=attempt,
                delay_s=delay,
                error=repr(error)[:300],
            )
            time.sleep(delay)
            delay = min(max_s, delay * 2)


# --- the message, kept to be applied again ------------------------------------------------------------


def message_to_json(message: EventMessage) -> str:
    return json.dumps(
        {
            "id": message.id,
            "name": message.name,
            "subject": message.subject,
            "time": message.time.isoformat(),
            "data": message.data,
            "chain_hash": message.chain_hash,
            "traceparent": message.traceparent,
        },
        default=str,
    )


def message_from_json(text: str) -> EventMessage:
    raw = json.loads(text)
    return EventMessage(
        id=raw["id"],
        name=raw["name"],
        subject=raw["subject"],
        time=datetime.fromisoformat(raw["time"]),
        data=raw["data"],
        chain_hash=raw.get("chain_hash"),
        traceparent=raw.get("traceparent"),
    )


# --- the record -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ParkedEvent:
    consumer: str
    event_id: str
    event_type: str
    subject: str
    origin: str
    error: str
    money: bool
    status: str
    attempts: int
    parked_at: datetime
    resolved_at: datetime | None

    def as_dict(self) -> dict[str, Any]:
        row = {k: getattr(self, k) for k in self.__dataclass_fields__}
        row["parked_at"] = self.parked_at.isoformat()
        row["resolved_at"] = self.resolved_at.isoformat() if self.resolved_at else None
        return row


def record_parked(
    conn: Connection,
    table: Table,
    *,
    consumer: str,
    message: EventMessage,
    origin: str,
    error: BaseException,
    money: bool,
    attempts: int,
) -> None:
    """Insert the parked record (in the caller's transaction); loud when money is involved."""
    conn.execute(
        table.insert().values(
            consumer=consumer,
            event_id=message.id,
            event_type=message.name,
            subject=message.subject,
            origin=origin,
            error=describe(error),
            money=money,
            status=ParkedStatus.PARKED.value,
            attempts=attempts,
            parked_at=datetime.now(UTC),
            resolved_at=None,
            message=message_to_json(message),
        )
    )


def announce_parked(
    consumer: str, message: EventMessage, origin: str, error: BaseException, money: bool
) -> None:
    """After the parking committed: the metric and the log line (ERROR for money events)."""
    PARKED_EVENTS.labels(consumer, "true" if money else "false").inc()
    fields = {
        "projection": consumer,
        "event_id": message.id,
        "event_type": message.name,
        "subject": message.subject,
        "origin": origin,
        "error": describe(error),
    }
    if money:
        log.error(
            "MONEY EVENT PARKED: a seller's ledger is incomplete until it is retried "
            "(seller-support dlq list)",
            **fields,
        )
    else:
        log.warning("event parked (seller-support dlq list)", **fields)


def has_table(engine: Engine) -> bool:
    return inspect(engine).has_table("parked_events")


def list_parked(
    engine: Engine, table: Table, *, consumer: str | None = None, status: str | None = None
) -> list[ParkedEvent]:
    if not has_table(engine):
        return []
    query = select(*(table.c[name] for name in ParkedEvent.__dataclass_fields__)).order_by(
        table.c.parked_at, table.c.event_id
    )
    if consumer is not None:
        query = query.where(table.c.consumer == consumer)
    if status is not None:
        query = query.where(table.c.status == status)
    with engine.connect() as conn:
        return [ParkedEvent(**row._mapping) for row in conn.execute(query)]


@dataclass(frozen=True)
class ParkedSummary:
    parked: int
    money: int


def parked_summaries(engine: Engine, table: Table) -> list[tuple[str, ParkedSummary]]:
    """Per consumer: how many events wait parked (and how many of them are money events)."""
    query = (
        select(
            table.c.consumer,
            func.count(),
            func.coalesce(func.sum(case((table.c.money, 1), else_=0)), 0),
        )
        .where(table.c.status == ParkedStatus.PARKED.value)
        .group_by(table.c.consumer)
    )
    with engine.connect() as conn:
        return [
            (consumer, ParkedSummary(int(count), int(money)))
            for consumer, count, money in conn.execute(query)
        ]


def degraded_note(
    engines_of: Callable[[Any], Sequence[Engine]], table: Table
) -> Callable[[Any], Any]:
    """A `/readyz` note (app.state.degraded_notes, shared/observability.py): the parked events of
    every projection in the engines `engines_of(request)` returns."""

    def note(request: Any) -> dict[str, Any] | None:
        summaries = [s for engine in engines_of(request) for s in parked_summaries(engine, table)]
        return readiness_note(summaries)

    return note


def load_parked(conn: Connection, table: Table, consumer: str, event_id: str) -> Any:
    return conn.execute(
        select(table).where(table.c.consumer == consumer, table.c.event_id == event_id)
    ).one_or_none()


def resolve(
    conn: Connection, table: Table, consumer: str, event_id: str, status: ParkedStatus
) -> None:
    conn.execute(
        update(table)
        .where(table.c.consumer == consumer, table.c.event_id == event_id)
        .values(status=status.value, resolved_at=datetime.now(UTC))
    )


def note_failed_retry(
    engine: Engine, table: Table, consumer: str, event_id: str, error: BaseException
) -> None:
    with engine.begin() as conn:
        conn.execute(
            update(table)
            .where(table.c.consumer == consumer, table.c.event_id == event_id)
            .values(error=describe(error), attempts=table.c.attempts + 1)
        )


def readiness_note(summaries: Sequence[tuple[str, ParkedSummary]]) -> dict[str, Any] | None:
    """What `/readyz` adds while events are parked: None when none is."""
    parked = {name: s.parked for name, s in summaries if s.parked}
    if not parked:
        return None
    return {
        "parked_events": parked,
        "parked_money_events": sum(s.money for _, s in summaries),
        "detail": "events are parked: see `seller-support dlq list`",
    }
