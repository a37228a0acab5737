"""GET /v1/sellers/{seller_id}/ledger and POST /v1/ledger/claims/paid over HTTP (ledger router)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient

from services.ledger.application import LedgerApplication
from services.ledger.main import create_app
from services.requests.application import RequestsApplication
from shared.auth import TokenCodec
from shared.clock import AdjustableClock
from tests.integration.ledger_harness import (
    R30_PER_ITEM,
    open_request,
    pump,
    respond,
    shipment_tracking,
)

pytest_plugins = ["tests.integration.ledger_harness"]  # the ledger and ledger_url fixtures

CODEC = TokenCodec()


def auth(role: str, sub: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {CODEC.encode(sub=sub, role=role)}"}


@pytest.fixture
def client(ledger: LedgerApplication) -> Iterator[TestClient]:
    with TestClient(create_app(token_codec=CODEC, ledger=ledger)) as test_client:
        yield test_client


def test_r30_ledger_over_http_for_the_seller_support_and_auditors(
    app: RequestsApplication,
    ledger: LedgerApplication,
    clock: AdjustableClock,
    client: TestClient,
) -> None:
    seller = "seller-http"
    first = open_request(app, seller_id=seller)
    respond(first, "full_refund")
    clock.advance(timedelta(days=1))
    second = open_request(app, seller_id=seller)
    respond(second, "partial_refund", amount=900)
    app.accept_offer(second.id, second.buyer)
    pump(app, ledger)

    url = f"/v1/sellers/{seller}/ledger"
    for role, sub in (("seller", seller), ("support", "agent-1"), ("auditor", "aud-1")):
        response = client.get(url, headers=auth(role, sub))
        assert response.status_code == 200, response.text
        body = response.json()
        assert body["balance"] == {"amount": -(R30_PER_ITEM + 900), "currency": "USD"}
        assert [(e["kind"], e["amount"]) for e in body["entries"]] == [
            ("refund_no_return", -R30_PER_ITEM),
            ("partial_refund", -900),
        ]
        assert set(body["entries"][0]) >= {
            "id",
            "request_id",
            "kind",
            "amount",
            "currency",
            "at",
            "event_id",
        }

    only_second = client.get(
        url, params={"request_id": str(second.id)}, headers=auth("seller", seller)
    ).json()
    assert [e["request_id"] for e in only_second["entries"]] == [str(second.id)]
    assert only_second["total_entries"] == 1  # counted over the filtered entries only
    assert only_second["balance"]["amount"] == -(R30_PER_ITEM + 900)  # balance is all-time

    since = (clock.now() - timedelta(hours=1)).isoformat()
    recent = client.get(url, params={"since": since}, headers=auth("seller", seller)).json()
    assert [e["kind"] for e in recent["entries"]] == ["partial_refund"]
    until = client.get(url, params={"until": since}, headers=auth("seller", seller)).json()
    assert [e["kind"] for e in until["entries"]] == ["refund_no_return"]

    page = client.get(url, params={"limit": 1}, headers=auth("seller", seller)).json()
    assert (len(page["entries"]), page["total_entries"], page["next_offset"]) == (1, 2, 1)
    rest = client.get(url, params={"limit": 1, "offset": 1}, headers=auth("seller", seller))
    assert rest.json()["next_offset"] is None
    assert rest.json()["entries"][0]["kind"] == "partial_refund"
    beyond = client.get(url, params={"limit": 1, "offset": 5}, headers=auth("seller", seller))
    assert (beyond.json()["entries"], beyond.json()["total_entries"]) == ([], 2)
    assert beyond.json()["next_offset"] is None


def test_ledger_access_rules(client: TestClient) -> None:
    url = "/v1/sellers/seller-a/ledger"
    assert client.get(url).status_code == 401
    for role in ("buyer", "platform", "admin"):
        response = client.get(url, headers=auth(role, "seller-a"))
        assert response.status_code == 403, (role, response.text)
        assert response.headers["content-type"].startswith("application/problem+json")
    other_seller = client.get(url, headers=auth("seller", "seller-b"))  # not yours: as unknown
    assert other_seller.status_code == 404
    assert other_seller.headers["content-type"].startswith("application/problem+json")
    empty = client.get(url, headers=auth("seller", "seller-a"))
    assert empty.status_code == 200
    assert empty.json()["entries"] == []
    assert empty.json()["balance"] == {"amount": 0, "currency": "USD"}
    bad = client.get(url, params={"since": "2026-12-01T00:00:00"}, headers=auth("support", "s"))
    assert bad.status_code == 422
    assert client.get(url, params={"limit": 0}, headers=auth("support", "s")).status_code == 422


def test_r39_claim_paid_over_http(
    app: RequestsApplication,
    ledger: LedgerApplication,
    clock: AdjustableClock,
    client: TestClient,
) -> None:
    opened = open_request(app, insured_value=3000)
    respond(opened, "full_refund", auto_claim=True)
    pump(app, ledger)
    tracking = shipment_tracking(app, opened)
    body = {
        "type": "claim_paid",
        "tracking_number": tracking,
        "amount": 5000,
        "at": (clock.now() + timedelta(days=1)).isoformat(),
    }
    assert (
        client.post("/v1/ledger/claims/paid", json=body, headers=auth("buyer", "b")).status_code
        == 403
    )
    created = client.post("/v1/ledger/claims/paid", json=body, headers=auth("platform", "ups"))
    assert created.status_code == 201, created.text
    assert (created.json()["kind"], created.json()["amount"]) == ("claim_credit", 3000)
    assert (
        client.post("/v1/ledger/claims/paid", json=body, headers=auth("platform", "p")).status_code
        == 200
    )
    different = client.post(
        "/v1/ledger/claims/paid", json={**body, "amount": 10}, headers=auth("platform", "p")
    )
    assert different.status_code == 409
    early = client.post(
        "/v1/ledger/claims/paid",
        json={**body, "tracking_number": tracking, "at": "2026-11-24T00:00:00+00:00"},
        headers=auth("platform", "p"),
    )
    assert early.status_code == 409
    unknown = client.post(
        "/v1/ledger/claims/paid",
        json={**body, "tracking_number": "nope"},
        headers=auth("platform", "p"),
    )
    assert unknown.status_code == 404
    assert unknown.headers["content-type"].startswith("application/problem+json")
    view = client.get(
        f"/v1/sellers/{opened.order.seller_id}/ledger",
        headers=auth("seller", opened.order.seller_id),
    ).json()
    assert view["balance"]["amount"] == -R30_PER_ITEM + 3000
