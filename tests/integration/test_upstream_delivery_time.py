"""Issue 26, class 9: an `order_delivered` (or a `delivered` scan of the order's shipment) dated
before the order was placed or shipped is a 422 that says why, and nothing is recorded; on time (or
the same instant) it is recorded as before."""

from __future__ import annotations

import pytest

from tests.integration.conftest_http import Api, assert_problem

pytest_plugins = ["tests.integration.conftest_http"]
pytestmark = pytest.mark.filterwarnings("ignore::jwt.warnings.InsecureKeyLengthWarning")


def _delivered(api: Api, order_id: str, at: str):
    return api.call(
        "platform",
        "POST",
        "/v1/upstream/events",
        {"type": "order_delivered", "order_id": order_id, "delivered_at": at},
        sub="orders",
    )


@pytest.mark.parametrize(
    ("delivered_at", "words"),
    [
        ("2026-11-30T10:00:00-05:00", "it was placed at"),  # before placed (12-01 10:00)
        ("2026-12-01T12:00:00-05:00", "it was shipped at"),  # placed, not yet shipped (12-02)
        ("2026-12-02T09:59:59-05:00", "it was shipped at"),
    ],
    ids=["before-placed", "before-shipped", "a-second-before-shipped"],
)
def test_class9_a_delivery_dated_before_placed_or_shipped_is_422_and_not_recorded(
    api: Api, delivered_at: str, words: str
) -> None:
    # Given an order placed 2026-12-01 10:00 and shipped 2026-12-02 10:00 (New York)
    order = api.place_order()
    # When the platform says it was delivered earlier; then 422 says why
    assert_problem(_delivered(api, order["order_id"], delivered_at), 422, detail_contains=words)
    # and the order has no delivery: the real one is still taken
    answer = _delivered(api, order["order_id"], "2026-12-04T15:00:00-05:00")
    assert answer.status_code == 202, answer.text
    assert answer.json()["changed"] is True


def test_class9_a_delivery_at_the_moment_of_shipping_is_recorded(api: Api) -> None:
    # Given an order shipped 2026-12-02 10:00 (New York)
    order = api.place_order()
    # When it is delivered at that very instant
    answer = _delivered(api, order["order_id"], "2026-12-02T15:00:00Z")  # = shipped 10:00 -05:00
    # Then it is accepted as a change, and the order view shows the delivery
    assert answer.status_code == 202, answer.text
    assert answer.json()["changed"] is True
    view = api.call("support", "GET", f"/v1/orders/{order['order_id']}")
    assert view.status_code == 200, view.text
    assert view.json()["shipment"]["delivered_at"] is not None


def test_class9_a_delivered_scan_of_the_shipment_dated_before_it_was_shipped_is_422(
    api: Api,
) -> None:
    # Given an order shipped 2026-12-02 10:00 (New York) with its tracking number
    order = api.place_order()
    tracking = f"9400-{order['order_id'].removeprefix('o-')}"
    scan = {"type": "shipment_scanned", "tracking_number": tracking, "status": "delivered"}
    # When the carrier scans it delivered a day before it shipped; then 422 says why
    early = api.call(
        "platform",
        "POST",
        "/v1/upstream/events",
        {**scan, "at": "2026-12-01T12:00:00-05:00"},
        sub="carrier",
    )
    assert_problem(early, 422, detail_contains="it was shipped at")
    # and the real scan is taken
    later = api.call(
        "platform",
        "POST",
        "/v1/upstream/events",
        {**scan, "at": "2026-12-04T12:00:00-05:00"},
        sub="carrier",
    )
    assert later.status_code == 202, later.text
