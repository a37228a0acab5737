"""Reading your own writes in distributed mode (issue 27; shared/consistency.py): the search process
fed from the real broker answers a list read given a command's `Consistency-Token` only once it has
applied that command's event: before, it holds the read (bounded) and then answers 503 with
Retry-After; after, the read shows the command's effect."""

from __future__ import annotations

import time
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
from shared.transport.stream_consumers import StreamOptions
from tests.factories import unique as unique_id
from tests.integration.kafka_fixtures import unique
from tests.integration.test_published_streams import open_and_refund

pytest_plugins = ["tests.integration.kafka_fixtures"]

pytestmark = [pytest.mark.kafka, pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)]

CODEC = TokenCodec()


def test_issue27_a_list_read_with_the_token_waits_for_the_kafka_fed_projection(
    kafka_bootstrap: str,
    topics: Any,
    app: RequestsApplication,
    clock: AdjustableClock,
    tmp_path: Path,
) -> None:
    # given a seller's refunded request, whose last event is version 2, not yet published
    requests_topic = topics("requests")
    seller = unique_id("seller")
    request_id = open_and_refund(app, seller)
    token = f"{request_id}:{app.get_request(request_id, _auditor()).version}"
    search = search_app(
        SearchSettings(database_url=f"sqlite:///{tmp_path}/search.db"),
        clock,
        token_codec=CODEC,
        kafka=StreamOptions(kafka_bootstrap, unique("search"), requests_topic),
    )
    headers = {
        "Authorization": f"Bearer {CODEC.encode(sub=seller, role='seller')}",
        "Consistency-Token": token,
    }
    with TestClient(search) as client:
        # when the seller reads the list with the token before the event is on the broker
        held = client.get("/v1/support-requests", headers=headers)
        # then the read is held, then refused with Retry-After
        assert held.status_code == 503 and held.headers["Retry-After"] == "1"
        # when the relay publishes, and the seller retries as told
        OutboxRelay.for_bootstrap(app, kafka_bootstrap, topic=requests_topic).drain()
        deadline = time.monotonic() + 60
        while (page := client.get("/v1/support-requests", headers=headers)).status_code == 503:
            assert time.monotonic() < deadline, "the search process never applied the event"
            time.sleep(float(page.headers["Retry-After"]))
    # then the answer shows the refund the token stood for
    assert page.status_code == 200, page.text
    (item,) = page.json()["items"]
    assert (item["id"], item["status"], item["version"]) == (request_id, "resolved", 2)


def _auditor() -> Any:
    from services.requests.application import Actor

    return Actor("auditor", "auditor-1")
