"""The broker stops for ~30 s while commands keep arriving: no command fails, and once the broker is
back the relay publishes every event.

It stops and restarts the shared local broker (deploy/kafka/stop.sh / start.sh), so it lives in its
own module named to sort last among the integration tests; it always restarts the broker.
"""

from __future__ import annotations

import threading
import time

import pytest

from services.requests.application import open_application
from services.requests.outbox.relay import OutboxRelay
from shared.clock import AdjustableClock
from tests.conftest import START
from tests.factories import open_on_fresh_order
from tests.integration.kafka_fixtures import (
    read_topic,
    relay_running,
    start_broker,
    stop_broker,
    wait_for,
)

pytest_plugins = ["tests.integration.kafka_fixtures"]
pytestmark = [pytest.mark.kafka, pytest.mark.postgres]

OUTAGE_S = 30


def test_commands_keep_succeeding_while_the_broker_is_down_and_every_event_is_published_after(
    kafka_bootstrap, topics, pg_app, pg_url
) -> None:
    topic = topics("requests")
    relay_app = open_application(pg_url, AdjustableClock(START, frozen=True))  # its own process
    relay = OutboxRelay.for_bootstrap(relay_app, kafka_bootstrap, topic=topic, batch_size=50)
    expected: set[str] = set()
    failures: list[BaseException] = []
    stop_commands = threading.Event()

    def commands() -> None:
        while not stop_commands.is_set():
            try:
                opened = open_on_fresh_order(pg_app)
                expected.add(f"{opened.id}:1")
            except BaseException as error:
                failures.append(error)
            time.sleep(0.1)

    writer = threading.Thread(target=commands, daemon=True)
    try:
        with relay_running(relay):
            writer.start()
            wait_for(lambda: len(expected) >= 5 and relay.lag() == 0, 30, "publishing to work")
            outage_started = time.monotonic()
            stop_broker()
            published_before = relay.position()
            time.sleep(max(0.0, OUTAGE_S - (time.monotonic() - outage_started)))
            lag_during_outage = relay.lag()
            start_broker()
            wait_for(lambda: relay.lag() == 0, 120, "the relay to catch up after the outage")
            stop_commands.set()
            writer.join(10)
            wait_for(lambda: relay.lag() == 0, 60, "the last events")
    finally:
        stop_commands.set()
        start_broker()  # never leave the shared broker down
        relay_app.close()
        relay_app.engine.dispose()

    assert failures == [], f"commands failed during the outage: {failures[:3]}"
    assert lag_during_outage > 50, "commands were recorded while the broker was down"
    assert relay.position() > published_before
    records = read_topic(kafka_bootstrap, topic, expect=lambda rs: len(rs) >= len(expected))
    published = {dict(r.headers)["ce_id"].decode() for r in records}
    assert published == expected, f"missing: {sorted(expected - published)[:5]}"
