"""Issue 18, class 11: a database outage answers 503 problem+json with `Retry-After`, not a 500.

The real requests API process (distributed mode's `services.requests.kafka_main api`) runs on a
PostgreSQL cluster of this test's own (tests/integration/real_processes.py); the test stops that
cluster under it, checks what clients get, starts it again and checks the API recovers by itself.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator

import httpx
import pytest

from shared.auth import TokenCodec
from tests.integration.real_processes import OwnCluster, Server, own_postgres_cluster, requests_api

pytestmark = pytest.mark.filterwarnings("ignore::jwt.warnings.InsecureKeyLengthWarning")


@pytest.fixture(scope="module")
def cluster() -> Iterator[OwnCluster]:
    with own_postgres_cluster() as own:
        yield own


@pytest.fixture(scope="module")
def api(cluster: OwnCluster, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    server = requests_api(tmp_path_factory.mktemp("outage"), cluster.url).start()
    try:
        yield server
    finally:
        server.stop()


def _auth(role: str, sub: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {TokenCodec().encode(sub=sub, role=role)}"}


def _order() -> dict[str, object]:
    tag = uuid.uuid4().hex[:8]
    return {
        "type": "order_placed",
        "order_id": f"o-{tag}",
        "buyer_id": f"b-{tag}",
        "seller_id": f"s-{tag}",
        "currency": "USD",
        "placed_at": "2026-12-01T10:00:00-05:00",
        "items": [
            {
                "item_id": "i1",
                "title": "card",
                "category": "cards",
                "price": 2500,
                "seller_payout": 2200,
                "buyer_shipping_paid": 500,
                "processing_fee": 103,
            }
        ],
    }


def _assert_503(response: httpx.Response) -> None:
    assert response.status_code == 503, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    assert int(response.headers["retry-after"]) > 0
    problem = response.json()
    assert problem["status"] == 503
    assert problem["type"] == "urn:seller-support:problem:dependency-unavailable"
    assert "database" in problem["detail"]


def test_class11_database_outage_is_503_problem_with_retry_after_then_recovers(
    api: Server, cluster: OwnCluster
) -> None:
    # given a running API on its own database
    platform = _auth("platform", "orders")
    before = _order()
    assert (
        httpx.post(f"{api.base}/v1/upstream/events", json=before, headers=platform).status_code
        == 202
    )
    # when the database stops under it
    cluster.stop()
    try:
        command = httpx.post(
            f"{api.base}/v1/upstream/events", json=_order(), headers=platform, timeout=30
        )
        keyed = httpx.post(
            f"{api.base}/v1/upstream/events",
            json=_order(),
            headers={**platform, "Idempotency-Key": "outage-1"},
            timeout=30,
        )
        lookup = httpx.get(
            f"{api.base}/v1/orders/{before['order_id']}/support-request",
            headers=_auth("buyer", str(before["buyer_id"])),
            timeout=30,
        )
        ready = httpx.get(f"{api.base}/readyz", timeout=30)
    finally:
        cluster.start()
    # then every call answers 503 problem+json with Retry-After, and /readyz says not ready
    _assert_503(command)
    _assert_503(keyed)
    _assert_503(lookup)
    assert ready.status_code == 503
    # and once the database is back the same API serves again without a restart
    deadline = time.monotonic() + 30
    while True:
        again = httpx.post(f"{api.base}/v1/upstream/events", json=_order(), headers=platform)
        if again.status_code == 202 or time.monotonic() > deadline:
            break
        time.sleep(0.5)
    assert again.status_code == 202, again.text
    assert api.process is not None and api.process.poll() is None
