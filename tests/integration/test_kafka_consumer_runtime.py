"""The Kafka consumer runtime against a real broker and PostgreSQL: DLQ for poison messages, bounded
retries then the DLQ, scale-out in one consumer group with exactly-once effect, SIGTERM — one
record at a time and a poll's records as one batch (what the projection services run)."""

from __future__ import annotations

import os
import signal
import threading
import uuid
from collections import Counter
from datetime import UTC, datetime
from typing import Any

import pytest
from kafka import TopicPartition
from sqlalchemy import Column, MetaData, String, Table, create_engine, insert, select

from shared.envelope import PoisonMessage, to_kafka
from shared.transport import EventMessage, Projection
from shared.transport.consumer import ConsumerRuntime, ConsumerSettings
from shared.transport.decoders import decode_request_event
from shared.transport.stream_consumers import projection_runtime as shared_projection_runtime
from tests.integration.kafka_fixtures import (
    committed_offsets,
    plain_producer,
    read_topic,
    running,
    unique,
    wait_for,
)

pytest_plugins = ["tests.integration.kafka_fixtures"]
pytestmark = [pytest.mark.kafka, pytest.mark.postgres]

counts_metadata = MetaData()
applied_rows = Table(
    "it_applied_rows",
    counts_metadata,
    Column("event_id", String(200), nullable=False),
    Column("applied_by", String(50), nullable=False),
)


def event(request_id: str, version: int, name: str = "offer_lapsed") -> EventMessage:
    at = datetime(2026, 12, 7, 19, 0, tzinfo=UTC)
    return EventMessage(
        id=f"{request_id}:{version}",
        name=name,
        subject=request_id,
        time=at,
        data={
            "request_id": request_id,
            "version": version,
            "at": at.isoformat(),
            "actor": "system",
        },
    )


def publish(bootstrap: str, topic: str, messages: list[EventMessage]) -> None:
    producer = plain_producer(bootstrap)
    for message in messages:
        record = to_kafka(message)
        producer.send(topic, key=record.key, value=record.value, headers=record.headers)
    producer.flush(30)
    producer.close()


@pytest.fixture
def engine(pg_url_2: str):
    engine = create_engine(pg_url_2)
    counts_metadata.create_all(engine)
    yield engine
    engine.dispose()


def counting_projection(engine, tag: str, poison: str | None = None) -> Projection:
    """Counts each applied event; rejects the event with id `poison` as a poison message."""

    def handle(messages: list[EventMessage], conn: Any) -> None:
        if any(m.id == poison for m in messages):
            raise PoisonMessage(f"{poison} is not for this projection")
        conn.execute(
            insert(applied_rows), [{"event_id": m.id, "applied_by": tag} for m in messages]
        )

    return Projection(engine, "it-counter", handle)


def projection_runtime(
    settings: ConsumerSettings, projection: Projection, batched: bool
) -> ConsumerRuntime[EventMessage]:
    """What the projection services run (`StreamOptions.runtime`), per record or batched."""
    return shared_projection_runtime(settings, projection, batched=batched)


per_record_or_batched = pytest.mark.parametrize("batched", [False, True], ids=["record", "batch"])


def applied(engine) -> list[tuple[str, str]]:
    with engine.connect() as conn:
        return [tuple(row) for row in conn.execute(select(applied_rows))]


def one_partition_of_events(bootstrap: str, topics: Any, count: int) -> tuple[str, str, str]:
    """A fresh one-partition topic holding versions 1..count of one request's events, the request
    id, and a fresh consumer group: (topic, request id, group)."""
    topic = topics("requests", partitions=1)
    rid = str(uuid.uuid4())
    publish(bootstrap, topic, [event(rid, v) for v in range(1, count + 1)])
    return topic, rid, unique("group")


def settings(bootstrap: str, topic: str, group: str, **overrides: Any) -> ConsumerSettings:
    values: dict[str, Any] = {"poll_timeout_ms": 100, "backoff_initial_s": 0.05}
    values.update(overrides)
    return ConsumerSettings(bootstrap_servers=bootstrap, topics=[topic], group_id=group, **values)


