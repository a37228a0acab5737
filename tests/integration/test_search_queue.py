"""The support queue, assignment and seller performance on the embedded app, SQLite and PostgreSQL
(issue 19): every request waiting on support (routed at opening, escalated by the buyer, a disputed
return) oldest wait first with its business time waited, grounds and SLA; breaches flagged and in
the gauge; `POST …/assign` shows who is on a case; the seller's 90-day figures link to the requests
behind them."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import pytest
from prometheus_client import REGISTRY

from tests.integration.conftest_http import Api, assert_problem
from tests.integration.search_harness import caught_up

pytest_plugins = ["tests.integration.conftest_http"]

LIST = "/v1/support-requests"
QUEUE = "/v1/support/queue"


class Cases:
    """Three requests waiting on support, escalated a business day apart, one for each ground."""

    def __init__(self, api: Api) -> None:
        self.api = api
        self.seller = f"s-{uuid.uuid4().hex[:8]}"
        # routed at opening (reason outside the policy, R6)
        self.routed = self.open(reason="other")
        api.move_clock(advance="PT2H")
        # the buyer escalates after a no-refund explanation
        self.escalated = self.open()
        self.respond(self.escalated, {"type": "no_refund", "message": "Used", "evidence": ["e"]})
        response = api.as_party(self.escalated, "buyer", "POST", "/escalate", {"reason": "Unfair"})
        assert response.status_code == 200, response.text
        api.move_clock(advance="PT2H")
        # the seller disputes the returned item
        self.disputed = self.open()
        self.respond(self.disputed, {"type": "full_refund_with_return"})
        tracking = f"RET-{uuid.uuid4().hex[:8]}"
        api.fact(
            {
                "type": "return_label_created",
                "request_id": self.disputed["id"],
                "tracking_number": tracking,
                "label_cost": 800,
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
        dispute = api.as_party(
            self.disputed,
            "seller",
            "POST",
            "/return/dispute",
            {"reason": "Empty box", "evidence": ["p.jpg"]},
        )
        assert dispute.status_code == 200, dispute.text
        self.pump()

    def open(self, **fields: Any) -> dict[str, Any]:
        order = self.api.place_order()
        order = {**order, "seller_id": self.seller, "order_id": f"{order['order_id']}-q"}
        self.api.fact(order)
        return self.api.open_request(order, **fields)

    def respond(self, state: dict[str, Any], body: dict[str, Any]) -> None:
        response = self.api.as_party(state, "seller", "POST", "/responses", body)
        assert response.status_code == 200, response.text

    def pump(self) -> None:
        caught_up(self.api.client.app)

    def queue(self, sub: str = "agent-1", **params: Any) -> Any:
        return self.api.client.get(QUEUE, params=params, headers=self.api.headers("support", sub))

    def mine(self, **params: Any) -> list[dict[str, Any]]:
        ours = {self.routed["id"], self.escalated["id"], self.disputed["id"]}
        items, cursor = [], None
        while True:
            query = {**params, "limit": 200}
            if cursor:
                query["cursor"] = cursor
            page = self.queue(**query).json()
            items.extend(i for i in page["items"] if i["id"] in ours)
            cursor = page["next_cursor"]
            if cursor is None:
                return items


@pytest.fixture(scope="module")
def cases(api: Api) -> Cases:
    return Cases(api)


def _gauge(name: str) -> float:
    value = REGISTRY.get_sample_value(name)
    assert value is not None, name
    return value


def test_queue_lists_every_ground_oldest_wait_first_with_business_time_waited(
    cases: Cases,
) -> None:
    items = cases.mine()
    # then the three cases are there, oldest wait first, each with its grounds
    assert [i["id"] for i in items] == [
        cases.routed["id"],
        cases.escalated["id"],
        cases.disputed["id"],
    ]
    routed, escalated, disputed = items
    assert (routed["escalated_by"], routed["grounds"]) == ("routing", ["reason_not_covered"])
    assert (escalated["escalated_by"], escalated["grounds"]) == ("buyer", ["no_refund"])
    assert (disputed["escalated_by"], disputed["grounds"]) == (
        "seller_dispute",
        ["return_disputed"],
    )
    assert all(i["waiting_on"] == "support" and i["status"] == "escalated" for i in items)
    # the business hours waited: the routed case waited 4 hours longer than the disputed one
    assert routed["business_hours_waited"] - disputed["business_hours_waited"] == pytest.approx(4)
    waited = [i["business_hours_waited"] for i in items]
    assert waited == sorted(waited, reverse=True)
    # and the SLA is 48 business hours from the start of the wait, not yet breached
    for item in items:
        sla = item["sla"]
        assert sla["target_business_hours"] == 48 and sla["breached"] is False
        assert datetime.fromisoformat(sla["due_at"]) > datetime.fromisoformat(item["waiting_since"])


def test_queue_is_for_support_only(cases: Cases) -> None:
    for role in ("buyer", "seller", "auditor", "admin"):
        response = cases.api.client.get(QUEUE, headers=cases.api.headers(role, "x"))
        assert_problem(response, 403)
    assert_problem(cases.queue(limit=0), 422, detail_contains="limit")
    assert_problem(cases.queue(cursor="garbage"), 422, detail_contains="cursor")


def test_assigning_shows_who_is_on_a_case_and_is_in_history(cases: Cases) -> None:
    api = cases.api
    # when an agent takes the escalated case, and another agent is put on the disputed one
    taken = api.call("support", "POST", f"{LIST}/{cases.escalated['id']}/assign", sub="agent-7")
    assert taken.status_code == 200, taken.text
    assert taken.json()["assigned_to"] == "agent-7"
    given = api.call(
        "support",
        "POST",
        f"{LIST}/{cases.disputed['id']}/assign",
        {"agent_id": "agent-9"},
        sub="agent-7",
    )
    assert given.json()["assigned_to"] == "agent-9"
    # and the same assignment again changes nothing (idempotent: no second event)
    again = api.call("support", "POST", f"{LIST}/{cases.escalated['id']}/assign", sub="agent-7")
    assert again.json()["version"] == taken.json()["version"]
    cases.pump()
    # then the queue shows who is on each case, and filters by it
    by_id = {i["id"]: i["assigned_to"] for i in cases.mine()}
    assert by_id[cases.escalated["id"]] == "agent-7"
    assert by_id[cases.disputed["id"]] == "agent-9"
    assert by_id[cases.routed["id"]] is None
    assert [i["id"] for i in cases.mine(assigned_to="agent-7")] == [cases.escalated["id"]]
    assert [i["id"] for i in cases.mine(unassigned="true")] == [cases.routed["id"]]
    # and the assignment is an event of the request's history
    history = api.as_party(cases.escalated, "support", "GET", "/history").json()
    assert history[-1]["type"] == "agent_assigned"
    assert history[-1]["data"]["agent_id"] == "agent-7"
    # only support assigns, and only a request waiting on support
    refused = api.call("seller", "POST", f"{LIST}/{cases.escalated['id']}/assign", sub="s")
    assert_problem(refused, 403)
    other = api.open_request()
    assert_problem(api.as_party(other, "support", "POST", "/assign"), 409)


def test_breaches_are_flagged_and_counted_after_48_business_hours(cases: Cases) -> None:
    # given the clock moved past 48 business hours after the disputed case's wait began
    last_due = datetime.fromisoformat(cases.mine()[-1]["sla"]["due_at"])
    cases.api.move_clock(set=(last_due + timedelta(minutes=1)).isoformat())
    cases.pump()
    # when support reads the queue
    items = cases.mine()
    # then every case is flagged as breached, and the breaches are counted (page and gauge)
    assert [i["sla"]["breached"] for i in items] == [True, True, True]
    assert all(i["business_hours_waited"] >= 48 for i in items)
    page = cases.queue(limit=1).json()
    assert page["breaches"] >= 3 and page["waiting"] >= page["breaches"]
    assert _gauge("seller_support_support_queue_sla_breaches") == page["breaches"]
    assert len(cases.mine(breached="true")) == 3
    assert cases.mine(breached="false") == []


def test_seller_performance_figures_link_to_the_requests_behind_them(cases: Cases) -> None:
    api = cases.api
    # when the seller reads their performance
    response = api.client.get(
        f"/v1/sellers/{cases.seller}/performance", headers=api.headers("seller", cases.seller)
    )
    assert response.status_code == 200, response.text
    figures = response.json()
    # then: three received (one routed, without a seller deadline), two answered in time
    assert figures["received"]["count"] == 3
    assert figures["responded_within_deadline"] == {
        **figures["responded_within_deadline"],
        "count": 2,
        "of": 2,
        "share": 1.0,
    }
    hours = figures["first_response_business_hours"]
    assert hours["responses"] == 2 and 0 <= hours["median"] <= hours["p90"] < 1
    assert figures["missed_deadlines"]["count"] == 0
    assert figures["escalations"]["count"] == 1
    assert figures["support_overturns"]["count"] == 0
    # and each link is a list query that finds exactly the requests behind the figure
    for name in ("received", "responded_within_deadline", "escalations"):
        link = urlsplit(figures[name]["link"])
        assert link.path == LIST
        found = api.client.get(
            LIST, params=parse_qsl(link.query), headers=api.headers("seller", cases.seller)
        ).json()["items"]
        assert len(found) == figures[name]["count"], name
    # another seller may not read it; support and auditors may
    other = api.client.get(
        f"/v1/sellers/{cases.seller}/performance", headers=api.headers("seller", "someone")
    )
    assert_problem(other, 404)
    for role in ("support", "auditor"):
        assert api.client.get(
            f"/v1/sellers/{cases.seller}/performance", headers=api.headers(role, "x")
        ).is_success
    assert_problem(
        api.client.get(f"/v1/sellers/{cases.seller}/performance", headers=api.headers("buyer")),
        403,
    )


def test_b18_a_request_inside_its_48_business_hours_is_neither_in_time_nor_missed(
    api: Api,
) -> None:
    # given a seller with one request answered in time and one still inside its 48 business hours
    cases = Cases.__new__(Cases)  # only the helpers, for a seller of its own
    cases.api, cases.seller = api, f"s-{uuid.uuid4().hex[:8]}"
    answered = cases.open()
    cases.respond(answered, {"type": "full_refund"})
    cases.open()
    api.move_clock(advance="PT1H")  # the window ends now: both opened before it
    cases.pump()

    def figures() -> dict[str, Any]:
        response = api.client.get(
            f"/v1/sellers/{cases.seller}/performance",
            headers=api.headers("seller", cases.seller),
        )
        assert response.status_code == 200, response.text
        return response.json()

    # when the seller reads their performance
    now = figures()
    # then the open one counts as received but not yet in the in-time ratio
    assert now["received"]["count"] == 2
    assert (now["responded_within_deadline"]["count"], now["responded_within_deadline"]["of"]) == (
        1,
        1,
    )
    assert now["missed_deadlines"]["count"] == 0
    # and once its deadline passes unanswered it counts, as a miss
    api.move_clock(advance="P7D")
    cases.pump()
    later = figures()
    assert (
        later["responded_within_deadline"]["count"],
        later["responded_within_deadline"]["of"],
    ) == (1, 2)
    assert later["missed_deadlines"]["count"] == 1
