"""Every support-request endpoint of API.md over HTTP, with each status code it names.

Runs on SQLite and PostgreSQL (module-scoped app per backend, see conftest_http.py).
"""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from services.embedded import pump_projections
from tests.integration.conftest_http import START, Api, assert_problem

pytest_plugins = ["tests.integration.conftest_http"]
pytestmark = pytest.mark.filterwarnings("ignore::jwt.warnings.InsecureKeyLengthWarning")


# --- opening and reading (R4-R9, R62) -------------------------------------------------------------


def test_r4_open_answers_201_with_state_fields_and_location(api: Api) -> None:
    state = api.open_request()
    assert state["status"] == "awaiting_seller"
    assert state["item_ids"] == ["i1"]
    assert state["resolution"] is None and state["escalated"] is False
    assert set(state["deadlines"]) >= {
        "seller_response",
        "offer_answer",
        "return_dropoff",
        "return_inspection",
        "replacement_ship",
    }
    assert state["offer"] is None and state["return"] is None and state["refund"] is None
    # Times are ISO 8601 with an offset.
    assert datetime.fromisoformat(state["opened_at"]).utcoffset() is not None
    assert datetime.fromisoformat(state["deadlines"]["seller_response"]) > START
    got = api.as_party(state, "buyer", "GET")
    assert got.status_code == 200
    assert got.json()["id"] == state["id"]


def test_open_location_header_points_at_the_request(api: Api) -> None:
    order = api.place_order()
    body = {
        "order_id": order["order_id"],
        "item_ids": ["i1"],
        "reason": "defective",
        "description": "broken",
    }
    response = api.call("buyer", "POST", "/v1/support-requests", body, sub=order["buyer_id"])
    assert response.status_code == 201
    assert response.headers["location"] == f"/v1/support-requests/{response.json()['id']}"


def test_r9_second_open_request_on_the_same_item_is_409(api: Api) -> None:
    state = api.open_request()
    order = state["_order"]
    body = {
        "order_id": order["order_id"],
        "item_ids": ["i1"],
        "reason": "defective",
        "description": "again",
    }
    response = api.call("buyer", "POST", "/v1/support-requests", body, sub=order["buyer_id"])
    assert_problem(response, 409, detail_contains="already")


def test_r9_order_of_another_buyer_is_404(api: Api) -> None:
    order = api.place_order()
    body = {
        "order_id": order["order_id"],
        "item_ids": ["i1"],
        "reason": "defective",
        "description": "not mine",
    }
    response = api.call("buyer", "POST", "/v1/support-requests", body, sub="someone-else")
    assert_problem(response, 404)


def test_unknown_items_are_422_naming_them(api: Api) -> None:
    order = api.place_order()
    body = {
        "order_id": order["order_id"],
        "item_ids": ["nope"],
        "reason": "defective",
        "description": "x",
    }
    response = api.call("buyer", "POST", "/v1/support-requests", body, sub=order["buyer_id"])
    assert_problem(response, 422, detail_contains="nope")


def test_r5_photos_required_is_422(api: Api) -> None:
    order = api.place_order()
    body = {
        "order_id": order["order_id"],
        "item_ids": ["i1"],
        "reason": "wrong_item",
        "description": "wrong colour",
        "photos": [],
    }
    response = api.call("buyer", "POST", "/v1/support-requests", body, sub=order["buyer_id"])
    assert_problem(response, 422, detail_contains="photo")


def test_unknown_reason_is_422_listing_the_reasons(api: Api) -> None:
    order = api.place_order()
    body = {"order_id": order["order_id"], "item_ids": ["i1"], "reason": "meh", "description": "x"}
    response = api.call("buyer", "POST", "/v1/support-requests", body, sub=order["buyer_id"])
    assert_problem(response, 422, detail_contains="significantly_delayed")


def test_r6_consumable_missing_item_goes_straight_to_support(api: Api) -> None:
    state = api.open_request(api.place_order(consumable=True), reason="missing_item")
    assert state["status"] == "escalated" and state["escalated"] is True
    assert state["routed_to_support"] == "consumable_item"


