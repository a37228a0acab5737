"""R69 over HTTP: `GET /v1/sellers/{id}/standing` exactly as API.md gives it for a scripted history,
each figure's list URL answering the requests behind it; who may read it. Embedded, SQLite and
PostgreSQL."""

from __future__ import annotations

import time
from typing import Any

import pytest

from tests.integration.conftest_http import Api, assert_problem

pytest_plugins = ["tests.integration.conftest_http"]
pytestmark = pytest.mark.filterwarnings("ignore::jwt.warnings.InsecureKeyLengthWarning")


def _order_of(api: Api, seller: str, **kwargs: Any) -> dict[str, Any]:
    order = {**api.place_order(**kwargs)}
    order["order_id"] += "-s"
    order["seller_id"] = seller
    api.fact(order)
    return order


def _standing(api: Api, seller: str, role: str = "seller") -> dict[str, Any]:
    response = api.call(role, "GET", f"/v1/sellers/{seller}/standing", sub=seller)
    assert response.status_code == 200, response.text
    return response.json()


def _ids(api: Api, url: str) -> set[str]:
    response = api.call("support", "GET", url + "&limit=200")
    assert response.status_code == 200, response.text
    return {item["id"] for item in response.json()["items"]}


@pytest.mark.own_clock
def test_r69_standing_is_exact_for_a_scripted_history(api: Api) -> None:
    seller = api.place_order()["seller_id"]
    # given: one request answered in time (and rated thumbs down: R46 never counts)
    answered = api.open_request(_order_of(api, seller))
    api.as_party(answered, "seller", "POST", "/responses", {"type": "full_refund"})
    feedback = api.as_party(answered, "buyer", "POST", "/feedback", {"thumbs": "down"})
    assert feedback.status_code == 200, feedback.text
    # one left unanswered past its deadline, escalated by the buyer, refunded by support
    escalated = api.open_request(_order_of(api, seller))
    # one routed to support at opening (R6): never the seller's
    api.open_request(_order_of(api, seller, consumable=True), reason="missing_item")
    api.pass_deadline(escalated, "seller_response")
    assert (
        api.as_party(escalated, "buyer", "POST", "/escalate", {"reason": "none"}).status_code == 200
    )
    decided = api.as_party(escalated, "support", "POST", "/decision", {"outcome": "refund"})
    assert decided.status_code == 200, decided.text
    # and one opened just now: still inside its deadline, counted as neither
    pending = api.open_request(_order_of(api, seller))
    api.move_clock(advance="PT1M")  # the window ends at the evaluation, exclusive

    # when the seller reads their standing, once the projection has every step (the pending
    # request opened last, the decision of the escalated one)
    deadline = time.monotonic() + 20
    everything = f"/v1/support-requests?seller_id={seller}"
    while time.monotonic() < deadline:
        standing = _standing(api, seller)
        if len(_ids(api, everything)) == 4 and standing["figures"][2]["value"] == 1:
            break
        time.sleep(0.1)

    # then, exactly:
    assert set(standing) >= {"window", "figures", "evaluated_at"}
    assert set(standing["window"]) >= {"from", "to"}
    figures = {f["name"]: f for f in standing["figures"]}
    assert [f["name"] for f in standing["figures"]] == [
        "answered_in_time",
        "escalated_unanswered",
        "overturned",
    ]
    share = figures["answered_in_time"]
    assert (share["value"], share["count"], share["of"]) == (0.5, 1, 2)
    assert (share["standard"], share["state"]) == (0.9, "below")
    assert figures["escalated_unanswered"]["value"] == 1
    assert figures["escalated_unanswered"]["state"] == "meets"  # at most 2; 0 exceeds
    assert figures["overturned"]["value"] == 1 and figures["overturned"]["state"] == "meets"
    assert _ids(api, share["requests"]) == {answered["id"], escalated["id"]}
    assert _ids(api, share["missed_requests"]) == {escalated["id"]}
    assert _ids(api, share["pending_requests"]) == {pending["id"]}
    assert _ids(api, figures["escalated_unanswered"]["requests"]) == {escalated["id"]}
    assert _ids(api, figures["overturned"]["requests"]) == {escalated["id"]}


def test_r69_standing_is_read_by_that_seller_support_and_auditors_only(api: Api) -> None:
    seller = api.place_order()["seller_id"]
    assert _standing(api, seller, "support")["figures"][0]["value"] is None  # nothing settled
    assert _standing(api, seller, "auditor")["figures"][0]["state"] == "meets"
    other = api.call("seller", "GET", f"/v1/sellers/{seller}/standing", sub="another-seller")
    assert_problem(other, 404)
    for role in ("buyer", "platform", "admin"):
        assert_problem(api.call(role, "GET", f"/v1/sellers/{seller}/standing"), 403)


def test_r69_the_answer_filter_refuses_an_unknown_class(api: Api) -> None:
    response = api.call("support", "GET", "/v1/support-requests?answer=late")
    assert_problem(response, 422)
