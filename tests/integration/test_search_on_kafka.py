"""The search process on the Kafka adapter (real broker): the composition of
`python -m services.search.main` (create_app with Kafka, its own consumer group) consumes the
request stream the relay publishes into its own tables, and its list query then finds the requests
— the same rows as the embedded feed builds (test_search_projection.py: the handler is the same)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from services.requests.application import RequestsApplication
from services.requests.outbox.relay import OutboxRelay
from services.search.main import create_app as search_app
from services.search.settings import SearchSettings
from shared.auth import TokenCodec
from shared.clock import AdjustableClock
from shared.transport.projection import applied_events
from shared.transport.stream_consumers import StreamOptions
from tests.factories import unique as unique_id
from tests.integration.kafka_fixtures import unique, wait_for
from tests.integration.search_harness import item_state, state_of
from tests.integration.test_published_streams import open_and_refund

pytest_plugins = ["tests.integration.kafka_fixtures"]

pytestmark = [pytest.mark.kafka, pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)]

CODEC = TokenCodec()


def test_search_process_consumes_the_stream_with_its_own_group_and_lists_the_requests(
    kafka_bootstrap: str,
    topics: Any,
    app: RequestsApplication,
    clock: AdjustableClock,
    tmp_path: Path,
) -> None:
    # given a seller's three refunded requests published by the relay
    requests_topic = topics("requests")
    seller = unique_id("seller")
    ids = [open_and_refund(app, seller) for _ in range(3)]
    published = OutboxRelay.for_bootstrap(app, kafka_bootstrap, topic=requests_topic).drain()
    # when the search process runs with its own consumer group
    search = search_app(
        SearchSettings(database_url=f"sqlite:///{tmp_path}/search.db"),
        clock,
        token_codec=CODEC,
        kafka=StreamOptions(kafka_bootstrap, unique("search"), requests_topic),
    )
    with TestClient(search) as client:

        def applied() -> int:
            with client.app.state.search.engine.connect() as conn:
                return len(conn.execute(applied_events.select()).all())

        wait_for(lambda: applied() == published, 45, "search applied every event")
        token = CODEC.encode(sub=seller, role="seller")
        page = client.get(
            "/v1/support-requests",
            params={"sort": "opened_at", "status": "resolved"},
            headers={"Authorization": f"Bearer {token}"},
        ).json()
    # then the seller finds their three requests, in the state the requests service holds
    # (opened at the same frozen instant: the id breaks the tie)
    assert [i["id"] for i in page["items"]] == sorted(ids)
    for item in page["items"]:
        assert item_state(item) == state_of(app, item["id"])
        assert item["waiting_on"] == "nobody"
