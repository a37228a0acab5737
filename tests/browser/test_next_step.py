"""The request page says what happens next as the API does (issue 27; notes/web-app-findings.md
B1, B4, B7, B8, B9): in real Chromium, each contradiction the findings reported is checked gone,
and the API is checked afterwards.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from playwright.sync_api import expect

from tests.browser.conftest import Api, new_user, sign_in


def _respond(api: Api, seller: str, request_id: str, body: dict[str, Any]) -> None:
    api.call("seller", seller, "POST", f"/v1/support-requests/{request_id}/responses", body)


def _request_page(page: Any, server: str, request_id: str) -> None:
    page.goto(f"{server}/app/requests/{request_id}")
    expect(page.get_by_role("heading", name="What you can do now")).to_be_visible()


def test_issue27_b1_a_live_update_brings_the_buyers_buttons(
    page: Any, server: str, api: Api
) -> None:
    # given the buyer on a request that waits on the seller
    buyer, seller = new_user("buyer"), new_user("seller")
    request_id = api.open(buyer, api.order(buyer, seller))["id"]
    sign_in(page, server, "buyer", buyer)
    _request_page(page, server, request_id)
    expect(page.get_by_text("Nothing waits on you here now.")).to_be_visible()
    # when the seller offers a partial refund (through the API, not this page)
    _respond(api, seller, request_id, {"type": "partial_refund", "amount": 500})
    # then, without a reload, the status and the buttons follow
    expect(page.locator("#status-words")).to_contain_text("An offer waits for the buyer's answer")
    expect(page.get_by_role("button", name="Accept offer")).to_be_visible()
    expect(page.get_by_role("button", name="Decline offer")).to_be_visible()
    expect(page.get_by_text("Nothing waits on you here now.")).to_have_count(0)
    # and the buttons work
    page.get_by_role("button", name="Accept offer").click()
    expect(page.locator("#status-words")).to_contain_text("Resolved")
    assert api.state(request_id)["resolution"] == "partial_refund"


def test_issue27_b4_no_refund_is_not_a_request_for_information(
    page: Any, server: str, api: Api
) -> None:
    # given a seller's no-refund explanation
    buyer, seller = new_user("buyer"), new_user("seller")
    request_id = api.open(buyer, api.order(buyer, seller))["id"]
    body = {"type": "no_refund", "message": "Outside the policy.", "evidence": ["https://e.x/1"]}
    _respond(api, seller, request_id, body)
    # when the buyer opens the request
    sign_in(page, server, "buyer", buyer)
    _request_page(page, server, request_id)
    # then it says the seller declined and the buyer may reply or escalate, and until when
    words = page.locator("#status-words")
    expect(words).to_contain_text("The seller declined a refund")
    expect(words).not_to_contain_text("information")
    expect(page.locator("#next-deadline")).to_contain_text("Closes without refund on")
    assert api.state(request_id)["deadlines"]["no_refund_close"] is not None


def test_issue27_b7_b8_a_replacement_waits_on_the_seller_then_opens_the_buyers_window(
    page: Any, server: str, api: Api
) -> None:
    # given a replacement promised, before any carrier scan
    buyer, seller = new_user("buyer"), new_user("seller")
    request_id = api.open(buyer, api.order(buyer, seller))["id"]
    body = {"type": "replacement", "carrier": "USPS", "tracking_number": f"R-{request_id[:8]}"}
    _respond(api, seller, request_id, body)
    # when the seller opens it
    sign_in(page, server, "seller", seller)
    _request_page(page, server, request_id)
    # then the page says it waits on the seller to ship, as the inbox badge does (B7)
    expect(page.locator("#status-words")).to_contain_text(
        "Waiting for the seller to ship the replacement"
    )
    assert api.state(request_id)["waiting_on"] == "seller"
    # when its 48 business hours pass without a scan, and the buyer looks (B8)
    due = datetime.fromisoformat(api.state(request_id)["deadlines"]["replacement_ship"])
    moment = (due + timedelta(minutes=1)).isoformat()
    api.call("admin", "ops", "POST", "/v1/admin/clock", {"set": moment})
    page.context.clear_cookies()
    sign_in(page, server, "buyer", buyer)
    _request_page(page, server, request_id)
    # then the late shipment and the buyer's window to return the original both show
    expect(page.locator("#status-words")).to_contain_text("The replacement is late")
    expect(page.locator("#next-deadline")).to_contain_text("Replacement must ship by")
    expect(page.locator("#next-deadline")).to_contain_text("The deadline has passed.")
    expect(page.get_by_role("button", name="Return for refund")).to_be_visible()
    state = api.state(request_id)
    assert state["overdue"] == ["replacement_ship"]
    assert state["deadlines"]["return_for_refund"] is not None


def test_issue27_b9_a_declined_offer_is_not_shown_as_current(
    page: Any, server: str, api: Api
) -> None:
    # given an offer the buyer declined
    buyer, seller = new_user("buyer"), new_user("seller")
    request_id = api.open(buyer, api.order(buyer, seller))["id"]
    _respond(api, seller, request_id, {"type": "partial_refund", "amount": 500})
    api.call("buyer", buyer, "POST", f"/v1/support-requests/{request_id}/offer/decline")
    # when the buyer opens the request
    sign_in(page, server, "buyer", buyer)
    _request_page(page, server, request_id)
    # then the offer reads as declined, not as the current offer
    facts = page.locator("#request-live dl.facts")
    expect(facts).to_contain_text("Declined offer")
    expect(facts.get_by_text("Offer", exact=True)).to_have_count(0)
    assert api.state(request_id)["offer"] == {"amount": 500, "state": "declined"}


def test_issue27_b3_assign_to_me_shows_the_assignment_at_once(
    page: Any, server: str, api: Api
) -> None:
    # given a request routed to support, in the queue
    buyer, seller = new_user("buyer"), new_user("seller")
    order_id = api.order(buyer, seller)
    request_id = api.open(buyer, order_id, reason="other")["id"]
    api.wait_for_queue([request_id])
    agent = new_user("agent")
    sign_in(page, server, "support", agent)
    page.goto(f"{server}/app/queue")
    row = page.get_by_role("listitem").filter(has_text=order_id)
    expect(row).to_contain_text("Assigned to: Nobody")
    # when the agent clicks Assign to me
    row.get_by_role("button", name="Assign to me").click()
    # then the page that follows already shows the agent on it, beside "Done."
    expect(page.get_by_role("status")).to_contain_text("Done.")
    row = page.get_by_role("listitem").filter(has_text=order_id)
    expect(row).to_contain_text(f"Assigned to: {agent}", timeout=1_000)
    assert api.state(request_id)["assigned_to"] == agent
