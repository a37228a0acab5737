"""R39 in embedded mode: a `claim_paid` fact posted to the upstream ingest reaches the ledger."""

from __future__ import annotations

from datetime import datetime, timedelta

from services.embedded import pump_projections
from tests.integration.conftest_http import Api, assert_problem

pytest_plugins = ["tests.integration.conftest_http"]


def _tracking(order: dict) -> str:
    return f"9400-{order['order_id'].removeprefix('o-')}"


def test_r39_claim_paid_at_the_upstream_ingest_credits_the_seller_at_most_the_insured_value(
    api: Api,
) -> None:
    # given a full refund offered with an automatic claim on an eligible USPS shipment
    state = api.open_request()
    order = state["_order"]
    refunded = api.as_party(
        state, "seller", "POST", "/responses", {"type": "full_refund", "auto_claim": True}
    )
    assert refunded.status_code == 200, refunded.text
    pump_projections(api.client.app)
    # when the carrier reports the claim paid, 15 days after the ship date, for more than insured
    paid_at = datetime.fromisoformat("2026-12-02T10:00:00-05:00") + timedelta(days=15)
    fact = {
        "type": "claim_paid",
        "tracking_number": _tracking(order),
        "amount": 12_000,
        "at": paid_at.isoformat(),
    }
    first = api.call("platform", "POST", "/v1/upstream/events", fact, sub="carrier")
    again = api.call("platform", "POST", "/v1/upstream/events", fact, sub="carrier")
    # then it is credited once, capped at the insured value (10000), beside the R30 charge
    assert first.status_code == 202, first.text
    assert again.status_code == 200 and again.json()["changed"] is False
    ledger = api.call(
        "seller", "GET", f"/v1/sellers/{state['seller_id']}/ledger", sub=state["seller_id"]
    )
    kinds = sorted((e["kind"], e["amount"]) for e in ledger.json()["entries"])
    assert kinds == [("claim_credit", 10_000), ("refund_no_return", -2803)]
    assert ledger.json()["balance"]["amount"] == 10_000 - 2803


def test_r39_claim_paid_for_a_shipment_with_no_scheduled_claim_is_404(api: Api) -> None:
    fact = {
        "type": "claim_paid",
        "tracking_number": "9400-never-claimed",
        "amount": 100,
        "at": "2026-12-30T10:00:00-05:00",
    }
    assert_problem(api.call("platform", "POST", "/v1/upstream/events", fact, sub="carrier"), 404)
