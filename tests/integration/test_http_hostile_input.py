"""Issue 18, the hostile-input side: every value bounded at the door (class 1 amounts and paging,
class 2 times, class 4 ids), upstream facts read tolerantly but strictly on meaning (class 3).

Each test sends the embedded app (SQLite and PostgreSQL) one hostile value and checks the answer is a
problem document naming the field, never a 500, and that an accepted boundary value really works.
"""

from __future__ import annotations

import json
import time
import uuid
from typing import Any

import pytest

from services.embedded import pump_projections
from shared.bounds import MAX_AMOUNT, MAX_OFFSET, MAX_POSITION
from tests.integration.conftest_http import Api, assert_problem

pytest_plugins = ["tests.integration.conftest_http"]
pytestmark = pytest.mark.filterwarnings("ignore::jwt.warnings.InsecureKeyLengthWarning")

FACTS = "/v1/upstream/events"


def _order(**item: Any) -> dict[str, Any]:
    tag = uuid.uuid4().hex[:10]
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
                "title": "Holo card",
                "category": "trading_cards",
                "price": 2500,
                "seller_payout": 2200,
                "buyer_shipping_paid": 500,
                "processing_fee": 103,
                **item,
            }
        ],
    }


def _post_fact(api: Api, fact: dict[str, Any]) -> Any:
    return api.call("platform", "POST", FACTS, fact, sub="orders")


# --- class 1: unbounded integers ------------------------------------------------------------------


@pytest.mark.parametrize(
    "field", ["price", "seller_payout", "buyer_shipping_paid", "processing_fee"]
)
@pytest.mark.parametrize("value", [2**63, 2**63 - 1, MAX_AMOUNT + 1, -1])
def test_class1_order_amount_out_of_range_is_422_naming_the_field(
    api: Api, field: str, value: int
) -> None:
    assert_problem(_post_fact(api, _order(**{field: value})), 422, detail_contains=field)


def test_class1_largest_amount_is_accepted_and_charged(api: Api) -> None:
    # given an order whose one item costs the largest amount the door accepts, shipped
    order = _order(price=MAX_AMOUNT, seller_payout=MAX_AMOUNT, buyer_shipping_paid=0)
    assert _post_fact(api, order).status_code == 202
    shipped = {
        "type": "order_shipped",
        "order_id": order["order_id"],
        "carrier": "USPS",
        "tracking_number": f"9400-{order['order_id']}",
        "shipped_at": "2026-12-02T10:00:00-05:00",
        "insured_value": 10_000,
    }
    assert _post_fact(api, shipped).status_code == 202
    # when the buyer asks for help and the seller refunds in full without a return
    state = api.open_request(order)
    refunded = api.as_party(state, "seller", "POST", "/responses", {"type": "full_refund"})
    assert refunded.status_code == 200, refunded.text
    pump_projections(api.client.app)
    # then the seller's ledger holds the R30 charge, exact to the cent, and its balance
    seller = order["seller_id"]
    ledger = api.call("seller", "GET", f"/v1/sellers/{seller}/ledger", sub=seller).json()
    charge = MAX_AMOUNT + 103
    assert [(e["kind"], e["amount"]) for e in ledger["entries"]] == [("refund_no_return", -charge)]
    assert ledger["balance"]["amount"] == -charge


def test_class1_order_total_beyond_the_bound_is_422(api: Api) -> None:
    order = _order(price=MAX_AMOUNT)
    order["items"].append({**order["items"][0], "item_id": "i2"})
    assert_problem(_post_fact(api, order), 422, detail_contains="total price")


def test_class1_partial_refund_of_2_pow_63_minus_1_is_422_naming_amount(api: Api) -> None:
    state = api.open_request()
    offer = {"type": "partial_refund", "amount": 2**63 - 1}
    assert_problem(
        api.as_party(state, "seller", "POST", "/responses", offer), 422, detail_contains="amount"
    )


@pytest.mark.parametrize(
    ("fact", "field"),
    [
        (
            {
                "type": "claim_paid",
                "tracking_number": "t1",
                "amount": 2**64,
                "at": "2026-12-05T12:00:00Z",
            },
            "amount",
        ),
        (
            {
                "type": "order_shipped",
                "order_id": "o1",
                "carrier": "USPS",
                "tracking_number": "t1",
                "shipped_at": "2026-12-05T12:00:00Z",
                "insured_value": MAX_AMOUNT + 1,
            },
            "insured_value",
        ),
        (
            {
                "type": "return_label_created",
                "request_id": "r1",
                "tracking_number": "t1",
                "label_cost": 2**63,
                "at": "2026-12-05T12:00:00Z",
            },
            "label_cost",
        ),
    ],
)
def test_class1_fact_amounts_out_of_range_are_422(
    api: Api, fact: dict[str, Any], field: str
) -> None:
    assert_problem(_post_fact(api, fact), 422, detail_contains=field)


