"""The broker stops for ~30 s while commands keep arriving: no command fails, and once the broker is
back the relay publishes every event.

It stops and restarts a Kafka broker of its own (deploy/kafka/start.sh with its own ports and data
folder, as the chaos suite does), never the shared one, so it runs in any order beside the other
tests. `OUTAGE_KAFKA_PORT` / `OUTAGE_KAFKA_CONTROLLER_PORT` place it (default: free ports).
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Iterator

import pytest

from services.requests.application import open_application
from services.requests.outbox.relay import OutboxRelay
from shared.clock import AdjustableClock
from tests.conftest import START
from tests.factories import open_on_fresh_order
from tests.integration.kafka_fixtures import (
    create_topics,
    read_topic,
    relay_running,
    start_broker,
    stop_broker,
    unique,
    wait_for,
)
from tests.integration.real_processes import free_port

pytest_plugins = ["tests.integration.kafka_fixtures"]
pytestmark = [pytest.mark.kafka, pytest.mark.postgres]

OUTAGE_S = 30


@pytest.fixture(scope="module")
def own_broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    """A single-node broker of this module's own: its env (for start/stop) and its bootstrap."""
    env = {
        "KAFKA_PORT": os.environ.get("OUTAGE_KAFKA_PORT") or str(free_port()),
        "KAFKA_CONTROLLER_PORT": os.environ.get("OUTAGE_KAFKA_CONTROLLER_PORT") or str(free_port()),
        "KAFKA_DATA_DIR": str(tmp_path_factory.mktemp("outage-kafka")),
    }
    try:
        bootstrap = start_broker(env)
        yield {**env, "bootstrap": bootstrap}
    finally:
        stop_broker(env)


def test_commands_keep_succeeding_while_the_broker_is_down_and_every_event_is_published_after(
    own_broker, pg_app, pg_url
) -> None:
    bootstrap = own_broker["bootstrap"]
    topic = unique("requests")
    create_topics(bootstrap, topic)
    relay_app = open_application(pg_url, AdjustableClock(START, frozen=True))  # its own process
    relay = OutboxRelay.for_bootstrap(relay_app, bootstrap, topic=topic, batch_size=50)
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
            stop_commands.wait(0.1)  # a command every 0.1 s until told to stop

    writer = threading.Thread(target=commands, daemon=True)
    try:
        with relay_running(relay):
            writer.start()
            wait_for(lambda: len(expected) >= 5 and relay.lag() == 0, 30, "publishing to work")
            outage_started = time.monotonic()
            stop_broker(own_broker)
            published_before = relay.position()
            outage_left = max(0.0, OUTAGE_S - (time.monotonic() - outage_started))
            time.sleep(outage_left)  # not a wait: the outage lasts its length
            lag_during_outage = relay.lag()
            start_broker(own_broker)
            wait_for(lambda: relay.lag() == 0, 120, "the relay to catch up after the outage")
            stop_commands.set()
            writer.join(10)
            wait_for(lambda: relay.lag() == 0, 60, "the last events")
    finally:
        stop_commands.set()
        relay_app.close()
        relay_app.engine.dispose()

    assert failures == [], f"commands failed during the outage: {failures[:3]}"
    assert lag_during_outage > 50, "commands were recorded while the broker was down"
    assert relay.position() > published_before
    records = read_topic(bootstrap, topic, expect=lambda rs: len(rs) >= len(expected))
    published = {dict(r.headers)["ce_id"].decode() for r in records}
    assert published == expected, f"missing: {sorted(expected - published)[:5]}"