def test_unknown_request_is_404(api: Api) -> None:
    for request_id in ("00000000-0000-0000-0000-000000000000", "not-a-uuid"):
        response = api.call("support", "GET", f"/v1/support-requests/{request_id}")
        assert_problem(response, 404)


def test_r62_as_of_answers_the_state_at_that_moment(api: Api) -> None:
    state = api.open_request()
    opened_at = state["opened_at"]
    api.as_party(state, "seller", "POST", "/responses", {"type": "partial_refund", "amount": 500})
    api.move_clock(advance="PT1M")
    api.as_party(state, "buyer", "POST", "/offer/accept")
    path = f"/v1/support-requests/{state['id']}"
    now = api.call("auditor", "GET", path).json()
    assert now["status"] == "resolved"
    past = api.client.get(path, params={"as_of": opened_at}, headers=api.headers("auditor"))
    assert past.status_code == 200
    assert past.json()["status"] == "offer_pending" and past.json()["version"] == 2
    # An unencoded `+` in the offset arrives as a space: still understood.
    raw = api.client.get(f"{path}?as_of={opened_at}", headers=api.headers("auditor"))
    assert raw.status_code == 200, raw.text


def test_r62_as_of_before_the_request_existed_is_404(api: Api) -> None:
    state = api.open_request()
    path = f"/v1/support-requests/{state['id']}"
    response = api.client.get(
        path, params={"as_of": "2020-01-01T00:00:00Z"}, headers=api.headers("auditor")
    )
    assert_problem(response, 404)


def test_as_of_without_offset_is_422(api: Api) -> None:
    state = api.open_request()
    path = f"/v1/support-requests/{state['id']}"
    response = api.client.get(
        path, params={"as_of": "2026-12-07T10:00:00"}, headers=api.headers("auditor")
    )
    assert_problem(response, 422, detail_contains="as_of")


def test_r62_history_lists_every_event_with_version_type_at_actor_data(api: Api) -> None:
    state = api.open_request()
    api.as_party(state, "seller", "POST", "/responses", {"type": "full_refund"})
    history = api.as_party(state, "auditor", "GET", "/history")
    assert history.status_code == 200
    events = history.json()
    assert [e["type"] for e in events] == ["opened", "full_refund_offered"]
    assert [e["version"] for e in events] == [1, 2]
    assert events[1]["actor"] == f"seller:{state['seller_id']}"
    assert datetime.fromisoformat(events[0]["at"]).utcoffset() is not None
    assert events[1]["data"]["amount"] == 3000


def test_r7_order_lookup_lists_the_requests_on_an_order(api: Api) -> None:
    order = api.place_order(items=2)
    first = api.open_request(order)
    second = api.open_request(order, item_ids=["i2"])
    for role, sub in (("buyer", order["buyer_id"]), ("seller", order["seller_id"])):
        response = api.call(role, "GET", f"/v1/orders/{order['order_id']}/support-request", sub=sub)
        assert response.status_code == 200
        assert [r["id"] for r in response.json()] == [first["id"], second["id"]]


def test_order_lookup_of_an_order_without_requests_is_an_empty_list(api: Api) -> None:
    order = api.place_order()
    response = api.call(
        "buyer", "GET", f"/v1/orders/{order['order_id']}/support-request", sub=order["buyer_id"]
    )
    assert response.status_code == 200 and response.json() == []


def test_order_lookup_of_unknown_or_foreign_order_is_404(api: Api) -> None:
    order = api.place_order()
    foreign = api.call(
        "buyer", "GET", f"/v1/orders/{order['order_id']}/support-request", sub="stranger"
    )
    unknown = api.call("support", "GET", "/v1/orders/no-such-order/support-request")
    assert_problem(foreign, 404)
    assert_problem(unknown, 404)
    assert foreign.json()["detail"].replace(order["order_id"], "X") == unknown.json()[
        "detail"
    ].replace("no-such-order", "X")


