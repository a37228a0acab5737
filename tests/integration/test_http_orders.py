"""R63/R64 over HTTP (API.md "Orders (v1 additions)"): the order view and list, and R63's 409s, on
the embedded app (SQLite and PostgreSQL; module-scoped app per backend, see conftest_http.py)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from tests.integration.conftest_http import Api, assert_problem

pytest_plugins = ["tests.integration.conftest_http"]

PAID = 2500 + 500


def _order(api: Api, order: dict, role: str = "buyer", sub: str | None = None) -> dict:
    sub = sub or {"buyer": order["buyer_id"], "seller": order["seller_id"]}.get(role)
    response = api.call(role, "GET", f"/v1/orders/{order['order_id']}", sub=sub)
    assert response.status_code == 200, response.text
    return response.json()


def _reopen(api: Api, order: dict):
    body = {
        "order_id": order["order_id"],
        "item_ids": ["i1"],
        "reason": "defective",
        "description": "Still broken.",
        "photos": [],
    }
    return api.call("buyer", "POST", "/v1/support-requests", body, sub=order["buyer_id"])


def test_r63_a_refunded_item_cannot_be_refunded_again_over_http(api: Api) -> None:
    # given a request answered with a full refund
    state = api.open_request()
    order = state["_order"]
    assert api.as_party(state, "seller", "POST", "/responses", {"type": "full_refund"}).is_success
    # when the buyer opens a second request on the same item
    response = _reopen(api, order)
    # then 409 problem+json naming the earlier request
    assert_problem(response, 409, detail_contains=state["id"])


def test_r63_full_refund_after_partial_refunds_what_is_left_over_http(api: Api) -> None:
    # given an accepted partial refund of 2000
    state = api.open_request()
    order = state["_order"]
    offer = {"type": "partial_refund", "amount": 2000}
    assert api.as_party(state, "seller", "POST", "/responses", offer).is_success
    assert api.as_party(state, "buyer", "POST", "/offer/accept").is_success
    # when a second request is refunded in full
    second = _reopen(api, order)
    assert second.status_code == 201, second.text
    again = {**second.json(), "_order": order}
    too_much = api.as_party(
        again, "seller", "POST", "/responses", {"type": "partial_refund", "amount": 1500}
    )
    assert_problem(too_much, 409, detail_contains="only 1000")
    answered = api.as_party(again, "seller", "POST", "/responses", {"type": "full_refund"})
    # then the buyer got what was left
    assert answered.status_code == 200, answered.text
    assert answered.json()["refund"] == {"amount": PAID - 2000, "currency": "USD"}


def test_r64_the_order_says_per_item_what_was_refunded_and_why_not(api: Api) -> None:
    # given a two-item order: a partial refund of 2000 accepted on i1, and a request open on i2
    order = api.place_order(items=2)
    state = api.open_request(order)
    offer = {"type": "partial_refund", "amount": 2000}
    assert api.as_party(state, "seller", "POST", "/responses", offer).is_success
    assert api.as_party(state, "buyer", "POST", "/offer/accept").is_success
    api.move_clock(advance="PT1M")
    second = api.open_request(order, item_ids=["i2"])
    # when the buyer reads the order
    view = _order(api, order)
    # then each item says what was refunded, what is left and whether help can be asked now
    assert {
        k: view[k] for k in ("order_id", "buyer_id", "seller_id", "currency", "marketplace")
    } == {
        "order_id": order["order_id"],
        "buyer_id": order["buyer_id"],
        "seller_id": order["seller_id"],
        "currency": "USD",
        "marketplace": "US",
    }
    first_item, second_item = view["items"]
    assert first_item == {
        "item_id": "i1",
        "title": "Holo card",
        "price": 2500,
        "refunded": 2000,
        "refundable": 1000,
        "open_request_id": None,
        "can_open_request": True,
        "why_not": None,
        "listing_url": None,
        "video_receipt": None,
    }
    assert second_item["open_request_id"] == second["id"]
    assert second_item["can_open_request"] is False
    assert second["id"] in second_item["why_not"]
    assert (second_item["refunded"], second_item["refundable"]) == (0, PAID)
    assert view["request_ids"] == [state["id"], second["id"]]
    assert view["shipment"]["carrier"] == "USPS"
    assert view["shipment"]["tracking_number"].startswith("9400-")
    assert view["shipment"]["last_scan"] is None
    assert view["cancellation"] is None
    # and the seller, support and the auditor read the same order; a stranger gets 404
    assert _order(api, order, "seller")["items"] == view["items"]
    assert _order(api, order, "support", "agent-1")["items"] == view["items"]
    assert _order(api, order, "auditor", "aud-1")["items"] == view["items"]
    stranger = api.call("buyer", "GET", f"/v1/orders/{order['order_id']}", sub="someone-else")
    assert_problem(stranger, 404)


def test_r64_an_item_refunded_in_full_says_why_no_request_can_be_opened(api: Api) -> None:
    state = api.open_request()
    order = state["_order"]
    assert api.as_party(state, "seller", "POST", "/responses", {"type": "full_refund"}).is_success
    (item,) = _order(api, order)["items"]
    assert (item["refunded"], item["refundable"], item["can_open_request"]) == (PAID, 0, False)
    assert state["id"] in item["why_not"]


def test_r64_the_last_scan_of_the_shipment_is_shown(api: Api) -> None:
    order = api.place_order()
    tracking = _order(api, order)["shipment"]["tracking_number"]
    for status, at in (
        ("accepted", "2026-12-02T12:00:00-05:00"),
        ("in_transit", "2026-12-03T08:00:00-05:00"),
    ):
        api.fact(
            {"type": "shipment_scanned", "tracking_number": tracking, "status": status, "at": at}
        )
    scan = _order(api, order)["shipment"]["last_scan"]
    assert scan["status"] == "in_transit"
    assert scan["at"].startswith("2026-12-03T13:00:00")


def test_r64_orders_are_listed_newest_first_by_role_with_cursors(api: Api) -> None:
    # given a buyer with three orders placed at different times from one seller
    tag = uuid.uuid4().hex[:8]
    buyer, seller = f"lb-{tag}", f"ls-{tag}"
    ids = []
    for day in (3, 1, 2):
        order_id = f"lo-{tag}-{day}"
        ids.append(order_id)
        api.fact(
            {
                "type": "order_placed",
                "order_id": order_id,
                "buyer_id": buyer,
                "seller_id": seller,
                "currency": "USD",
                "placed_at": f"2026-11-0{day}T10:00:00-05:00",
                "marketplace": "US",
                "items": [
                    {
                        "item_id": "i1",
                        "title": "Card",
                        "category": "trading_cards",
                        "price": 100,
                        "seller_payout": 90,
                        "buyer_shipping_paid": 0,
                        "processing_fee": 5,
                    }
                ],
            }
        )
    # when the buyer pages through with limit 2
    first = api.call("buyer", "GET", "/v1/orders?limit=2", sub=buyer).json()
    rest = api.call("buyer", "GET", f"/v1/orders?limit=2&cursor={first['next_cursor']}", sub=buyer)
    # then newest first, no order twice, and the last page has no cursor
    listed = [o["order_id"] for o in first["items"]] + [o["order_id"] for o in rest.json()["items"]]
    assert listed == [f"lo-{tag}-3", f"lo-{tag}-2", f"lo-{tag}-1"]
    assert rest.json()["next_cursor"] is None
    # and the seller sees them as their sales; another buyer sees none of them
    sales = api.call("seller", "GET", "/v1/orders?limit=200", sub=seller).json()
    assert [o["order_id"] for o in sales["items"]] == listed
    other = api.call("buyer", "GET", "/v1/orders", sub=f"nobody-{tag}").json()
    assert other == {"items": [], "next_cursor": None}
    # and a cursor is the caller's own: another caller's, or a made-up one, is 422
    foreign = api.call("buyer", "GET", f"/v1/orders?cursor={first['next_cursor']}", sub="x")
    assert_problem(foreign, 422, detail_contains="cursor")
    assert_problem(api.call("buyer", "GET", "/v1/orders?cursor=@@", sub=buyer), 422)
    assert api.call("platform", "GET", "/v1/orders", sub="p").status_code == 403


def test_r64_the_listing_and_video_receipt_are_shown_to_the_seller_and_support(api: Api) -> None:
    # given an order whose item came with its listing and the show's video-receipt moment
    tag = uuid.uuid4().hex[:8]
    order = {
        "type": "order_placed",
        "order_id": f"vo-{tag}",
        "buyer_id": f"vb-{tag}",
        "seller_id": f"vs-{tag}",
        "currency": "USD",
        "placed_at": "2026-12-01T10:00:00-05:00",
        "marketplace": "US",
        "items": [
            {
                "item_id": "i1",
                "title": "Card",
                "category": "trading_cards",
                "price": 100,
                "seller_payout": 90,
                "buyer_shipping_paid": 0,
                "processing_fee": 5,
                "listing_url": "https://marketplace.example/listings/i1",
                "video_receipt_url": "https://marketplace.example/shows/42#t=1834",
                "video_receipt_at": "2026-12-01T10:00:34-05:00",
            }
        ],
    }
    api.fact(order)
    # when the seller, support and the buyer read the order
    (seen_by_seller,) = _order(api, order, "seller")["items"]
    (seen_by_support,) = _order(api, order, "support", "agent-1")["items"]
    (seen_by_buyer,) = _order(api, order)["items"]
    # then the seller and support see them, the buyer does not
    assert seen_by_seller["listing_url"] == "https://marketplace.example/listings/i1"
    assert seen_by_seller["video_receipt"]["url"] == "https://marketplace.example/shows/42#t=1834"
    moment = datetime.fromisoformat(seen_by_seller["video_receipt"]["at"])
    assert moment == datetime(2026, 12, 1, 15, 0, 34, tzinfo=UTC)
    assert seen_by_support == seen_by_seller
    assert (seen_by_buyer["listing_url"], seen_by_buyer["video_receipt"]) == (None, None)
    # and a request still opens on the item; the same order sent again is no contradiction
    api.fact(order)
    opened = api.open_request(order)
    assert opened["item_ids"] == ["i1"]


def test_r64_a_listing_url_that_is_not_https_is_refused_at_the_door(api: Api) -> None:
    tag = uuid.uuid4().hex[:8]
    fact = {
        "type": "order_placed",
        "order_id": f"bad-{tag}",
        "buyer_id": "b",
        "seller_id": "s",
        "currency": "USD",
        "placed_at": "2026-12-01T10:00:00-05:00",
        "items": [
            {
                "item_id": "i1",
                "title": "Card",
                "category": "c",
                "price": 1,
                "seller_payout": 1,
                "buyer_shipping_paid": 0,
                "processing_fee": 0,
                "listing_url": "javascript:alert(1)",
            }
        ],
    }
    response = api.call("platform", "POST", "/v1/upstream/events", fact, sub="orders")
    assert_problem(response, 422, detail_contains="listing_url")
