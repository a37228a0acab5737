"""The ratings projection folds a batch of events in memory and writes it back in a few statements:
that must leave the database exactly as applying the same events one at a time, in order, would -
whatever the batch sizes, with several events of one request in a batch, with requests stored by
earlier batches, with redeliveries - on SQLite and PostgreSQL.

Histories are generated (hypothesis) as published messages: the handler reads only `name` and
`data`, so every kind of event the rating reacts to is reachable without walking the policy.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import Engine, delete, select

from services.ratings import store
from services.ratings.projection import handle, ratings_projection
from shared.database import create_projection_engine
from shared.transport.messages import EventMessage
from shared.transport.projection import applied_events, feed_positions

START = datetime(2026, 12, 7, 19, 0, tzinfo=UTC)
TABLES = [*store.metadata.sorted_tables, applied_events, feed_positions]
WALL_CLOCK = {"applied_at"}

# (name, data beyond request_id and at): every branch of `domain.evolve`, plus one it ignores
EVENTS: list[tuple[str, dict[str, Any]]] = [
    ("full_refund_offered", {}),
    ("offer_accepted", {}),
    ("replacement_shipped", {}),
    ("return_confirmed", {}),
    ("return_auto_confirmed", {}),
    ("no_refund_explained", {}),
    ("no_refund_closed", {}),
    ("feedback_given", {"thumbs": "up"}),
    ("feedback_given", {"thumbs": "down"}),
    ("escalated", {"grounds": ["no_response"]}),
    ("escalated", {"grounds": ["no_refund"]}),
    ("return_disputed", {}),
    ("support_decided", {"outcome": "refund", "liable": "seller"}),
    ("support_decided", {"outcome": "refund_with_return", "liable": "seller"}),
    ("support_decided", {"outcome": "uphold_seller", "liable": None}),
    ("support_decided", {"outcome": "platform_refund", "liable": "platform"}),
    ("message_posted", {}),
]

request_history = st.tuples(
    st.sampled_from(["seller-a", "seller-b", "seller-c"]),
    st.sampled_from([None, None, None, "fraud_suspected"]),  # R6: routed straight to support
    st.lists(st.sampled_from(range(len(EVENTS))), max_size=8),
)


def _messages(
    requests: list[tuple[str, str | None, list[int]]], order: list[int]
) -> list[EventMessage]:
    """Each request's events (`opened` first), interleaved across requests as `order` says."""
    queues: list[list[EventMessage]] = []
    for n, (seller_id, routed, events) in enumerate(requests):
        request_id = f"req-{n}"
        opened_at = START + timedelta(hours=n)
        queue = [
            EventMessage(
                id=f"{request_id}:1",
                name="opened",
                subject=request_id,
                time=opened_at,
                data={
                    "request_id": request_id,
                    "seller_id": seller_id,
                    "at": opened_at.isoformat(),
                    "routed_to_support": routed,
                },
            )
        ]
        for version, index in enumerate(events, start=2):
            name, extra = EVENTS[index]
            at = opened_at + timedelta(minutes=version)
            data = {"request_id": request_id, "at": at.isoformat(), **extra}
            queue.append(EventMessage(f"{request_id}:{version}", name, request_id, at, data))
        queues.append(queue)
    interleaved = []
    for pick in order:
        waiting = [q for q in queues if q]
        interleaved.append(waiting[pick % len(waiting)].pop(0))
    interleaved.extend(m for q in queues for m in q)
    return interleaved


@st.composite
def histories(draw: st.DrawFn) -> list[EventMessage]:
    """An interleaved history, with some messages delivered again later (at-least-once)."""
    requests = draw(st.lists(request_history, min_size=1, max_size=6))
    total = sum(1 + len(events) for _, _, events in requests)
    order = draw(st.lists(st.integers(min_value=0, max_value=5), min_size=total, max_size=total))
    messages = _messages(requests, order)
    for again in draw(st.lists(st.integers(min_value=0), max_size=4)):
        original = again % len(messages)
        later = draw(st.integers(min_value=original + 1, max_value=len(messages)))
        messages.insert(later, messages[original])
    return messages


def _batches(messages: Sequence[Any], sizes: list[int]) -> Iterator[Sequence[Any]]:
    start, n = 0, 0
    while start < len(messages):
        size = sizes[n % len(sizes)]
        yield messages[start : start + size]
        start, n = start + size, n + 1


def _dump(engine: Engine) -> dict[str, list[tuple[Any, ...]]]:
    with engine.connect() as conn:
        return {
            table.name: sorted(
                tuple(repr(row._mapping[c.name]) for c in table.columns if c.name not in WALL_CLOCK)
                for row in conn.execute(select(table))
            )
            for table in TABLES
        }


def _wipe(engine: Engine) -> None:
    with engine.begin() as conn:
        for table in TABLES:
            conn.execute(delete(table))


@pytest.fixture
def engine(database_url: str) -> Iterator[Engine]:
    engine = create_projection_engine(database_url.replace("events.db", "ratings.db"))
    ratings_projection(engine)  # creates the tables
    try:
        yield engine
    finally:
        engine.dispose()


# Each example starts from empty tables (`_wipe`), so sharing the fixture's database is safe.
examples = settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
batch_sizes = st.lists(st.integers(min_value=1, max_value=12), min_size=1, max_size=5)


@examples
@given(messages=histories(), sizes=batch_sizes)
def test_ratings_batch_equals_one_at_a_time(
    engine: Engine, messages: list[EventMessage], sizes: list[int]
) -> None:
    # given a history with interleaved requests and redeliveries, and its feed positions
    positioned = list(enumerate(messages, start=1))
    projection = ratings_projection(engine)

    # when it is applied one message at a time
    _wipe(engine)
    one_by_one = [projection.apply(message, position) for position, message in positioned]
    single = _dump(engine)
    # and, into empty tables again, in batches of the drawn sizes
    _wipe(engine)
    batched = sum(projection.apply_batch(batch) for batch in _batches(positioned, sizes))

    # then every table holds the same rows, and as many events were applied
    assert _dump(engine) == single
    assert batched == sum(one_by_one)


@examples
@given(messages=histories(), sizes=batch_sizes)
def test_ratings_handler_alone_batch_equals_one_at_a_time_with_reruns(
    engine: Engine, messages: list[EventMessage], sizes: list[int]
) -> None:
    # given a history whose redelivered messages reach the handler itself (no tracking rows),
    # so only the handler's own idempotency stands between a re-run and a double count

    # when it is handled one message at a time
    _wipe(engine)
    with engine.begin() as conn:
        for message in messages:
            handle([message], conn)
    single = _dump(engine)
    # and, into empty tables again, in batches of the drawn sizes
    _wipe(engine)
    with engine.begin() as conn:
        for batch in _batches(messages, sizes):
            handle(batch, conn)

    # then every table holds the same rows
    assert _dump(engine) == single


@examples
@given(messages=histories(), sizes=batch_sizes, again=batch_sizes)
def test_ratings_redelivered_history_changes_nothing(
    engine: Engine, messages: list[EventMessage], sizes: list[int], again: list[int]
) -> None:
    # given a history applied in batches
    _wipe(engine)
    projection = ratings_projection(engine)
    positioned = list(enumerate(messages, start=1))
    for batch in _batches(positioned, sizes):
        projection.apply_batch(batch)
    once = _dump(engine)

    # when the whole history is delivered again, in other batches
    reapplied = sum(projection.apply_batch(batch) for batch in _batches(positioned, again))

    # then nothing is applied and no row changes
    assert reapplied == 0
    assert _dump(engine) == once