@pytest.mark.parametrize("offset", [str(2**64), str(MAX_OFFSET + 1), "-1"])
def test_class1_ledger_offset_beyond_bound_is_422(api: Api, offset: str) -> None:
    response = api.call("support", "GET", f"/v1/sellers/s1/ledger?offset={offset}", sub="agent")
    assert_problem(response, 422, detail_contains="offset")


@pytest.mark.parametrize("before", [str(2**64), str(MAX_POSITION + 1), "-1"])
def test_class1_notifications_before_beyond_bound_is_422(api: Api, before: str) -> None:
    response = api.call("buyer", "GET", f"/v1/users/b1/notifications?before={before}", sub="b1")
    assert_problem(response, 422, detail_contains="before")


def test_class1_last_event_id_beyond_64_bits_is_422(api: Api) -> None:
    response = api.call(
        "buyer",
        "GET",
        "/v1/users/b1/notifications/stream",
        sub="b1",
        **{"Last-Event-ID": str(2**64)},
    )
    assert_problem(response, 422, detail_contains="Last-Event-ID")


# --- class 2: unbounded times ---------------------------------------------------------------------


@pytest.mark.parametrize(
    "at",
    [
        "9999-12-31T23:59:59Z",
        "2200-01-01T00:00:00Z",
        "1999-12-31T23:59:59Z",
        "2026-12-05T12:00:00",  # naive
        1764936000,  # an integer epoch
        "1764936000",  # an epoch in a string, which pydantic alone would read as one
        "2026-12-05",
    ],
)
def test_class2_scan_time_out_of_range_or_without_offset_is_422_naming_at(
    api: Api, at: Any
) -> None:
    scan = {"type": "shipment_scanned", "tracking_number": "t1", "status": "accepted", "at": at}
    assert_problem(_post_fact(api, scan), 422, detail_contains="at")


def test_class2_order_placed_in_year_9999_is_422(api: Api) -> None:
    order = {**_order(), "placed_at": "9999-12-31T00:00:00+00:00"}
    assert_problem(_post_fact(api, order), 422, detail_contains="placed_at")


@pytest.mark.parametrize("as_of", ["9999-12-31T00:00:00Z", "1970-01-01T00:00:00Z"])
def test_class2_as_of_out_of_range_is_422(api: Api, as_of: str) -> None:
    state = api.open_request()
    response = api.call(
        "support", "GET", f"/v1/support-requests/{state['id']}?as_of={as_of}", sub="agent"
    )
    assert_problem(response, 422, detail_contains="as_of")


def test_class2_ledger_since_out_of_range_is_422(api: Api) -> None:
    response = api.call(
        "support", "GET", "/v1/sellers/s1/ledger?since=9999-01-01T00:00:00Z", sub="agent"
    )
    assert_problem(response, 422, detail_contains="since")


# --- class 3: facts that contradict recorded facts ------------------------------------------------


def test_class3_unknown_fields_in_an_upstream_fact_are_ignored(api: Api) -> None:
    order = _order(warehouse="NL-3")
    order["loyalty_tier"] = "gold"
    assert _post_fact(api, order).status_code == 202
    again = _post_fact(api, order)
    assert again.status_code == 200 and again.json()["changed"] is False


def test_class3_client_commands_stay_strict_about_unknown_fields(api: Api) -> None:
    state = api.open_request()
    body = {"type": "full_refund", "surprise": True}
    assert_problem(
        api.as_party(state, "seller", "POST", "/responses", body), 422, detail_contains="surprise"
    )


def test_class3_order_with_two_items_of_the_same_id_is_422(api: Api) -> None:
    order = _order()
    order["items"].append({**order["items"][0], "price": 1})
    assert_problem(_post_fact(api, order), 422, detail_contains="i1")


def test_class3_order_placed_again_with_another_payout_is_409_naming_it(api: Api) -> None:
    order = _order()
    assert _post_fact(api, order).status_code == 202
    changed = {**order, "items": [{**order["items"][0], "seller_payout": 1}]}
    assert_problem(_post_fact(api, changed), 409, detail_contains="seller_payout")


