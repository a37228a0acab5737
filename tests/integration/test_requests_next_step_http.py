"""What happens next, over HTTP (issue 27, API.md "What happens next"): the state carries
`waiting_on`, the caller's `actions`, `limits`, `overdue` and the deadline explanations; every step
listed for a role is accepted by its endpoint and every other step refused without a change; and
the readers (search) agree with the state. The contradictions of notes/web-app-findings.md B7, B8
and B9 and the overdue sort are checked where the API shows them.

Runs on SQLite and PostgreSQL (module-scoped embedded app per backend, see conftest_http.py).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

import pytest

from tests.integration.conftest_http import Api
from tests.integration.search_harness import caught_up

pytest_plugins = ["tests.integration.conftest_http"]
pytestmark = pytest.mark.filterwarnings("ignore::jwt.warnings.InsecureKeyLengthWarning")

# Each step of API.md as its call: (role, method, path suffix, body).
STEP_CALLS: dict[str, tuple[str, str, Any]] = {
    "full_refund": ("seller", "/responses", {"type": "full_refund"}),
    "full_refund_with_return": ("seller", "/responses", {"type": "full_refund_with_return"}),
    "partial_refund": ("seller", "/responses", {"type": "partial_refund", "amount": 1000}),
    "replacement": (
        "seller",
        "/responses",
        {"type": "replacement", "carrier": "USPS", "tracking_number": "TRACK"},
    ),
    "no_refund": (
        "seller",
        "/responses",
        {"type": "no_refund", "message": "Outside the policy.", "evidence": ["https://e.x/1"]},
    ),
    "request_info": ("seller", "/responses", {"type": "request_info", "message": "Which one?"}),
    "message": ("party", "/messages", {"body": "Hello", "attachments": []}),
    "accept_offer": ("buyer", "/offer/accept", None),
    "decline_offer": ("buyer", "/offer/decline", None),
    "confirm_return": ("seller", "/return/confirm", None),
    "dispute_return": ("seller", "/return/dispute", {"reason": "Scratched", "evidence": []}),
    "return_for_refund": ("buyer", "/return-for-refund", None),
    "escalate": ("buyer", "/escalate", {"reason": "Please help"}),
    "feedback": ("buyer", "/feedback", {"thumbs": "up"}),
    "decide": ("support", "/decision", {"outcome": "uphold_seller"}),
    "assign": ("support", "/assign", None),
}
ROLES = ("buyer", "seller", "support", "auditor")


def _take(api: Api, state: dict[str, Any], role: str, step: str) -> Any:
    _, suffix, body = STEP_CALLS[step]
    if step == "replacement":
        body = {**body, "tracking_number": f"RPL-{state['id'][:8]}-{role}"}
    return api.as_party(state, role, "POST", suffix, body)


def _respond(api: Api, state: dict[str, Any], body: dict[str, Any]) -> dict[str, Any]:
    response = api.as_party(state, "seller", "POST", "/responses", body)
    assert response.status_code == 200, response.text
    return {**response.json(), "_order": state["_order"]}


def _awaiting_seller(api: Api) -> dict[str, Any]:
    return api.open_request()


def _offer_pending(api: Api) -> dict[str, Any]:
    return _respond(api, api.open_request(), {"type": "partial_refund", "amount": 700})


def _awaiting_buyer(api: Api) -> dict[str, Any]:
    body = {"type": "no_refund", "message": "Outside the policy.", "evidence": ["https://e.x/1"]}
    return _respond(api, api.open_request(), body)


def _routed_to_support(api: Api) -> dict[str, Any]:
    return api.open_request(reason="other")


def _resolved(api: Api) -> dict[str, Any]:
    return _respond(api, api.open_request(), {"type": "full_refund"})


SITUATIONS: dict[str, Callable[[Api], dict[str, Any]]] = {
    "awaiting_seller": _awaiting_seller,
    "offer_pending": _offer_pending,
    "awaiting_buyer_after_no_refund": _awaiting_buyer,
    "escalated": _routed_to_support,
    "resolved": _resolved,
}


@pytest.mark.parametrize("situation", list(SITUATIONS))
def test_issue27_every_listed_step_is_accepted_and_every_other_refused_over_http(
    api: Api, situation: str
) -> None:
    # given a request in the situation, as each role sees it
    state = SITUATIONS[situation](api)
    listed = {role: api.as_party(state, role, "GET").json()["actions"] for role in ROLES}
    assert listed["auditor"] == []
    # when each role tries every step it is not offered
    for role in ROLES:
        for step in STEP_CALLS:
            if step in listed[role]:
                continue
            refused = _take(api, state, role, step)
            # then it is refused with a problem, and nothing changed
            assert refused.status_code in (403, 409, 422), (role, step, refused.text)
    after = api.as_party(state, "support", "GET").json()
    assert after["version"] == state["version"]
    # when each role takes each step it is offered, on a request in the same situation
    for role in ROLES:
        for step in listed[role]:
            fresh = SITUATIONS[situation](api)
            taken = _take(api, fresh, role, step)
            # then it is accepted
            assert taken.status_code == 200, (role, step, taken.text)


def test_issue27_a_request_awaiting_the_seller_says_what_happens_next(api: Api) -> None:
    # given a request just opened
    state = api.open_request()
    seller = api.as_party(state, "seller", "GET").json()
    buyer = api.as_party(state, "buyer", "GET").json()
    # then it waits on the seller, who may take the six responses (R10-R18) or write
    assert seller["waiting_on"] == buyer["waiting_on"] == "seller"
    assert seller["actions"] == [
        "full_refund",
        "full_refund_with_return",
        "partial_refund",
        "replacement",
        "no_refund",
        "request_info",
        "message",
    ]
    # and the largest partial refund is one cent under price + shipping (R13)
    assert seller["limits"] == {"partial_refund": {"max_amount": 2999}}
    assert buyer["actions"] == ["message"] and buyer["limits"] == {}
    # and the deadline is explained: 48 business hours from opening
    explained = seller["deadline_explanations"]["seller_response"]
    assert explained["business_hours_given"] == 48
    assert seller["overdue"] == []


def test_issue27_a_command_answers_with_the_callers_next_steps(api: Api) -> None:
    # given a request awaiting the seller; when the seller offers a partial refund
    state = api.open_request()
    offered = api.as_party(
        state, "seller", "POST", "/responses", {"type": "partial_refund", "amount": 700}
    ).json()
    # then the answer lists the seller's steps (a message only) and waits on the buyer
    assert offered["waiting_on"] == "buyer" and offered["actions"] == ["message"]
    # and the buyer's own read lists accept and decline (B1's missing buttons)
    buyer = api.as_party(state, "buyer", "GET").json()
    assert buyer["actions"] == ["message", "accept_offer", "decline_offer"]


def test_issue27_r19_a_passed_seller_deadline_stays_in_view_and_overdue(api: Api) -> None:
    # given a request whose seller response deadline passed
    state = api.open_request()
    due = state["deadlines"]["seller_response"]
    api.pass_deadline(state, "seller_response")
    after = api.as_party(state, "buyer", "GET").json()
    # then the deadline is still shown, overdue, and the buyer may escalate (R19)
    assert after["deadlines"]["seller_response"] == due
    assert after["overdue"] == ["seller_response"]
    assert after["waiting_on"] == "seller"
    assert "escalate" in after["actions"]


def test_issue27_b7_a_promised_replacement_waits_on_the_seller_everywhere(api: Api) -> None:
    # given a replacement promised, before any carrier scan
    state = api.open_request()
    body = {"type": "replacement", "carrier": "USPS", "tracking_number": f"B7-{state['id'][:8]}"}
    _respond(api, state, body)
    # then the request state and the search row agree: it waits on the seller
    assert api.as_party(state, "buyer", "GET").json()["waiting_on"] == "seller"
    caught_up(api.client.app)
    rows = api.client.get(
        "/v1/support-requests",
        params={"waiting_on": "seller"},
        headers=api.headers("seller", state["seller_id"]),
    ).json()["items"]
    assert [r["id"] for r in rows] == [state["id"]]


def test_issue27_b8_an_overdue_replacement_shows_the_buyers_window(api: Api) -> None:
    # given a replacement not shipped within 48 business hours (R16)
    state = api.open_request()
    body = {"type": "replacement", "carrier": "USPS", "tracking_number": f"B8-{state['id'][:8]}"}
    _respond(api, state, body)
    api.pass_deadline(state, "replacement_ship")
    buyer = api.as_party(state, "buyer", "GET").json()
    # then the late shipping deadline stays, overdue, and the buyer's 5-business-day window shows
    assert buyer["overdue"] == ["replacement_ship"]
    assert buyer["deadlines"]["return_for_refund"] is not None
    assert buyer["deadline_explanations"]["return_for_refund"]["business_hours_given"] == 120
    assert "return_for_refund" in buyer["actions"]
    # and search shows the same deadlines
    caught_up(api.client.app)
    rows = api.client.get(
        "/v1/support-requests",
        params={"order_id": state["order_id"]},
        headers=api.headers("support", "agent-1"),
    ).json()["items"]
    assert _instants(rows[0]["deadlines"]) == _instants(buyer["deadlines"])
    assert rows[0]["overdue"] == ["replacement_ship"]


def test_issue27_b9_a_declined_offer_is_not_current(api: Api) -> None:
    # given an offer the buyer declined (R14)
    state = _offer_pending(api)
    declined = api.as_party(state, "buyer", "POST", "/offer/decline").json()
    # then the state says it was declined, and search agrees
    assert declined["offer"] == {"amount": 700, "state": "declined"}
    caught_up(api.client.app)
    rows = api.client.get(
        "/v1/support-requests",
        params={"order_id": state["order_id"]},
        headers=api.headers("support", "agent-1"),
    ).json()["items"]
    assert rows[0]["offer"] == {"amount": 700, "state": "declined"}


def test_issue27_overdue_requests_sort_first_by_due_date(api: Api) -> None:
    # given one seller's two requests: the first left past its seller deadline, then a new one
    order = api.place_order()
    late = api.open_request(order)
    api.pass_deadline(late, "seller_response")
    second_order = _same_seller_order(api, order["seller_id"])
    fresh = api.open_request(second_order)
    caught_up(api.client.app)
    # when the seller lists their requests by due date
    rows = api.client.get(
        "/v1/support-requests",
        params={"sort": "due_at", "waiting_on": "seller"},
        headers=api.headers("seller", order["seller_id"]),
    ).json()["items"]
    # then the overdue one comes first, with its passed deadline
    assert [r["id"] for r in rows] == [late["id"], fresh["id"]]
    assert rows[0]["overdue"] == ["seller_response"] and rows[1]["overdue"] == []


def _instants(deadlines: dict[str, str | None]) -> dict[str, datetime | None]:
    return {k: None if v is None else datetime.fromisoformat(v) for k, v in deadlines.items()}


def _same_seller_order(api: Api, seller_id: str) -> dict[str, Any]:
    order = api.place_order()
    tag = order["order_id"] + "-2"
    fact = {
        "type": "order_placed",
        "order_id": tag,
        "buyer_id": order["buyer_id"],
        "seller_id": seller_id,
        "currency": "USD",
        "placed_at": "2026-12-01T10:00:00-05:00",
        "marketplace": "US",
        "items": [
            {
                "item_id": "i1",
                "title": "Holo card",
                "category": "trading_cards",
                "consumable": False,
                "price": 2500,
                "seller_payout": 2200,
                "buyer_shipping_paid": 500,
                "processing_fee": 103,
            }
        ],
    }
    api.fact(fact)
    return {**fact}
