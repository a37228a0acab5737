"""Reading your own writes (issue 27; API.md "What happens next, and reading your own writes";
shared/consistency.py): every command answers with a `Consistency-Token`; the projection reads
(list, queue, inbox, notifications, ledger, rating, performance) given it answer only once they
reflect that command, or 503 with Retry-After past a bounded wait; in embedded mode a caller's
reads reflect their own commands without it. B3 of notes/web-app-findings.md ("Assign to me" shows
"Nobody") is the queue read right after the assignment.

Embedded app on SQLite and PostgreSQL (conftest_http.py); the projections are fed by the app's own
pump loop every 0.5 s, so a read right after a command would see the old state without the wait.
"""

from __future__ import annotations

import time
from typing import Any

import pytest

from tests.integration.conftest_http import Api

pytest_plugins = ["tests.integration.conftest_http"]
pytestmark = pytest.mark.filterwarnings("ignore::jwt.warnings.InsecureKeyLengthWarning")

HEADER = "Consistency-Token"


def _routed(api: Api) -> dict[str, Any]:
    """A request routed to support at opening (reason `other`, R6)."""
    return api.open_request(reason="other")


def test_issue27_every_command_answer_carries_its_consistency_token(api: Api) -> None:
    # given a buyer opening a request, and the seller answering it
    order = api.place_order()
    body = {"order_id": order["order_id"], "item_ids": ["i1"], "reason": "defective"}
    opened = api.call(
        "buyer", "POST", "/v1/support-requests", {**body, "description": "x"}, order["buyer_id"]
    )
    state = opened.json()
    answered = api.as_party(
        {**state, "_order": order}, "seller", "POST", "/responses", {"type": "full_refund"}
    )
    # then each answer names the event it wrote: the request's id and its new version
    assert opened.headers[HEADER] == f"{state['id']}:1"
    assert answered.headers[HEADER] == f"{state['id']}:2"


def test_issue27_b3_the_queue_read_with_the_token_shows_the_assignment(api: Api) -> None:
    # given a request waiting on support, in the queue
    state = _routed(api)
    # when agent-7 takes it and another agent's page reads the queue with agent-7's token
    assigned = api.call(
        "support", "POST", f"/v1/support-requests/{state['id']}/assign", None, "agent-7"
    )
    token = assigned.headers[HEADER]
    queue = api.client.get(
        "/v1/support/queue",
        params={"limit": 200},
        headers=api.headers("support", "agent-8", **{HEADER: token}),
    )
    # then the queue already shows agent-7 on it (the read waited for the search projection)
    assert queue.status_code == 200, queue.text
    (row,) = [i for i in queue.json()["items"] if i["id"] == state["id"]]
    assert row["assigned_to"] == "agent-7"


def test_issue27_embedded_a_callers_reads_reflect_their_own_commands_without_the_token(
    api: Api,
) -> None:
    # given a request waiting on support
    state = _routed(api)
    # when the agent takes it and, at once, reads the queue with the same token and no header
    api.call("support", "POST", f"/v1/support-requests/{state['id']}/assign", None, "agent-9")
    queue = api.call("support", "GET", "/v1/support/queue?limit=200", None, "agent-9")
    # then the queue shows the assignment
    (row,) = [i for i in queue.json()["items"] if i["id"] == state["id"]]
    assert row["assigned_to"] == "agent-9"


@pytest.mark.parametrize(
    "read",
    [
        "/v1/sellers/{seller}/ledger",
        "/v1/sellers/{seller}/support-rating",
        "/v1/sellers/{seller}/performance",
        "/v1/support-requests",
    ],
)
def test_issue27_seller_projection_reads_honour_the_token(api: Api, read: str) -> None:
    # given a full refund (a ledger charge, a rated request, a resolved list row)
    state = api.open_request()
    answer = api.as_party(state, "seller", "POST", "/responses", {"type": "full_refund"})
    token = answer.headers[HEADER]
    # when the seller reads the projection with the token
    path = read.format(seller=state["seller_id"])
    got = api.client.get(path, headers=api.headers("seller", state["seller_id"], **{HEADER: token}))
    # then it answers, reflecting the refund
    assert got.status_code == 200, got.text
    if "ledger" in path:
        assert state["id"] in {e["request_id"] for e in got.json()["entries"]}
    if path == "/v1/support-requests":
        (row,) = [i for i in got.json()["items"] if i["id"] == state["id"]]
        assert row["status"] == "resolved"


def test_issue27_inbox_and_notifications_honour_the_token(api: Api) -> None:
    # given a buyer's new request, and its token (the answer's)
    state = api.open_request()
    seller = state["seller_id"]
    token = f"{state['id']}:1"
    # when the seller reads their inbox and notifications with it
    headers = api.headers("seller", seller, **{HEADER: token})
    inbox = api.client.get("/v1/inbox", params={"tab": "all"}, headers=headers)
    notes = api.client.get(f"/v1/users/{seller}/notifications", headers=headers)
    # then both already have it
    assert inbox.status_code == 200 and notes.status_code == 200
    assert state["id"] in {r["request_id"] for r in inbox.json()}
    assert state["id"] in {n["request_id"] for n in notes.json()}


def test_issue27_a_token_never_reflected_answers_503_with_retry_after(api: Api) -> None:
    # given a token of an event that does not exist
    headers = api.headers("support", "agent-1", **{HEADER: "no-such-request:7"})
    # when a projection is read with it
    started = time.monotonic()
    got = api.client.get("/v1/support/queue", headers=headers)
    waited = time.monotonic() - started
    # then after the bounded wait the answer is 503 with Retry-After, as a problem
    assert got.status_code == 503
    assert got.headers["Retry-After"] == "1"
    assert got.headers["content-type"].startswith("application/problem+json")
    assert 4.5 <= waited < 30


def test_issue27_a_malformed_token_is_422(api: Api) -> None:
    headers = api.headers("support", "agent-1", **{HEADER: "not a token"})
    got = api.client.get("/v1/support/queue", headers=headers)
    assert got.status_code == 422
    assert "Consistency-Token" in got.json()["detail"]


def test_issue27_the_caller_is_the_same_person_whatever_token_they_hold() -> None:
    # given two tokens of one agent (issued at different moments) and one of another agent
    from datetime import timedelta

    from shared.auth import TokenCodec
    from shared.consistency import caller_key

    codec = TokenCodec()
    first = codec.encode(sub="agent-1", role="support", ttl=timedelta(hours=1))
    second = codec.encode(sub="agent-1", role="support", ttl=timedelta(hours=2))
    other = codec.encode(sub="agent-2", role="support")
    # then the embedded memory of their last command is the same for both of the first's tokens
    key = caller_key(f"Bearer {first}".encode())
    assert first != second and key == caller_key(f"Bearer {second}".encode())
    assert key != caller_key(f"Bearer {other}".encode())