def test_class3_second_order_shipped_with_another_tracking_number_is_409(api: Api) -> None:
    order = api.place_order()
    shipped = {
        "type": "order_shipped",
        "order_id": order["order_id"],
        "carrier": "USPS",
        "service": "ground_advantage",
        "tracking_number": f"other-{order['order_id']}",
        "shipped_at": "2026-12-02T10:00:00-05:00",
        "insured_value": 10000,
    }
    problem = assert_problem(_post_fact(api, shipped), 409, detail_contains="tracking_number")
    assert order["order_id"] in problem["detail"]


def test_class3_exact_duplicate_order_shipped_stays_a_200_no_op(api: Api) -> None:
    order = api.place_order()
    tag = order["order_id"].removeprefix("o-")
    shipped = {
        "type": "order_shipped",
        "order_id": order["order_id"],
        "carrier": "USPS",
        "service": "ground_advantage",
        "tracking_number": f"9400-{tag}",
        "shipped_at": "2026-12-02T10:00:00-05:00",
        "insured_value": 10000,
        "extra_protection": False,
    }
    again = _post_fact(api, shipped)
    assert again.status_code == 200 and again.json()["changed"] is False


def test_class3_return_label_created_again_with_another_cost_is_409(api: Api) -> None:
    state = api.open_request()
    api.as_party(state, "seller", "POST", "/responses", {"type": "full_refund_with_return"})
    label = {
        "type": "return_label_created",
        "request_id": state["id"],
        "tracking_number": f"RET-{state['id']}",
        "label_cost": 450,
        "at": api.now(),
    }
    assert api.fact(label).status_code == 202
    assert api.fact(label).status_code == 200
    problem = assert_problem(
        _post_fact(api, {**label, "label_cost": 9999}), 409, detail_contains="label_cost"
    )
    assert "450" in problem["detail"] and "9999" in problem["detail"]
    shown = api.as_party(state, "seller", "GET").json()
    assert shown["return"]["label_cost"] == 450


# --- class 4: ids that can never be looked up -----------------------------------------------------


@pytest.mark.parametrize("order_id", ["a/b", "has space", "", "x" * 129, "-leading-dash", "é"])
def test_class4_order_id_outside_the_safe_alphabet_is_422(api: Api, order_id: str) -> None:
    assert_problem(
        _post_fact(api, {**_order(), "order_id": order_id}), 422, detail_contains="order_id"
    )


def test_class4_every_accepted_order_id_can_be_looked_up(api: Api) -> None:
    order = _order()
    order["order_id"] = f"A.b_c:d@e-{uuid.uuid4().hex[:8]}"
    assert _post_fact(api, order).status_code == 202
    found = api.call(
        "buyer", "GET", f"/v1/orders/{order['order_id']}/support-request", sub=order["buyer_id"]
    )
    assert found.status_code == 200 and found.json() == []


# --- class 4: tokens whose claims are out of range ------------------------------------------------


@pytest.mark.parametrize(
    "exp",
    [10**400, "99999999999", "soon", True, 2**63, 1e300, -1, None],
    ids=["10^400", "string-digits", "string", "bool", "2^63", "1e300", "negative", "null"],
)
def test_class4_signed_token_with_an_unusable_exp_is_401_problem(api: Api, exp: Any) -> None:
    import jwt

    now = int(time.time())
    claims = {"sub": "orders", "role": "platform", "iat": now, "exp": exp}
    # PyJWT refuses to encode some of these itself: sign the raw JSON as a hostile client would.
    header = {"alg": "HS256", "typ": "JWT"}
    payload = json.dumps(claims).encode()
    token = jwt.api_jws.PyJWS().encode(payload, api.codec.secret, "HS256", header)
    response = api.client.post(FACTS, json=_order(), headers={"Authorization": f"Bearer {token}"})
    assert_problem(response, 401, detail_contains="token")


def test_class4_signed_token_with_a_huge_iat_is_401_problem(api: Api) -> None:
    import jwt

    claims = {"sub": "orders", "role": "platform", "iat": 10**400, "exp": int(time.time()) + 60}
    token = jwt.api_jws.PyJWS().encode(
        json.dumps(claims).encode(), api.codec.secret, "HS256", {"alg": "HS256", "typ": "JWT"}
    )
    response = api.client.post(FACTS, json=_order(), headers={"Authorization": f"Bearer {token}"})
    assert_problem(response, 401)


@pytest.mark.parametrize(
    "path",
    ["/v1/sellers/{}/ledger", "/v1/sellers/{}/support-rating", "/v1/orders/{}/support-request"],
)
def test_class4_path_ids_outside_the_safe_alphabet_are_422(api: Api, path: str) -> None:
    response = api.call("support", "GET", path.format("bad%20id"), sub="agent")
    assert_problem(response, 422)
    response = api.call("support", "GET", path.format("x" * 129), sub="agent")
    assert_problem(response, 422)