# --- seller responses and what follows (R10-R22, R46) --------------------------------------------


def test_r10_full_refund_resolves_with_refund(api: Api) -> None:
    state = api.open_request()
    response = api.as_party(state, "seller", "POST", "/responses", {"type": "full_refund"})
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "resolved" and body["resolution"] == "full_refund"
    assert body["refund"] == {"amount": 3000, "currency": "USD"}


def test_r38_auto_claim_on_an_eligible_usps_shipment_schedules_a_claim_14_days_after_shipping(
    api: Api,
) -> None:
    # given a request on an order shipped by USPS, insured for 10000, no extra protection
    state = api.open_request()
    tracking = f"9400-{state['_order']['order_id'].removeprefix('o-')}"
    # when the seller refunds in full with the automatic claim on
    response = api.as_party(
        state, "seller", "POST", "/responses", {"type": "full_refund", "auto_claim": True}
    )
    assert response.status_code == 200, response.text
    pump_projections(api.client.app)
    # then the ledger holds a claim to file 14 calendar days after the ship date, not yet paid
    claim = api.client.app.state.ledger.claim(tracking)
    assert claim is not None
    shipped_at = datetime.fromisoformat("2026-12-02T10:00:00-05:00")
    assert claim["file_at"] == shipped_at + timedelta(days=14)
    assert (claim["insured_value"], claim["seller_id"]) == (10_000, state["seller_id"])
    assert claim["paid_at"] is None


def test_r13_partial_refund_of_the_full_amount_or_more_is_422(api: Api) -> None:
    state = api.open_request()
    response = api.as_party(
        state, "seller", "POST", "/responses", {"type": "partial_refund", "amount": 3000}
    )
    assert_problem(response, 422, detail_contains="less than the full refund")


def test_response_when_none_is_due_is_409(api: Api) -> None:
    state = api.open_request()
    api.as_party(state, "seller", "POST", "/responses", {"type": "full_refund"})
    again = api.as_party(state, "seller", "POST", "/responses", {"type": "full_refund"})
    assert_problem(again, 409, detail_contains="no seller response is due")


def test_r14_offer_accept_resolves_as_partial_refund(api: Api) -> None:
    state = api.open_request()
    offered = api.as_party(
        state, "seller", "POST", "/responses", {"type": "partial_refund", "amount": 1000}
    ).json()
    assert offered["status"] == "offer_pending" and offered["offer"] == {
        "amount": 1000,
        "state": "pending",
    }
    assert offered["deadlines"]["offer_answer"]
    accepted = api.as_party(state, "buyer", "POST", "/offer/accept")
    assert accepted.status_code == 200
    assert accepted.json()["resolution"] == "partial_refund"
    assert accepted.json()["refund"] == {"amount": 1000, "currency": "USD"}
    assert_problem(api.as_party(state, "buyer", "POST", "/offer/accept"), 409)


def test_r14_offer_decline_requires_a_return_then_r12_confirm(api: Api) -> None:
    state = api.open_request()
    api.as_party(state, "seller", "POST", "/responses", {"type": "partial_refund", "amount": 1000})
    declined = api.as_party(state, "buyer", "POST", "/offer/decline").json()
    assert declined["status"] == "awaiting_return" and declined["deadlines"]["return_dropoff"]
    tracking = f"RET-{state['id']}"
    label = {
        "type": "return_label_created",
        "request_id": state["id"],
        "tracking_number": tracking,
        "label_cost": 450,
        "at": api.now(),
    }
    assert api.fact(label).status_code == 202
    assert api.fact(label).status_code == 200  # a duplicate changes nothing
    scan = {
        "type": "shipment_scanned",
        "tracking_number": tracking,
        "status": "delivered",
        "at": api.now(),
    }
    api.fact(scan)
    inspecting = api.as_party(state, "seller", "GET").json()
    assert inspecting["status"] == "awaiting_inspection"
    assert inspecting["return"]["tracking_number"] == tracking
    assert inspecting["return"]["label_cost"] == 450
    assert inspecting["return"]["delivered_at"]
    confirmed = api.as_party(state, "seller", "POST", "/return/confirm")
    assert confirmed.status_code == 200
    assert confirmed.json()["resolution"] == "full_refund"


