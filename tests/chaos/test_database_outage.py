"""Issue 18, class 8: a PostgreSQL outage longer than the old 5 attempts (~3 s) is waited out by a
projection's Kafka consumer — it neither exits nor skips — and it resumes by itself once the database
is back, applying every event exactly once. The database is a cluster of the suite's own (stopped
and started here); the broker is the shared one, never stopped."""

from __future__ import annotations

import threading
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

import pytest
from kafka import KafkaAdminClient, KafkaProducer
from kafka.admin import NewTopic
from sqlalchemy import Column, MetaData, String, Table, func, insert, select

from shared.database import create_projection_engine
from shared.envelope import to_kafka
from shared.transport.consumer import ConsumerSettings
from shared.transport.messages import EventMessage
from shared.transport.projection import Projection
from shared.transport.stream_consumers import projection_runtime
from tests.chaos.system import REPO, ChaosConfig, ChaosSystem

pytest_plugins = ["tests.integration.kafka_fixtures"]
pytestmark = [pytest.mark.kafka, pytest.mark.postgres]

OUTAGE_S = 8.0

rows_metadata = MetaData()
applied_rows = Table("chaos_applied_rows", rows_metadata, Column("event_id", String(200)))


def event(request_id: str, version: int) -> EventMessage:
    at = datetime(2026, 12, 7, 19, 0, tzinfo=UTC)
    return EventMessage(
        id=f"{request_id}:{version}",
        name="offer_lapsed",
        subject=request_id,
        time=at,
        data={
            "request_id": request_id,
            "version": version,
            "at": at.isoformat(),
            "actor": "system",
        },
    )


@pytest.fixture
def own_postgres() -> ChaosSystem:
    run_dir = REPO / "var" / "chaos" / f"db-outage-{uuid.uuid4().hex[:6]}"
    run_dir.mkdir(parents=True)
    system = ChaosSystem(ChaosConfig(Path(run_dir)))
    system.start_postgres()
    try:
        yield system
    finally:
        system.drop_postgres()


def test_a_consumer_waits_out_a_database_outage_and_applies_every_event_once(
    own_postgres: ChaosSystem, kafka_bootstrap: str
) -> None:
    # given a projection on the suite's own PostgreSQL, consuming a fresh topic of the shared broker
    # the engine the projection services use (shared/database.py)
    engine = create_projection_engine(own_postgres.config.database_url("ledger"))
    rows_metadata.create_all(engine)

    def handle(messages: list[EventMessage], conn) -> None:
        conn.execute(insert(applied_rows), [{"event_id": m.id} for m in messages])

    projection = Projection(engine, "chaos-outage", handle)
    topic = f"chaos-outage-{uuid.uuid4().hex[:8]}"
    admin = KafkaAdminClient(bootstrap_servers=kafka_bootstrap)
    admin.create_topics([NewTopic(topic, 1, 1)])
    producer = KafkaProducer(bootstrap_servers=kafka_bootstrap, acks="all", linger_ms=0)
    request = str(uuid.uuid4())

    def publish(versions: range) -> None:
        for version in versions:
            record = to_kafka(event(request, version))
            producer.send(topic, key=record.key, value=record.value, headers=record.headers)
        producer.flush(30)

    runtime = projection_runtime(
        ConsumerSettings(
            bootstrap_servers=kafka_bootstrap,
            topics=[topic],
            group_id=f"chaos-outage-{uuid.uuid4().hex[:8]}",
            poll_timeout_ms=100,
        ),
        projection,
    )
    failures: list[BaseException] = []
    thread = runtime.start_thread(failures.append)

    def applied() -> int:
        try:
            with engine.connect() as conn:
                return conn.execute(select(func.count()).select_from(applied_rows)).scalar_one()
        except Exception:
            return -1

    try:
        publish(range(1, 21))
        deadline = time.monotonic() + 60
        while applied() < 20 and time.monotonic() < deadline:
            time.sleep(0.2)
        assert applied() == 20
        # when the database stops for longer than the old 5 attempts lasted, while events arrive
        own_postgres.pg_stop()
        publisher = threading.Thread(target=publish, args=(range(21, 61),))
        publisher.start()
        time.sleep(OUTAGE_S)  # not a wait: the outage lasts its length
        publisher.join(30)
        # then the consumer is still there, waiting (it neither stopped nor skipped)
        assert thread.is_alive() and failures == []
        assert runtime.stats.retries > 0
        own_postgres.pg_start()
        # and once the database is back it applies every event, each exactly once
        deadline = time.monotonic() + 120
        while applied() < 60 and time.monotonic() < deadline:
            time.sleep(0.5)
        with engine.connect() as conn:
            ids = conn.execute(select(applied_rows.c.event_id)).scalars().all()
        assert sorted(ids) == sorted(f"{request}:{v}" for v in range(1, 61))
        assert failures == []
    finally:
        runtime.request_stop()
        thread.join(30)
        producer.close()
        admin.delete_topics([topic])
        admin.close()
        engine.dispose()
