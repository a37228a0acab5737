"""`Projection.apply_batch` and the in-process feed, on SQLite and PostgreSQL: a batch is one
transaction, ids already applied (before or earlier in the batch) never reach the handler again, the
feed position moves only with a committed batch, one read of the log serves every projection, and
events a handler does not react to are recorded as applied without reaching it."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import replace
from datetime import UTC, datetime

import pytest
from sqlalchemy import Column, Engine, MetaData, String, Table, create_engine, insert, select
from sqlalchemy.engine import Connection

from shared.transport import EventMessage, Projection
from shared.transport.notification_log import NotificationLogFeed
from shared.transport.projection import reacts_to

AT = datetime(2026, 12, 7, 19, 0, tzinfo=UTC)
metadata = MetaData()
seen_rows = Table("it_seen", metadata, Column("event_id", String(200), nullable=False))


def event(n: int) -> EventMessage:
    return EventMessage(
        id=f"r-{n % 3}:{n}",
        name="message_posted",
        subject=f"r-{n % 3}",
        time=AT,
        data={"request_id": f"r-{n % 3}", "version": n, "at": AT.isoformat(), "actor": "system"},
    )


class Recorder:
    """A projection handler that stores each event id and remembers the batches it was given."""

    def __init__(self, fail_on: str | None = None) -> None:
        self.batches: list[list[str]] = []
        self.fail_on = fail_on

    def __call__(self, messages: Sequence[EventMessage], conn: Connection) -> None:
        self.batches.append([m.id for m in messages])
        conn.execute(insert(seen_rows), [{"event_id": m.id} for m in messages])
        if self.fail_on in {m.id for m in messages}:
            raise ConnectionError("the database went away mid-batch")  # transient: raised


@pytest.fixture
def engine(database_url: str) -> Iterator[Engine]:
    engine = create_engine(database_url)
    metadata.create_all(engine)
    yield engine
    engine.dispose()


def stored(engine: Engine) -> list[str]:
    with engine.connect() as conn:
        return sorted(conn.execute(select(seen_rows.c.event_id)).scalars())


def test_a_batch_skips_ids_applied_before_and_repeated_within_it(engine) -> None:
    # given a projection that has applied events 1 and 2
    handler = Recorder()
    projection = Projection(engine, "it-batch", handler)
    assert projection.apply_batch([(1, event(1)), (2, event(2))]) == 2
    # when a batch repeats 2, brings 3 twice and then 4
    applied = projection.apply_batch([(2, event(2)), (3, event(3)), (3, event(3)), (4, event(4))])
    # then the handler saw only 3 and 4, once each, in order, and the position is 4
    assert applied == 2
    assert handler.batches[-1] == [event(3).id, event(4).id]
    assert stored(engine) == sorted(event(n).id for n in (1, 2, 3, 4))
    assert projection.position() == 4
    # and a batch of nothing new does not call the handler at all
    assert projection.apply_batch([(4, event(4))]) == 0
    assert len(handler.batches) == 2
    assert projection.apply(event(5), position=5) is True
    assert projection.apply(event(5), position=5) is False


def test_a_failed_batch_applies_nothing_and_keeps_the_position(engine) -> None:
    # given a projection at position 1 whose handler fails on event 3
    projection = Projection(engine, "it-batch", Recorder(fail_on=event(3).id))
    projection.apply_batch([(1, event(1))])
    # when a batch of 2, 3, 4 fails on a database error (transient: raised to the feed, never parked)
    with pytest.raises(ConnectionError):
        projection.apply_batch([(2, event(2)), (3, event(3)), (4, event(4))])
    # then none of it is stored, recorded as applied, or counted in the position
    assert stored(engine) == [event(1).id]
    assert projection.position() == 1
    # and the same batch is applied in full once the handler recovers
    projection.handler = Recorder()
    assert projection.apply_batch([(2, event(2)), (3, event(3)), (4, event(4))]) == 3
    assert projection.position() == 4


def test_one_read_of_the_log_serves_projections_at_different_positions(engine) -> None:
    # given a log of 12 events, one projection at 0 and one already at 7
    log = [(n, event(n)) for n in range(1, 13)]
    reads: list[tuple[int, int]] = []

    def read(start: int, limit: int) -> list[tuple[int, EventMessage]]:
        reads.append((start, limit))
        return [(p, m) for p, m in log if p >= start][:limit]

    behind, ahead = Recorder(), Recorder()
    behind_projection = Projection(engine, "it-behind", behind)
    ahead_projection = Projection(engine, "it-ahead", ahead)
    ahead_projection.apply_batch(log[:7])
    ahead.batches.clear()
    # when the feed pumps with batches of 5
    applied = NotificationLogFeed(read, [behind_projection, ahead_projection]).pump(batch_size=5)
    # then each applied exactly what it lacked, in order, reading the log once per batch
    assert applied == 12 + 5
    assert [i for b in behind.batches for i in b] == [m.id for _, m in log]
    assert [i for b in ahead.batches for i in b] == [m.id for _, m in log[7:]]
    assert reads == [(1, 5), (6, 5), (11, 5)]
    assert behind_projection.position() == ahead_projection.position() == 12


def test_events_a_handler_does_not_react_to_are_recorded_but_never_reach_it(engine) -> None:
    # given a handler that reacts to `opened` only
    handler = reacts_to({"opened"})(Recorder())
    projection = Projection(engine, "it-reacting", handler)
    opened = replace(event(1), name="opened")
    # when a batch brings it an opened event and two messages
    applied = projection.apply_batch([(1, opened), (2, event(2)), (3, event(3))])
    # then the handler saw the opened event alone, yet all three count as applied and the
    # position moved past them
    assert applied == 3
    assert handler.batches == [[opened.id]]
    assert projection.position() == 3
    # and a batch of nothing it reacts to calls it not at all, and is recognised when redelivered
    assert projection.apply_batch([(4, event(4))]) == 1
    assert projection.apply_batch([(4, event(4))]) == 0
    assert handler.batches == [[opened.id]]
    assert projection.position() == 4
