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
    with pytest.raises(Injected):
        # one pipelined round (issue 30) publishes the three batches back to back: 1-10 and
        # 11-20 acknowledged and stored, 21-30 on the topic but the position still says 20
        relay.run_once()
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


def test_a_pipelined_relay_stores_a_position_only_after_every_batch_up_to_it_was_acknowledged(
    kafka_bootstrap, topics, pg_app
) -> None:
    # given a backlog of five batches, and a relay that dies after the broker acknowledged the
    # second batch, while the third is already read, encoded and handed to the producer (issue 30)
    topic = topics("requests")
    expected = make_events(pg_app, 25)  # 50 events
    stored: list[int] = []

    def crash_at_second(position: int) -> None:
        stored.append(position)
        if position == 20:
            raise Injected("killed with the third batch in flight")

    relay = OutboxRelay.for_bootstrap(
        pg_app, kafka_bootstrap, topic=topic, batch_size=10, after_publish=crash_at_second
    )
    with pytest.raises(Injected):
        relay.run_once()
    relay.close()
    # then only the first batch's position was stored, and a restart publishes everything after it
    assert stored == [10, 20] and relay.position() == 10
    restarted = OutboxRelay.for_bootstrap(pg_app, kafka_bootstrap, topic=topic, batch_size=10)
    assert restarted.drain() == 40
    assert restarted.lag() == 0 and restarted.position() == 50
    restarted.close()
    records = read_topic(
        kafka_bootstrap,
        topic,
        expect=lambda got: {dict(r.headers)["ce_id"].decode() for r in got} >= expected,
        timeout_s=60,
    )
    assert_complete_and_ordered(records, expected)


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
    # at most the batches in flight at the kill are duplicated: two, pipelined (issue 30)
    assert len(records) <= 120 + 2 * 5


def test_lag_is_the_events_not_yet_acknowledged(kafka_bootstrap, topics, pg_app) -> None:
    topic = topics("requests")
    lags: list[int] = []
    relay = OutboxRelay.for_bootstrap(
        pg_app,
        kafka_bootstrap,
        topic=topic,
        batch_size=3,
        after_publish=lambda _position: lags.append(relay.lag()),
    )
    assert relay.lag() == 0
    assert relay.run_once() == 0
    make_events(pg_app, 2)
    assert relay.lag() == 4
    started = time.monotonic()
    # one pipelined round (issue 30) publishes both batches; each batch's acknowledgement is seen
    # before its position is stored: the lag then still counts it
    assert relay.run_once() == 4
    assert lags == [4, 1]
    assert relay.lag() == 0
    assert relay.drain() == 0
    assert time.monotonic() - started < 10
    relay.close()
