"""The seller programme over HTTP (R66-R68; API.md "The seller programme (v1 additions)"), embedded,
on SQLite and PostgreSQL. The module's app runs a gradual rollout (US start date 2025-12-01)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from services.embedded import create_embedded_app
from services.requests.domain.programme import ProgrammeRules, Rollout
from services.requests.settings import Settings
from shared.clock import AdjustableClock
from tests.integration.conftest_http import Api, assert_problem

pytest_plugins = ["tests.integration.conftest_http"]
pytestmark = pytest.mark.filterwarnings("ignore::jwt.warnings.InsecureKeyLengthWarning")

GRADUAL = ProgrammeRules(rollout=Rollout.GRADUAL)


@pytest.fixture(scope="module")
def client(http_settings: Settings, http_clock: AdjustableClock) -> Iterator[TestClient]:
    with TestClient(create_embedded_app(http_settings, http_clock)) as test_client:
        test_client.app.state.requests.programme_rules = GRADUAL  # type: ignore[attr-defined]
        yield test_client


def _seller() -> str:
    return f"s-{uuid.uuid4().hex[:10]}"


def _register(api: Api, seller_id: str, registered_at: str, marketplace: str = "US") -> int:
    response = api.fact(
        {
            "type": "seller_registered",
            "seller_id": seller_id,
            "marketplace": marketplace,
            "registered_at": registered_at,
        }
    )
    return response.status_code


def _programme(api: Api, seller_id: str, role: str = "support") -> dict:
    response = api.call(role, "GET", f"/v1/sellers/{seller_id}/programme", sub=seller_id)
    assert response.status_code == 200, response.text
    return response.json()


def test_r66_a_seller_registered_on_or_after_the_start_date_is_enrolled_by_the_fact(
    api: Api,
) -> None:
    # given a US seller who joined on the start date (in New York's calendar)
    seller = _seller()
    # when the order service reports them
    assert _register(api, seller, "2025-12-01T00:30:00-05:00") == 202
    # then they are enrolled, by the rule, and the repeat of the fact changes nothing
    programme = _programme(api, seller)
    assert programme["enrolled"] is True
    assert programme["enrolment"]["rule"] == "registered_on_or_after_start"
    assert programme["enrolment"]["by"] == "platform"
    assert programme["registered_at"].startswith("2025-12-01")
    assert _register(api, seller, "2025-12-01T00:30:00-05:00") == 200


def test_r66_a_seller_registered_before_the_start_date_is_not_enrolled(api: Api) -> None:
    # given a seller who joined the day before the start date, New York time (UTC already Dec 1)
    seller = _seller()
    assert _register(api, seller, "2025-11-30T23:30:00-05:00") == 202
    programme = _programme(api, seller)
    # then they are not enrolled: only the platform enrols them
    assert programme["enrolled"] is False and programme["enrolled_at"] is None
    assert programme["registered_at"] is not None


def test_r66_a_second_registration_with_other_data_is_a_409(api: Api) -> None:
    seller = _seller()
    _register(api, seller, "2026-01-05T10:00:00-05:00")
    response = api.call(
        "platform",
        "POST",
        "/v1/upstream/events",
        {"type": "seller_registered", "seller_id": seller, "registered_at": "2026-02-05T10:00:00Z"},
        sub="orders",
    )
    assert_problem(response, 409, detail_contains="already registered")


def test_r66_the_seller_registered_fact_is_bounded_like_every_fact(api: Api) -> None:
    for bad in (
        {"type": "seller_registered", "seller_id": "x/y", "registered_at": "2026-01-05T10:00:00Z"},
        {"type": "seller_registered", "seller_id": "s1", "registered_at": "2026-01-05T10:00:00"},
        {"type": "seller_registered", "seller_id": "s1", "registered_at": "1700000000"},
        {
            "type": "seller_registered",
            "seller_id": "s1",
            "marketplace": "DE",
            "registered_at": "2026-01-05T10:00:00Z",
        },
        {"type": "seller_registered", "registered_at": "2026-01-05T10:00:00Z"},
    ):
        response = api.call("platform", "POST", "/v1/upstream/events", bad, sub="orders")
        assert_problem(response, 422)


def test_r66_the_platform_enrols_a_seller_idempotently_and_leaving_is_refused(api: Api) -> None:
    seller = _seller()
    path = f"/v1/sellers/{seller}/enrolment"
    # when the platform enrols a seller twice
    first = api.call("platform", "POST", path, sub="ops-1")
    second = api.call("platform", "POST", path, sub="ops-2")
    # then the first enrols (201) and the second changes nothing (200, the same enrolment)
    assert first.status_code == 201, first.text
    assert second.status_code == 200
    assert first.json()["enrolled"] is True
    assert second.json()["enrolment"] == first.json()["enrolment"]
    assert first.json()["enrolment"]["by"] == "platform:ops-1"
    assert first.json()["enrolment"]["rule"] == "platform"
    # and the history says who enrolled whom, when, by which rule (once)
    history = api.call("auditor", "GET", f"/v1/sellers/{seller}/programme/history").json()
    assert [e["type"] for e in history] == ["enrolled"]
    assert history[0]["actor"] == "platform:ops-1" and history[0]["data"]["rule"] == "platform"
    # and leaving is refused, for the platform and the seller alike
    assert_problem(api.call("platform", "DELETE", path, sub="ops-1"), 409, detail_contains="R66")
    assert_problem(api.call("seller", "DELETE", path, sub=seller), 409)
    assert _programme(api, seller)["enrolled"] is True


def test_r66_only_the_platform_enrols_and_only_readers_read(api: Api) -> None:
    seller = _seller()
    for role in ("seller", "buyer", "support", "admin", "auditor"):
        response = api.call(role, "POST", f"/v1/sellers/{seller}/enrolment", sub=seller)
        assert_problem(response, 403)
    # another seller and buyers do not see a seller's record
    other = api.call("seller", "GET", f"/v1/sellers/{seller}/programme", sub="someone-else")
    assert_problem(other, 404)
    assert_problem(api.call("buyer", "GET", f"/v1/sellers/{seller}/programme"), 404)
    assert _programme(api, seller, role="seller")["enrolled"] is False
    assert _programme(api, seller, role="platform")["rollout"] == "gradual"


def test_r66_a_request_on_a_non_enrolled_sellers_order_goes_to_support(api: Api) -> None:
    # given an order of a seller who is not enrolled
    order = api.place_order()
    # when the buyer opens a request on it
    state = api.open_request(order)
    # then it opens (201) escalated to support, ground seller_not_enrolled, no seller deadline
    assert state["status"] == "escalated"
    assert state["routed_to_support"] == "seller_not_enrolled"
    assert state["deadlines"]["seller_response"] is None
    # and the seller has nothing to answer
    response = api.as_party(state, "seller", "POST", "/responses", {"type": "full_refund"})
    assert_problem(response, 409)
    # and support decides it
    decided = api.as_party(state, "support", "POST", "/decision", {"outcome": "platform_refund"})
    assert decided.status_code == 200, decided.text


def test_r66_once_enrolled_the_sellers_requests_go_to_the_seller(api: Api) -> None:
    order = api.place_order()
    api.call("platform", "POST", f"/v1/sellers/{order['seller_id']}/enrolment", sub="ops")
    state = api.open_request(order)
    assert state["status"] == "awaiting_seller"
    assert state["routed_to_support"] is None


def _poll(fetch, predicate, timeout_s: float = 20.0):
    import time

    deadline = time.monotonic() + timeout_s
    while True:
        value = fetch()
        if predicate(value) or time.monotonic() > deadline:
            return value
        time.sleep(0.1)


def test_r66_the_seller_is_told_and_support_queues_the_request_of_a_seller_not_enrolled(
    api: Api,
) -> None:
    # given a request on the order of a seller who is not enrolled
    state = api.open_request()
    seller = state["seller_id"]
    # then the seller's in-app feed tells them what happened and how to join
    feed = _poll(
        lambda: api.call(
            "seller", "GET", f"/v1/users/{seller}/notifications?channel=in_app", sub=seller
        ).json(),
        lambda notes: len(notes) >= 1,
    )
    assert len(feed) == 1, feed
    assert "waitlist" in feed[0]["body"] and state["_order"]["order_id"] in feed[0]["subject"]
    # and the support queue has it, waiting on support with the ground seller_not_enrolled
    queue = _poll(
        lambda: api.call("support", "GET", "/v1/support/queue?limit=200").json(),
        lambda page: any(r["id"] == state["id"] for r in page["items"]),
    )
    (row,) = [r for r in queue["items"] if r["id"] == state["id"]]
    assert row["escalation_reason"] == "seller_not_enrolled"


def test_r67_a_seller_not_enrolled_joins_the_waitlist_once_and_an_enrolled_one_cannot(
    api: Api,
) -> None:
    seller = _seller()
    path = f"/v1/sellers/{seller}/waitlist"
    # when a seller not enrolled joins the waitlist, twice
    first = api.call("seller", "POST", path, sub=seller)
    second = api.call("seller", "POST", path, sub=seller)
    # then they are on it once, from the first call
    assert first.status_code == 201, first.text
    assert second.status_code == 200
    assert first.json()["waitlisted_at"] == second.json()["waitlisted_at"] is not None
    history = api.call("auditor", "GET", f"/v1/sellers/{seller}/programme/history").json()
    assert [(e["type"], e["actor"]) for e in history] == [("waitlisted", f"seller:{seller}")]
    # and only that seller puts themself on it
    assert_problem(api.call("seller", "POST", path, sub="someone-else"), 403)
    assert_problem(api.call("platform", "POST", path, sub="ops"), 403)
    # once enrolled, there is no waitlist to join
    api.call("platform", "POST", f"/v1/sellers/{seller}/enrolment", sub="ops")
    programme = _programme(api, seller)
    assert programme["enrolled"] is True and programme["waitlisted_at"] is not None
    other = _seller()
    api.call("platform", "POST", f"/v1/sellers/{other}/enrolment", sub="ops")
    assert_problem(
        api.call("seller", "POST", f"/v1/sellers/{other}/waitlist", sub=other),
        409,
        detail_contains="already enrolled",
    )