def test_r12_dispute_escalates_to_support_who_decides(api: Api) -> None:
    state = api.open_request()
    api.as_party(state, "seller", "POST", "/responses", {"type": "full_refund_with_return"})
    tracking = f"RET-{state['id']}"
    api.fact(
        {
            "type": "return_label_created",
            "request_id": state["id"],
            "tracking_number": tracking,
            "label_cost": 300,
            "at": api.now(),
        }
    )
    api.fact(
        {
            "type": "shipment_scanned",
            "tracking_number": tracking,
            "status": "delivered",
            "at": api.now(),
        }
    )
    disputed = api.as_party(
        state, "seller", "POST", "/return/dispute", {"reason": "Not my card", "evidence": ["x.jpg"]}
    )
    assert disputed.status_code == 200 and disputed.json()["status"] == "escalated"
    decided = api.as_party(state, "support", "POST", "/decision", {"outcome": "uphold_seller"})
    assert decided.status_code == 200 and decided.json()["resolution"] == "no_refund"


def test_r12_confirm_without_a_delivered_return_is_409(api: Api) -> None:
    state = api.open_request()
    assert_problem(api.as_party(state, "seller", "POST", "/return/confirm"), 409)
    dispute = api.as_party(state, "seller", "POST", "/return/dispute", {"reason": "x"})
    assert_problem(dispute, 409)


def test_r16_replacement_resolves_on_first_scan(api: Api) -> None:
    state = api.open_request()
    tracking = f"REP-{state['id']}"
    body = {"type": "replacement", "carrier": "USPS", "tracking_number": tracking}
    pending = api.as_party(state, "seller", "POST", "/responses", body).json()
    assert pending["status"] == "replacement_pending"
    api.fact(
        {
            "type": "shipment_scanned",
            "tracking_number": tracking,
            "status": "accepted",
            "at": api.now(),
        }
    )
    assert api.as_party(state, "buyer", "GET").json()["resolution"] == "replacement"


def test_r16_return_for_refund_after_an_overdue_replacement(api: Api) -> None:
    state = api.open_request()
    body = {"type": "replacement", "carrier": "USPS", "tracking_number": f"REP-{state['id']}"}
    api.as_party(state, "seller", "POST", "/responses", body)
    assert_problem(api.as_party(state, "buyer", "POST", "/return-for-refund"), 409)
    api.pass_deadline(state, "replacement_ship")
    chosen = api.as_party(state, "buyer", "POST", "/return-for-refund")
    assert chosen.status_code == 200 and chosen.json()["status"] == "awaiting_return"


def test_r21_messages_then_409_once_escalated(api: Api) -> None:
    state = api.open_request()
    asked = api.as_party(
        state, "seller", "POST", "/responses", {"type": "request_info", "message": "Photo?"}
    )
    assert asked.json()["status"] == "awaiting_buyer"
    answered = api.as_party(
        state, "buyer", "POST", "/messages", {"body": "Here", "attachments": []}
    )
    assert answered.status_code == 200 and answered.json()["status"] == "awaiting_seller"
    assert api.as_party(state, "seller", "POST", "/messages", {"body": "Thanks"}).status_code == 200
    escalated = api.as_party(state, "buyer", "POST", "/escalate", {"reason": "Taking too long"})
    assert escalated.status_code == 200 and escalated.json()["escalated"] is True
    closed = api.as_party(state, "buyer", "POST", "/messages", {"body": "hello?"})
    assert_problem(closed, 409, detail_contains="escalated")


def test_r19_escalation_before_grounds_is_409_and_after_deadline_200(api: Api) -> None:
    state = api.open_request()
    early = api.as_party(state, "buyer", "POST", "/escalate", {"reason": "impatient"})
    assert_problem(early, 409, detail_contains="escalation is possible")
    fired = api.pass_deadline(state, "seller_response")
    assert fired["fired"] >= 1
    assert api.as_party(state, "buyer", "GET").json()["may_escalate"] is True
    late = api.as_party(state, "buyer", "POST", "/escalate", {"reason": "no answer"})
    assert late.status_code == 200 and late.json()["status"] == "escalated"