@per_record_or_batched
def test_poison_messages_go_to_the_dlq_with_their_origin_and_the_partition_moves_on(
    kafka_bootstrap, topics, engine, batched
) -> None:
    topic = topics("requests", partitions=1)
    rid = str(uuid.uuid4())
    good_1, good_2 = to_kafka(event(rid, 1, "return_dropped_off")), to_kafka(event(rid, 2))
    unknown = to_kafka(event(rid, 3))
    unknown_headers = [
        (k, b"seller_support.request.teleported.v1" if k == "ce_type" else v)
        for k, v in unknown.headers
    ]
    producer = plain_producer(kafka_bootstrap)
    sends = [
        (good_1.key, good_1.value, good_1.headers),
        (good_1.key, b"{not json", good_1.headers),  # bad JSON
        (good_1.key, b'{"request_id": "nope", "version": 0}', good_1.headers),  # schema violation
        (unknown.key, unknown.value, unknown_headers),  # unknown type
        (b"x", b'{"hello": 1}', []),  # not a CloudEvent at all
        (good_2.key, good_2.value, good_2.headers),
    ]
    for key, value, headers in sends:
        producer.send(topic, key=key, value=value, headers=headers)
    producer.flush(30)
    producer.close()

    group = unique("group")
    runtime = projection_runtime(
        settings(kafka_bootstrap, topic, group), counting_projection(engine, "a"), batched
    )
    with running(runtime):
        wait_for(lambda: runtime.stats.processed + runtime.stats.dead_lettered == 6, 30, "all 6")

    assert sorted(e for e, _ in applied(engine)) == sorted([f"{rid}:1", f"{rid}:2"])
    assert runtime.stats.dead_lettered == 4
    dead = sorted(
        read_topic(kafka_bootstrap, f"{topic}.dlq", expect=4),
        key=lambda r: int(dict(r.headers)["original_offset"]),
    )
    assert len(dead) == 4
    origins = [dict(r.headers) for r in dead]
    assert [int(h["original_offset"]) for h in origins] == [1, 2, 3, 4]
    assert all(h["original_partition"] == b"0" for h in origins)
    assert all(h["original_topic"] == topic.encode() for h in origins)
    assert all(h["consumer_group"] == group.encode() for h in origins)
    assert b"not JSON" in origins[0]["error"]
    assert b"schema violation" in origins[1]["error"]
    assert b"unknown type" in origins[2]["error"]
    assert b"CloudEvents" in origins[3]["error"]
    assert dead[0].value == b"{not json"  # the original bytes, for replay after a fix
    # every offset is committed: the partition moved on past the poison
    assert committed_offsets(kafka_bootstrap, group) == {TopicPartition(topic, 0): 6}


def test_transient_errors_are_waited_out_and_a_failing_record_is_dead_lettered_after_bounded_retries(
    kafka_bootstrap, topics, engine
) -> None:
    """Issue 18: a database error is retried for as long as it takes (never a stop); any other
    error fails `max_attempts` times, then the record goes to <topic>.dlq and the partition moves
    on — nothing is skipped without a record."""
    topic = topics("requests", partitions=1)
    rid = str(uuid.uuid4())
    publish(kafka_bootstrap, topic, [event(rid, 1), event(rid, 2), event(rid, 3)])
    failures = {"left": 6}
    handled: list[str] = []

    def flaky(message: EventMessage, record: Any) -> None:
        if message.id.endswith(":1") and failures["left"]:
            failures["left"] -= 1
            raise ConnectionError("database went away")
        if message.id.endswith(":2"):
            raise RuntimeError("a bug: never succeeds")
        handled.append(message.id)

    group = unique("group")
    runtime = ConsumerRuntime(
        settings(kafka_bootstrap, topic, group, max_attempts=3, backoff_initial_s=0.01),
        decode_request_event,
        flaky,
    )
    with running(runtime):
        wait_for(lambda: len(handled) == 2, 30, "the first and third records")
        wait_for(
            lambda: committed_offsets(kafka_bootstrap, group).get(TopicPartition(topic, 0)) == 3,
            30,
            "the commit past all three",
        )
    # more transient failures (6) than max_attempts (3): waited out, not given up on
    assert handled == [f"{rid}:1", f"{rid}:3"]
    assert runtime.stats.retries == 6 + 2  # 6 for the outage, 2 before the bug's record is parked
    assert runtime.stats.dead_lettered == 1
    (dead,) = read_topic(kafka_bootstrap, f"{topic}.dlq", expect=1)
    headers = dict(dead.headers)
    assert headers["original_offset"] == b"1"
    assert b"RuntimeError: a bug: never succeeds" in headers["error"]


