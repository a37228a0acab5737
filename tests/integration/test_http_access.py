"""The full role x endpoint access matrix, authentication, and object-level visibility.

Rules: 401 without a valid token; 403 for a role the endpoint is not for; 404 for unknown AND
foreign resources alike (no existence leak). Buyers see only their requests, sellers only requests
about their sales, support sees all and alone decides, auditors read everything and change nothing,
platform alone posts upstream facts, admin alone moves the clock.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import jwt
import pytest

from shared.auth import ROLES
from tests.integration.conftest_http import Api, assert_problem

pytest_plugins = ["tests.integration.conftest_http"]
pytestmark = pytest.mark.filterwarnings("ignore::jwt.warnings.InsecureKeyLengthWarning")

READERS = {"buyer", "seller", "support", "auditor"}

# (name, method, path template, body, roles allowed, statuses an allowed caller may get)
ENDPOINTS: list[tuple[str, str, str, Any, set[str], set[int]]] = [
    ("open", "POST", "/v1/support-requests", "OPEN", {"buyer"}, {201, 409}),
    ("get", "GET", "/v1/support-requests/{id}", None, READERS, {200}),
    ("history", "GET", "/v1/support-requests/{id}/history", None, READERS, {200}),
    ("order", "GET", "/v1/orders/{order}/support-request", None, READERS, {200}),
    ("orders", "GET", "/v1/orders", None, READERS, {200}),  # R64
    ("order-view", "GET", "/v1/orders/{order}", None, READERS, {200}),  # R64
    (
        "respond",
        "POST",
        "/v1/support-requests/{id}/responses",
        {"type": "request_info", "message": "Photo?"},
        {"seller"},
        {200},
    ),
    ("accept", "POST", "/v1/support-requests/{id}/offer/accept", None, {"buyer"}, {409}),
    ("decline", "POST", "/v1/support-requests/{id}/offer/decline", None, {"buyer"}, {409}),
    ("confirm", "POST", "/v1/support-requests/{id}/return/confirm", None, {"seller"}, {409}),
    (
        "dispute",
        "POST",
        "/v1/support-requests/{id}/return/dispute",
        {"reason": "x"},
        {"seller"},
        {409},
    ),
    (
        "return-for-refund",
        "POST",
        "/v1/support-requests/{id}/return-for-refund",
        None,
        {"buyer"},
        {409},
    ),
    (
        "message",
        "POST",
        "/v1/support-requests/{id}/messages",
        {"body": "hi"},
        {"buyer", "seller"},
        {200},
    ),
    ("escalate", "POST", "/v1/support-requests/{id}/escalate", {"reason": "x"}, {"buyer"}, {409}),
    (
        "decide",
        "POST",
        "/v1/support-requests/{id}/decision",
        {"outcome": "refund"},
        {"support"},
        {409},
    ),
    ("feedback", "POST", "/v1/support-requests/{id}/feedback", {"thumbs": "up"}, {"buyer"}, {409}),
    ("upstream", "POST", "/v1/upstream/events", "FACT", {"platform"}, {200, 202}),
    ("clock-move", "POST", "/v1/admin/clock", {"advance": "PT0S"}, {"admin"}, {200}),
    ("clock-read", "GET", "/v1/admin/clock", None, set(ROLES), {200}),
    ("ledger", "GET", "/v1/sellers/{seller}/ledger", None, {"seller", "support", "auditor"}, {200}),
    ("rating", "GET", "/v1/sellers/{seller}/support-rating", None, set(ROLES), {200}),
    ("notifications", "GET", "/v1/users/{me}/notifications", None, set(ROLES), {200}),
    ("inbox", "GET", "/v1/inbox?tab=all", None, {"buyer", "seller"}, {200}),
    ("inbox-unread", "POST", "/v1/inbox/{id}/unread", None, {"buyer", "seller"}, {200, 404}),
    ("inbox-archive", "POST", "/v1/inbox/{id}/archive", None, {"buyer", "seller"}, {200, 404}),
    ("search", "GET", "/v1/support-requests?status=awaiting_seller", None, READERS, {200}),
    ("queue", "GET", "/v1/support/queue", None, {"support"}, {200}),
    ("assign", "POST", "/v1/support-requests/{id}/assign", None, {"support"}, {409}),
    (
        "performance",
        "GET",
        "/v1/sellers/{seller}/performance",
        None,
        {"seller", "support", "auditor"},
        {200},
    ),
]


def _subject(role: str, state: dict[str, Any]) -> str:
    return {"buyer": state["buyer_id"], "seller": state["seller_id"]}.get(role, f"{role}-1")


def _fill(api: Api, template: Any, state: dict[str, Any], sub: str) -> Any:
    if template == "OPEN":
        order = state["_order"]
        return {
            "order_id": order["order_id"],
            "item_ids": ["i1"],
            "reason": "defective",
            "description": "again",
        }
    if template == "FACT":
        return {"type": "fraud_suspected", "order_id": state["order_id"]}
    return template


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize(
    ("name", "method", "template", "body", "allowed", "ok"),
    ENDPOINTS,
    ids=[e[0] for e in ENDPOINTS],
)
def test_access_matrix_role_may_or_may_not_call_endpoint(
    api: Api, role: str, name: str, method: str, template: str, body: Any, allowed: set, ok: set
) -> None:
    state = api.open_request()
    sub = _subject(role, state)
    path = template.format(
        id=state["id"], order=state["order_id"], seller=state["seller_id"], me=sub
    )
    response = api.call(role, method, path, _fill(api, body, state, sub), sub=sub)
    if role in allowed:
        assert response.status_code in ok, (role, name, response.status_code, response.text)
    else:
        assert_problem(response, 403, detail_contains=f"a {role} may not")


# Only the party roles an endpoint admits: for the others it answers 403, which the matrix proves.
FOREIGN_CASES = [
    (role, *e)
    for e in ENDPOINTS
    if "{id}" in e[2] or "{order}" in e[2]
    for role in ("buyer", "seller")
    if role in e[4]
]


@pytest.mark.parametrize(
    ("role", "name", "method", "template", "body", "allowed", "ok"),
    FOREIGN_CASES,
    ids=[f"{c[0]}-{c[1]}" for c in FOREIGN_CASES],
)
def test_foreign_request_answers_404_like_an_unknown_one(
    api: Api, role: str, name: str, method: str, template: str, body: Any, allowed: set, ok: set
) -> None:
    state = api.open_request()
    foreign = api.call(
        role,
        method,
        template.format(id=state["id"], order=state["order_id"]),
        body,
        sub=f"stranger-{role}",
    )
    unknown = api.call(
        role,
        method,
        template.format(id="00000000-0000-0000-0000-000000000000", order="no-such-order"),
        body,
        sub=f"stranger-{role}",
    )
    assert_problem(foreign, 404)
    assert_problem(unknown, 404)
    assert foreign.json()["type"] == unknown.json()["type"]


def test_a_seller_reading_another_sellers_ledger_gets_404(api: Api) -> None:
    assert_problem(api.call("seller", "GET", "/v1/sellers/s-other/ledger", sub="s-me"), 404)


def test_another_users_notifications_answer_404(api: Api) -> None:
    assert_problem(api.call("buyer", "GET", "/v1/users/u-other/notifications", sub="u-me"), 404)


def test_auditor_reads_everything_and_changes_nothing(api: Api) -> None:
    state = api.open_request()
    assert api.as_party(state, "auditor", "GET").status_code == 200
    assert api.as_party(state, "auditor", "GET", "/history").status_code == 200
    for suffix, body in (
        ("/responses", {"type": "full_refund"}),
        ("/messages", {"body": "x"}),
        ("/decision", {"outcome": "refund"}),
    ):
        assert_problem(api.as_party(state, "auditor", "POST", suffix, body), 403)
    assert api.as_party(state, "auditor", "GET").json()["version"] == state["version"]


# --- authentication -------------------------------------------------------------------------------


def test_no_token_is_401_with_a_bearer_challenge(api: Api) -> None:
    response = api.client.get("/v1/support-requests/x")
    assert_problem(response, 401, detail_contains="Authorization: Bearer")
    assert response.headers["www-authenticate"].startswith("Bearer")


def _raw_token(secret: str = "dev-insecure-secret-do-not-use-in-production", **claims: Any) -> str:
    now = datetime.now(UTC)
    base = {"sub": "b1", "role": "buyer", "exp": now + timedelta(hours=1)}
    base.update(claims)
    return jwt.encode({k: v for k, v in base.items() if v is not None}, secret, algorithm="HS256")


@pytest.mark.parametrize(
    ("token", "needle"),
    [
        ("not-a-jwt", "not valid"),
        (_raw_token(secret="some-other-secret-of-enough-length!"), "signature"),
        (_raw_token(exp=datetime.now(UTC) - timedelta(hours=1)), "expired"),
        (_raw_token(exp=None), "exp"),
        (_raw_token(role=None), "role"),
        (_raw_token(sub=None), "sub"),
        (_raw_token(role="superuser"), "role"),
    ],
    ids=["garbage", "wrong-secret", "expired", "no-exp", "no-role", "no-sub", "unknown-role"],
)
def test_invalid_or_expired_token_is_401(api: Api, token: str, needle: str) -> None:
    response = api.client.get("/v1/admin/clock", headers={"Authorization": f"Bearer {token}"})
    assert_problem(response, 401, detail_contains=needle)


def test_a_token_signed_with_alg_none_is_401(api: Api) -> None:
    token = jwt.encode(
        {"sub": "a", "role": "admin", "exp": datetime.now(UTC) + timedelta(hours=1)},
        key=None,
        algorithm="none",
    )
    response = api.client.post(
        "/v1/admin/clock", json={"advance": "PT1H"}, headers={"Authorization": f"Bearer {token}"}
    )
    assert_problem(response, 401)


def test_basic_auth_instead_of_bearer_is_401(api: Api) -> None:
    response = api.client.get("/v1/admin/clock", headers={"Authorization": "Basic YTpi"})
    assert_problem(response, 401)
