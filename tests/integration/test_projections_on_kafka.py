"""The ratings and notifications processes on the Kafka adapter (real broker): the compositions of
`python -m services.ratings.main` / `python -m services.notifications.main` (create_app with Kafka)
consume the request stream the relay publishes; the ratings process also publishes its rating
changes to `seller-support.ratings.v1`. The rules themselves are tested on the embedded feed
(test_ratings_projection.py, test_notifications_*.py): the handlers are the same."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from services.notifications.main import create_app as notifications_app
from services.notifications.settings import NotificationsSettings
from services.ratings.main import create_app as ratings_app
from services.ratings.settings import RatingsSettings
from services.requests.application import RequestsApplication
from services.requests.outbox.relay import OutboxRelay
from shared.auth import TokenCodec
from shared.clock import AdjustableClock
from shared.contracts.ratings_v1 import EVENT_TYPE
from shared.envelope import from_kafka_record
from shared.transport.projection import applied_events
from shared.transport.stream_consumers import StreamOptions
from tests.factories import unique as unique_id
from tests.integration.kafka_fixtures import read_topic, unique, wait_for
from tests.integration.test_published_streams import open_and_refund

pytest_plugins = ["tests.integration.kafka_fixtures"]

pytestmark = [pytest.mark.kafka, pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)]

CODEC = TokenCodec()


def test_ratings_and_notifications_processes_consume_the_stream_and_ratings_publish_changes(
    kafka_bootstrap: str,
    topics: Any,
    app: RequestsApplication,
    clock: AdjustableClock,
    tmp_path: Path,
) -> None:
    requests_topic, ratings_topic = topics("requests"), topics("ratings")
    seller = unique_id("seller")
    for _ in range(10):  # R40: the rating becomes visible with the 10th request
        open_and_refund(app, seller)
    published = OutboxRelay.for_bootstrap(app, kafka_bootstrap, topic=requests_topic).drain()
    ratings = ratings_app(
        RatingsSettings(database_url=f"sqlite:///{tmp_path}/ratings.db"),
        clock,  # the business clock the requests were made on (the process's is the system's)
        token_codec=CODEC,
        kafka=StreamOptions(kafka_bootstrap, unique("ratings"), requests_topic),
        ratings_topic=ratings_topic,
    )
    notifications = notifications_app(
        NotificationsSettings(
            database_url=f"sqlite:///{tmp_path}/notifications.db",
            smtp_url="smtp://127.0.0.1:9",  # nothing listens: mail stays in the outbox
        ),
        token_codec=CODEC,
        kafka=StreamOptions(kafka_bootstrap, unique("notifications"), requests_topic),
    )
    with TestClient(ratings) as r_client, TestClient(notifications) as n_client:

        def applied(client: TestClient, state: str) -> int:
            engine = getattr(client.app.state, state).engine
            with engine.connect() as conn:
                return len(conn.execute(applied_events.select()).all())

        wait_for(lambda: applied(r_client, "ratings") == published, 45, "ratings applied all")
        wait_for(
            lambda: applied(n_client, "notifications") == published, 45, "notifications applied"
        )
        token = CODEC.encode(sub="buyer-x", role="buyer")
        view = r_client.get(
            f"/v1/sellers/{seller}/support-rating", headers={"Authorization": f"Bearer {token}"}
        ).json()
        assert view == {
            "visible": True,
            "level": "excellent",
            "window": "90_days",
            "requests_considered": 10,
        }
        records = read_topic(kafka_bootstrap, ratings_topic, expect=1, timeout_s=45)
        wait_for(lambda: r_client.app.state.ratings.pending_changes() == [], 10, "outbox marked")
    [record] = records
    change = from_kafka_record(record.key, record.value, record.headers, expected_type=EVENT_TYPE)
    assert change.key == change.subject == seller
    assert (change.data["visible"], change.data["level"], change.data["sequence"]) == (
        True,
        "excellent",
        1,
    )
