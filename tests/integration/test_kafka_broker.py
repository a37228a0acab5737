"""A real Apache Kafka broker round trip, with plain kafka-python and nothing of the project's.

The session fixture starts (or reuses) the single-node KRaft broker of deploy/kafka/start.sh. When
the broker cannot be started the test fails: it is never skipped.
"""

from __future__ import annotations

import subprocess
import sys
import time
import uuid
from collections import defaultdict
from collections.abc import Iterator
from pathlib import Path

import pytest
from kafka import KafkaAdminClient, KafkaConsumer, KafkaProducer, TopicPartition

REPO = Path(__file__).resolve().parents[2]
START_SCRIPT = REPO / "deploy" / "kafka" / "start.sh"

pytestmark = pytest.mark.kafka


@pytest.fixture(scope="session")
def kafka_bootstrap() -> Iterator[str]:
    """Bootstrap address of a running local broker; deploy/kafka/start.sh starts it if needed.

    The broker is left running after the session (deploy/kafka/stop.sh stops it), so later runs
    start in well under a second.
    """
    # The start script's budget is 90 s for readiness plus the one-off jar resolution.
    result = subprocess.run(
        ["bash", str(START_SCRIPT)],
        cwd=REPO,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    if result.returncode != 0:
        pytest.fail(
            f"deploy/kafka/start.sh exited {result.returncode}; its output:\n{result.stderr}",
            pytrace=False,
        )
    sys.stderr.write(result.stderr)  # shown with the test's report if it fails later
    bootstrap = result.stdout.strip().splitlines()[-1]
    yield bootstrap


def test_broker_round_trips_keyed_messages_with_headers(kafka_bootstrap: str) -> None:
    run = uuid.uuid4().hex[:12]
    topic = f"it-broker-round-trip-{run}"
    group = f"it-broker-round-trip-{run}"
    keys = [f"request-{n}" for n in range(4)]
    per_key = 5
    # Interleaved so that order within a key is not simply the order of the whole batch.
    sent = [(key, f"{key}:{seq}".encode(), seq) for seq in range(per_key) for key in keys]

    admin = KafkaAdminClient(bootstrap_servers=kafka_bootstrap, client_id=f"it-admin-{run}")
    try:
        admin.create_topics(
            {topic: {"num_partitions": 3, "replication_factor": 1}},
            timeout_ms=30_000,
            wait_for_metadata=True,
        )
        (described,) = admin.describe_topics([topic])
        assert len(described["partitions"]) == 3

        producer = KafkaProducer(
            bootstrap_servers=kafka_bootstrap,
            client_id=f"it-producer-{run}",
            acks="all",
            enable_idempotence=True,
            linger_ms=5,
        )
        partition_of: dict[str, set[int]] = defaultdict(set)
        try:
            futures = [
                producer.send(
                    topic,
                    key=key.encode(),
                    value=value,
                    headers=[
                        ("event-type", b"RoundTripProbe"),
                        ("sequence", str(seq).encode()),
                        ("run", run.encode()),
                    ],
                )
                for key, value, seq in sent
            ]
            producer.flush(timeout=30)
            for (key, _, _), future in zip(sent, futures, strict=True):
                metadata = future.get(timeout=30)
                partition_of[key].add(metadata.partition)
        finally:
            producer.close(timeout=10)
        # The default partitioner hashes the key: one partition per key.
        assert all(len(parts) == 1 for parts in partition_of.values()), partition_of

        consumer = KafkaConsumer(
            topic,
            bootstrap_servers=kafka_bootstrap,
            client_id=f"it-consumer-{run}",
            group_id=group,
            enable_auto_commit=False,
            auto_offset_reset="earliest",
        )
        received = []
        try:
            deadline = time.monotonic() + 60
            while len(received) < len(sent) and time.monotonic() < deadline:
                for records in consumer.poll(timeout_ms=1_000).values():
                    received.extend(records)
            consumer.commit()
            partitions = [TopicPartition(topic, p) for p in range(3)]
            end_offsets = consumer.end_offsets(partitions)
            committed = {tp: consumer.committed(tp) for tp in partitions}
        finally:
            consumer.close()

        assert len(received) == len(sent), f"got {len(received)} of {len(sent)} messages"

        # Keys, values and headers round trip unchanged.
        def as_sent(record) -> tuple[str, bytes, int]:
            headers = dict(record.headers)
            assert headers["event-type"] == b"RoundTripProbe"
            assert headers["run"] == run.encode()
            return record.key.decode(), record.value, int(headers["sequence"])

        assert sorted(as_sent(r) for r in received) == sorted(sent)
        assert all(
            [name for name, _ in r.headers] == ["event-type", "sequence", "run"] for r in received
        )

        # Per key: one partition, and the order in which the messages were produced.
        by_key: dict[str, list[tuple[int, int, int]]] = defaultdict(list)
        for record in received:
            key, _, seq = as_sent(record)
            by_key[key].append((record.partition, record.offset, seq))
        for key in keys:
            records = sorted(by_key[key], key=lambda r: (r[0], r[1]))
            assert {partition for partition, _, _ in records} == partition_of[key]
            assert [seq for _, _, seq in records] == list(range(per_key)), key

        # The manual commit stored the group's position at the end of every partition.
        assert committed == end_offsets
        assert sum(end_offsets.values()) == len(sent)
        group_offsets = admin.list_group_offsets({group: None})[group]
        assert {tp: meta.offset for tp, meta in group_offsets.items()} == end_offsets
    finally:
        try:
            admin.delete_topics([topic], timeout_ms=30_000, raise_errors=False)
        finally:
            admin.close()
