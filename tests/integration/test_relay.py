"""The outbox relay against a real broker and PostgreSQL: crash at the worst moment, SIGKILL of the
relay process, lag, per-request order. (The broker outage test,
on a broker of its own, is test_relay_broker_outage.py.)"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections import defaultdict
from typing import Any

import pytest

from services.requests.application import SellerResponse
from services.requests.outbox.relay import OutboxRelay
from shared.envelope import from_kafka
from shared.transport import Projection
from tests.factories import open_on_fresh_order
from tests.integration.kafka_fixtures import (
    REPO,
    read_topic,
    wait_for,
)

pytest_plugins = ["tests.integration.kafka_fixtures"]
pytestmark = [pytest.mark.kafka, pytest.mark.postgres]


class Injected(Exception):
    """The relay dies after the broker acknowledged, before it stored its position."""


def make_events(app, requests: int) -> set[str]:
    """`requests` requests with two events each; returns their ce_ids."""
    ids = set()
    for _ in range(requests):
        opened = open_on_fresh_order(app)
        app.respond(opened.id, opened.seller, SellerResponse(type="partial_refund", amount=100))
        ids |= {f"{opened.id}:1", f"{opened.id}:2"}
    return ids


def assert_complete_and_ordered(records: list[Any], expected: set[str]) -> None:
    """Every event at least once; per request, first deliveries in version order on one partition."""
    ids = [dict(r.headers)["ce_id"].decode() for r in records]
    assert set(ids) == expected, f"missing: {sorted(expected - set(ids))[:5]}"
    first_seen: dict[str, list[int]] = defaultdict(list)
    partitions: dict[str, set[int]] = defaultdict(set)
    seen = set()
    for record in sorted(records, key=lambda r: (r.partition, r.offset)):
        event_id = dict(record.headers)["ce_id"].decode()
        request_id, version = event_id.rsplit(":", 1)
        partitions[request_id].add(record.partition)
        if event_id not in seen:
            seen.add(event_id)
            first_seen[request_id].append(int(version))
    assert all(len(p) == 1 for p in partitions.values())
    assert all(v == sorted(v) for v in first_seen.values())


def test_a_relay_crashing_after_the_ack_but_before_storing_its_position_loses_nothing(
    kafka_bootstrap, topics, pg_app, pg_url_2
) -> None:
    from sqlalchemy import create_engine

    topic = topics("requests")
    expected = make_events(pg_app, 15)  # 30 events

    crashes = {"left": 1}

    def crash_once(position: int) -> None:
        if position > 20 and crashes["left"]:
            crashes["left"] -= 1
            raise Injected(f"killed after publishing up to {position}")

    relay = OutboxRelay.for_bootstrap(
        pg_app, kafka_bootstrap, topic=topic, batch_size=10, after_publish=crash_once
    )
    assert relay.lag() == 30
    relay.run_once()
    relay.run_once()
    with pytest.raises(Injected):
        relay.run_once()  # events 21-30 are on the topic, but the position still says 20
    assert relay.position() == 20
    assert relay.lag() == 10
    relay.close()

    restarted = OutboxRelay.for_bootstrap(pg_app, kafka_bootstrap, topic=topic, batch_size=10)
    assert restarted.drain() == 10  # re-publishes 21-30
    assert restarted.lag() == 0
    restarted.close()

    records = read_topic(kafka_bootstrap, topic, expect=40)
    assert len(records) == 40  # 30 + 10 duplicates
    assert_complete_and_ordered(records, expected)
    by_id: dict[str, list[Any]] = defaultdict(list)
    for record in records:
        by_id[dict(record.headers)["ce_id"].decode()].append(record)
    duplicates = [copies for copies in by_id.values() if len(copies) > 1]
    assert len(duplicates) == 10
    for first, second in duplicates:  # identical records: same ce_id, value, traceparent
        assert first.value == second.value and first.headers == second.headers

    # a consumer dedupes them by ce_id: each event applied once
    engine = create_engine(pg_url_2)
    applied: list[str] = []
    projection = Projection(
        engine, "it-dedupe", lambda messages, conn: applied.extend(m.id for m in messages)
    )
    for record in records:
        projection.apply(from_kafka(record.key, record.value, record.headers))
    assert sorted(applied) == sorted(expected)
    engine.dispose()


def test_a_relay_process_killed_with_sigkill_and_restarted_loses_nothing(
    kafka_bootstrap, topics, pg_app, pg_url
) -> None:
    topic = topics("requests")
    expected = make_events(pg_app, 60)  # 120 events
    command = [
        sys.executable,
        "-m",
        "services.requests.kafka_main",
        "relay",
        "--database-url",
        pg_url,
        "--bootstrap",
        kafka_bootstrap,
        "--topic",
        topic,
        "--batch-size",
        "5",
    ]
    env = {**os.environ, "SUPPORT_LOG_LEVEL": "WARNING"}
    relay = OutboxRelay.for_bootstrap(pg_app, kafka_bootstrap, topic=topic)

    process = subprocess.Popen(command, cwd=REPO, env=env, stderr=subprocess.PIPE)
    try:
        wait_for(lambda: relay.position() >= 40, 30, "the relay to get going")
        process.send_signal(signal.SIGKILL)
        process.wait(10)
    finally:
        if process.poll() is None:
            process.kill()
    killed_at = relay.position()
    assert killed_at < 120, "the relay finished before it was killed; make the stream longer"

    restarted = subprocess.Popen(command, cwd=REPO, env=env, stderr=subprocess.PIPE)
    try:
        wait_for(lambda: relay.lag() == 0, 30, "the restarted relay to catch up")
        restarted.send_signal(signal.SIGTERM)  # graceful stop
        assert restarted.wait(15) == 0
    finally:
        if restarted.poll() is None:
            restarted.kill()
    assert relay.position() == 120
    records = read_topic(kafka_bootstrap, topic, expect=lambda rs: len(rs) >= 120)
    assert_complete_and_ordered(records, expected)
    assert len(records) <= 120 + 5  # at most the batch in flight at the kill is duplicated


def test_lag_is_the_events_not_yet_acknowledged(kafka_bootstrap, topics, pg_app) -> None:
    topic = topics("requests")
    relay = OutboxRelay.for_bootstrap(pg_app, kafka_bootstrap, topic=topic, batch_size=3)
    assert relay.lag() == 0
    assert relay.run_once() == 0
    make_events(pg_app, 2)
    assert relay.lag() == 4
    assert relay.run_once() == 3
    assert relay.lag() == 1
    started = time.monotonic()
    assert relay.drain() == 1
    assert relay.lag() == 0
    assert time.monotonic() - started < 10
    relay.close()