@per_record_or_batched
def test_two_consumers_in_one_group_split_the_partitions_and_apply_each_event_once(
    kafka_bootstrap, topics, engine, batched
) -> None:
    topic = topics("requests", partitions=4)
    group = unique("group")
    runtimes = {
        tag: projection_runtime(
            settings(kafka_bootstrap, topic, group, client_id=f"it-{tag}"),
            counting_projection(engine, tag),
            batched,
        )
        for tag in ("a", "b")
    }
    requests = [str(uuid.uuid4()) for _ in range(40)]
    messages = [event(r, v) for r in requests for v in (1, 2, 3)]
    with running(runtimes["a"]), running(runtimes["b"]):

        def split() -> bool:
            owned = [{tp.partition for tp in rt.assignment()} for rt in runtimes.values()]
            return all(owned) and owned[0] | owned[1] == {0, 1, 2, 3} and not owned[0] & owned[1]

        wait_for(split, 60, "both consumers to own partitions")
        publish(kafka_bootstrap, topic, messages)
        publish(kafka_bootstrap, topic, messages[:30])  # a relay re-publication: duplicates
        wait_for(lambda: len({e for e, _ in applied(engine)}) == 120, 30, "all 120 events")
        wait_for(
            lambda: sum(rt.stats.processed for rt in runtimes.values()) >= 150, 30, "duplicates"
        )

    rows = applied(engine)
    per_event = Counter(e for e, _ in rows)
    assert len(per_event) == 120
    assert set(per_event.values()) == {1}, "an event was applied twice"
    by = Counter(tag for _, tag in rows)
    assert by["a"] > 0 and by["b"] > 0, by
    assert runtimes["a"].stats.partitions_seen.isdisjoint(runtimes["b"].stats.partitions_seen)


@per_record_or_batched
def test_sigterm_finishes_the_record_in_hand_commits_and_leaves(
    kafka_bootstrap, topics, engine, batched
) -> None:
    topic, _, group = one_partition_of_events(kafka_bootstrap, topics, 5)
    runtime = projection_runtime(
        settings(kafka_bootstrap, topic, group), counting_projection(engine, "a"), batched
    )
    previous = signal.getsignal(signal.SIGTERM)

    def terminate_when_done() -> None:
        wait_for(lambda: runtime.stats.processed == 5, 30, "five records")
        os.kill(os.getpid(), signal.SIGTERM)

    killer = threading.Thread(target=terminate_when_done, daemon=True)
    killer.start()
    runtime.run()  # on the main thread: installs the SIGTERM handler, returns on the signal
    killer.join(5)
    assert signal.getsignal(signal.SIGTERM) == previous  # restored
    assert runtime._consumer is None  # closed: left the group
    assert committed_offsets(kafka_bootstrap, group) == {TopicPartition(topic, 0): 5}
    assert len(applied(engine)) == 5


def test_a_batch_with_a_message_its_handler_rejects_is_applied_one_at_a_time_around_it(
    kafka_bootstrap, topics, engine
) -> None:
    # given ten events in one partition, the fourth of which the projection rejects as poison
    topic, rid, group = one_partition_of_events(kafka_bootstrap, topics, 10)
    projection = counting_projection(engine, "a", poison=f"{rid}:4")
    runtime = projection_runtime(
        settings(kafka_bootstrap, topic, group, max_poll_records=50), projection, batched=True
    )
    # when the consumer takes them as one batch
    with running(runtime):
        wait_for(lambda: runtime.stats.processed == 10, 30, "all")
    # then the batch's transaction rolled back, and one at a time the nine others were applied
    # exactly once while the rejected one was parked (its record copied to the DLQ); every offset
    # is committed
    assert sorted(e for e, _ in applied(engine)) == sorted(
        f"{rid}:{v}" for v in range(1, 11) if v != 4
    )
    (dead,) = read_topic(kafka_bootstrap, f"{topic}.dlq", expect=1)
    assert dict(dead.headers)["original_offset"] == b"3"
    assert committed_offsets(kafka_bootstrap, group) == {TopicPartition(topic, 0): 10}