def test_r22_decision_on_a_request_not_escalated_is_409_and_bad_outcome_422(api: Api) -> None:
    state = api.open_request()
    assert_problem(api.as_party(state, "support", "POST", "/decision", {"outcome": "refund"}), 409)
    bad = api.as_party(state, "support", "POST", "/decision", {"outcome": "maybe"})
    assert_problem(bad, 422, detail_contains="outcome")


def test_r22_platform_refund_decision(api: Api) -> None:
    state = api.open_request(api.place_order(consumable=True), reason="missing_item")
    decided = api.as_party(state, "support", "POST", "/decision", {"outcome": "platform_refund"})
    assert decided.status_code == 200 and decided.json()["resolution"] == "full_refund"


def test_r46_feedback_once_after_completion(api: Api) -> None:
    state = api.open_request()
    assert_problem(api.as_party(state, "buyer", "POST", "/feedback", {"thumbs": "up"}), 409)
    api.as_party(state, "seller", "POST", "/responses", {"type": "full_refund"})
    first = api.as_party(state, "buyer", "POST", "/feedback", {"thumbs": "up"})
    assert first.status_code == 200 and first.json()["feedback"] == "up"
    assert_problem(api.as_party(state, "buyer", "POST", "/feedback", {"thumbs": "down"}), 409)
    assert_problem(api.as_party(state, "buyer", "POST", "/feedback", {"thumbs": "meh"}), 422)


# --- the admin clock walks a request through its deadlines ----------------------------------------


def test_admin_clock_walks_a_request_through_its_deadlines(api: Api) -> None:
    state = api.open_request()
    api.as_party(state, "seller", "POST", "/responses", {"type": "partial_refund", "amount": 700})
    lapsed = api.pass_deadline(state, "offer_answer")  # R15: the offer lapses
    assert lapsed["fired"] >= 1
    after = api.as_party(state, "buyer", "GET").json()
    assert after["status"] == "awaiting_seller" and after["may_escalate"] is True
    api.as_party(state, "seller", "POST", "/responses", {"type": "full_refund_with_return"})
    api.pass_deadline(state, "return_dropoff")  # R11: no drop-off in 5 business days
    final = api.as_party(state, "buyer", "GET").json()
    assert final["status"] == "cancelled" and final["resolution"] == "return_not_shipped"
    types = [e["type"] for e in api.as_party(state, "auditor", "GET", "/history").json()]
    assert "offer_lapsed" in types and types[-1] == "return_window_expired"


def test_admin_clock_advance_returns_the_new_now_and_the_count_fired(api: Api) -> None:
    before = api.call("admin", "GET", "/v1/admin/clock").json()["now"]
    moved = api.move_clock(advance="PT1H")
    assert datetime.fromisoformat(moved["now"]) > datetime.fromisoformat(before)
    assert isinstance(moved["fired"], int)


def test_admin_clock_never_moves_backwards(api: Api) -> None:
    back = api.call("admin", "POST", "/v1/admin/clock", {"set": "2020-01-01T00:00:00+00:00"})
    assert_problem(back, 409, detail_contains="forward")
    negative = api.call("admin", "POST", "/v1/admin/clock", {"advance": "-PT1H"})
    assert_problem(negative, 422)


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"advance": "PT1H", "set": "2030-01-01T00:00:00Z"},
        {"advance": 3600},
        {"advance": "soon"},
        {"set": "2030-01-01T00:00:00"},
        {"advance": "P99999D"},
    ],
)
def test_admin_clock_rejects_invalid_moves_with_422(api: Api, body: dict) -> None:
    assert_problem(api.call("admin", "POST", "/v1/admin/clock", body), 422)


# --- upstream ingest ------------------------------------------------------------------------------