LONG_COMMIT_INTERVAL = {"commit_interval_ms": 600_000, "commit_max_records": 10_000}


@per_record_or_batched
def test_offsets_done_are_committed_when_the_consumer_stops_not_after_every_poll(
    kafka_bootstrap, topics, engine, batched
) -> None:
    # given five events and a consumer whose commit interval is far longer than the test
    topic, _, group = one_partition_of_events(kafka_bootstrap, topics, 5)
    runtime = projection_runtime(
        settings(kafka_bootstrap, topic, group, **LONG_COMMIT_INTERVAL),
        counting_projection(engine, "a"),
        batched,
    )
    # when it has applied all five
    with running(runtime):
        wait_for(lambda: runtime.stats.processed == 5, 30, "five records")
        # then nothing is committed yet: an OffsetCommit per poll is what the interval saves
        assert committed_offsets(kafka_bootstrap, group) == {}
    # and stopping commits every offset done
    assert committed_offsets(kafka_bootstrap, group) == {TopicPartition(topic, 0): 5}
    assert len(applied(engine)) == 5


@per_record_or_batched
def test_a_dead_lettered_record_is_committed_at_once_so_a_restart_does_not_dead_letter_it_again(
    kafka_bootstrap, topics, engine, batched
) -> None:
    # given a good event, a poison record, and a consumer with a long commit interval
    topic = topics("requests", partitions=1)
    good = to_kafka(event(str(uuid.uuid4()), 1))
    producer = plain_producer(kafka_bootstrap)
    producer.send(topic, key=good.key, value=good.value, headers=good.headers)
    producer.send(topic, key=good.key, value=b"{not json", headers=good.headers)
    producer.flush(30)
    producer.close()
    group = unique("group")
    runtime = projection_runtime(
        settings(kafka_bootstrap, topic, group, **LONG_COMMIT_INTERVAL),
        counting_projection(engine, "a"),
        batched,
    )
    # when it dead-letters the poison record
    with running(runtime):
        wait_for(lambda: runtime.stats.dead_lettered == 1, 30, "the poison record")
        # then its offset (and the good one's before it) is committed while it still runs
        wait_for(
            lambda: committed_offsets(kafka_bootstrap, group) == {TopicPartition(topic, 0): 2},
            30,
            "the commit past the poison record",
        )
    assert len(read_topic(kafka_bootstrap, f"{topic}.dlq", expect=1)) == 1


def test_a_rebalance_commits_the_offsets_done_before_the_partitions_move(
    kafka_bootstrap, topics, engine
) -> None:
    # given one consumer that applied 12 events on 2 partitions, committing nothing yet
    topic = topics("requests", partitions=2)
    group = unique("group")
    first, second = (
        projection_runtime(
            settings(kafka_bootstrap, topic, group, client_id=f"it-{tag}", **LONG_COMMIT_INTERVAL),
            counting_projection(engine, tag),
            batched=True,
        )
        for tag in ("a", "b")
    )
    publish(kafka_bootstrap, topic, [event(str(uuid.uuid4()), 1) for _ in range(12)])
    with running(first):
        wait_for(lambda: first.stats.processed == 12, 30, "twelve records")
        assert committed_offsets(kafka_bootstrap, group) == {}
        # when a second consumer joins the group and takes one of the partitions
        with running(second):
            wait_for(lambda: len(second.assignment()) == 1, 60, "the second consumer's partition")
            # then the first committed both partitions' offsets when they were revoked
            assert sum(committed_offsets(kafka_bootstrap, group).values()) == 12
        # and the second consumer received none of the records the first had applied
        assert second.stats.processed == 0
    assert len(applied(engine)) == 12