def test_upstream_fact_that_changes_something_is_202_and_a_duplicate_200(api: Api) -> None:
    order = api.place_order()
    fact = {
        "type": "order_delivered",
        "order_id": order["order_id"],
        "delivered_at": "2026-12-05T12:00:00+00:00",
    }
    first = api.call("platform", "POST", "/v1/upstream/events", fact)
    assert first.status_code == 202 and first.json() == {"type": "order_delivered", "changed": True}
    again = api.call("platform", "POST", "/v1/upstream/events", {**fact})
    assert again.status_code == 200 and again.json()["changed"] is False
    placed = api.call("platform", "POST", "/v1/upstream/events", {**order})
    assert placed.status_code == 200 and placed.json()["changed"] is False


def test_upstream_order_placed_again_with_other_data_is_409(api: Api) -> None:
    order = api.place_order()
    changed = {**order, "buyer_id": "someone-else"}
    assert_problem(api.call("platform", "POST", "/v1/upstream/events", changed), 409)


def test_upstream_fact_about_an_unknown_order_or_tracking_number_is_404(api: Api) -> None:
    shipped = {
        "type": "order_delivered",
        "order_id": "never-placed",
        "delivered_at": "2026-12-05T12:00:00+00:00",
    }
    scan = {
        "type": "shipment_scanned",
        "tracking_number": "nobody",
        "status": "accepted",
        "at": "2026-12-05T12:00:00+00:00",
    }
    assert_problem(api.call("platform", "POST", "/v1/upstream/events", shipped), 404)
    assert_problem(api.call("platform", "POST", "/v1/upstream/events", scan), 404)


@pytest.mark.parametrize(
    ("body", "needle"),
    [
        ({"type": "order_teleported", "order_id": "o"}, "order_placed"),
        (
            {
                "type": "shipment_scanned",
                "tracking_number": "t",
                "status": "lost",
                "at": "2026-12-05T12:00:00Z",
            },
            "status",
        ),
        ({"type": "order_delivered", "order_id": "o", "delivered_at": "yesterday"}, "delivered_at"),
        (
            {"type": "order_delivered", "order_id": "o", "delivered_at": "2026-12-05T12:00:00"},
            "timezone",
        ),
        ({"order_id": "o"}, "type"),
    ],
)
def test_upstream_invalid_fact_is_422_naming_the_field(api: Api, body: dict, needle: str) -> None:
    assert_problem(
        api.call("platform", "POST", "/v1/upstream/events", body), 422, detail_contains=needle
    )


# --- operations -----------------------------------------------------------------------------------


def test_healthz_and_readyz_answer_200_without_a_token(api: Api) -> None:
    assert api.client.get("/healthz").json() == {"status": "ok"}
    ready = api.client.get("/readyz")
    assert ready.status_code == 200 and ready.json() == {"status": "ready"}


def test_unknown_path_and_wrong_method_are_problems(api: Api) -> None:
    assert_problem(api.client.get("/v1/nothing-here"), 404)
    assert_problem(api.client.delete("/v1/support-requests"), 405)


def test_openapi_documents_every_body_with_examples_and_problem_errors(api: Api) -> None:
    document = api.client.get("/openapi.json").json()
    assert api.client.get("/docs").status_code == 200
    bodies = 0
    schemas = document["components"]["schemas"]
    for path, item in document["paths"].items():
        for method, operation in item.items():
            body = operation.get("requestBody")
            ours = set(operation.get("tags", [])) & {"support requests", "upstream", "admin"}
            if body and ours:
                bodies += 1
                media = body["content"]["application/json"]
                ref = media.get("schema", {}).get("$ref", "")
                has_examples = "examples" in media or (
                    ref and "examples" in schemas[ref.rsplit("/", 1)[-1]]
                )
                assert has_examples, f"{method.upper()} {path} has no body example"
            for code, response in operation["responses"].items():
                if int(code) >= 400:
                    assert list(response["content"]) == ["application/problem+json"], (path, code)
    assert bodies >= 9
