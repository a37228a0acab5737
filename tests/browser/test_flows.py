"""Every flow of UI.md walked in real Chromium through the web app, each checked through the API.

Given orders seeded as the platform, when a person clicks the buttons UI.md names, then the page
shows the outcome in words and the API's state is that outcome.
"""

from __future__ import annotations

import re
from typing import Any

from playwright.sync_api import expect

from tests.browser.conftest import Api, new_user, sign_in


def open_request_page(page: Any, order_id: str) -> None:
    page.get_by_role("link", name=re.compile(order_id)).first.click()
    expect(page.get_by_role("heading", level=1)).to_contain_text(order_id)


# Money moves and support decisions are confirmed on a page of their own first (UI.md v2).
CONFIRMED_FIRST = {
    "Full refund",
    "Refund with return",
    "Partial refund",
    "Refund",
    "Uphold seller",
    "Platform refund",
}


def act(page: Any, name: str, fields: dict[str, str] | None = None) -> None:
    form = page.get_by_role("form", name=name, exact=True)
    for label, value in (fields or {}).items():
        form.get_by_label(label, exact=True).fill(value)
    form.get_by_role("button", name=name, exact=True).click()
    if name in CONFIRMED_FIRST:
        page.get_by_role("button", name="Confirm", exact=True).click()


def test_seller_answers_each_response_type_r10_r18(page: Any, server: str, api: Api) -> None:
    # Given six requests waiting on one seller
    buyer, seller = new_user("buyer"), new_user("seller")
    orders = [api.order(buyer, seller) for _ in range(6)]
    ids = [api.open(buyer, o)["id"] for o in orders]
    api.wait_for_listed("seller", seller, waiting_on="seller", count=6)
    for request_id in ids:  # and in the inbox, another projection
        api.conversation("seller", seller, request_id)
    sign_in(page, server, "seller", seller)
    expect(page.get_by_role("tab", name="Customer Service")).to_have_attribute(
        "aria-selected", "true"
    )
    expect(page.locator("#waiting-count")).to_contain_text("6 waiting on you")
    answers = [
        ("Full refund", {}, "resolved", "full_refund"),
        ("Refund with return", {}, "awaiting_return", None),
        ("Partial refund", {"Amount": "10.00"}, "offer_pending", None),
        (
            "Send replacement",
            {"Carrier": "USPS", "Tracking number": "REP-1"},
            "replacement_pending",
            None,
        ),
        (
            "No refund",
            {
                "Message": "The crease shows in the listing photos.",
                "Evidence links, one per line": "https://photos.example/listing.jpg",
            },
            "awaiting_buyer",
            None,
        ),
        (
            "Ask for information",
            {"Message": "Could you send a photo of the back?"},
            "awaiting_buyer",
            None,
        ),
    ]
    for order_id, request_id, (button, fields, status, resolution) in zip(
        orders, ids, answers, strict=True
    ):
        # When the seller opens the request from the inbox and answers
        page.goto(f"{server}/app/inbox")
        open_request_page(page, order_id)
        expect(page.locator("#status-words")).to_contain_text("Waiting for the seller's response")
        expect(page.locator("#next-deadline")).to_contain_text("48 business hours")
        act(page, button, fields)
        # Then the page and the API agree
        expect(page.get_by_role("status")).to_contain_text("Done.")
        state = api.state(request_id)
        assert state["status"] == status, (button, state)
        assert state["resolution"] == resolution
        if button == "Partial refund":
            assert state["offer"] == {"amount": 1000, "state": "pending"}
            expect(page.locator("#request-live")).to_contain_text("$10.00")
        if button == "Send replacement":
            expect(page.locator("#timeline")).to_contain_text("REP-1")


def test_buyer_accepts_and_declines_offers_r14(page: Any, server: str, api: Api) -> None:
    buyer, seller = new_user("buyer"), new_user("seller")
    accepted, declined = api.order(buyer, seller), api.order(buyer, seller)
    for order_id in (accepted, declined):
        rid = api.open(buyer, order_id)["id"]
        api.call(
            "seller",
            seller,
            "POST",
            f"/v1/support-requests/{rid}/responses",
            {"type": "partial_refund", "amount": 750},
        )
        api.conversation("buyer", buyer, rid)  # the inbox is a projection: wait until it has it
    sign_in(page, server, "buyer", buyer)
    page.get_by_role("tab", name="All Messages").click()
    open_request_page(page, accepted)
    expect(page.locator("#status-words")).to_contain_text("An offer waits for the buyer's answer")
    expect(page.locator("#request-live")).to_contain_text("$7.50")
    act(page, "Accept offer")
    expect(page.locator("#status-words")).to_contain_text("Resolved")
    state = api.call("buyer", buyer, "GET", f"/v1/orders/{accepted}/support-request")[0]
    assert (state["status"], state["resolution"], state["refund"]["amount"]) == (
        "resolved",
        "partial_refund",
        750,
    )
    # Feedback once the request is resolved (R46)
    act(page, "Thumbs up")
    expect(page.get_by_role("button", name="Thumbs up")).to_have_count(0)
    assert api.state(state["id"])["feedback"] == "up"

    page.goto(f"{server}/app/inbox?tab=all")
    open_request_page(page, declined)
    act(page, "Decline offer")
    expect(page.locator("#status-words")).to_contain_text(
        "Waiting for the buyer to ship the return"
    )
    state = api.call("buyer", buyer, "GET", f"/v1/orders/{declined}/support-request")[0]
    assert state["status"] == "awaiting_return"


def test_buyer_escalates_and_support_decides_from_the_queue_r19_r22(
    browser: Any, page: Any, server: str, api: Api
) -> None:
    buyer, seller = new_user("buyer"), new_user("seller")
    earlier, later = api.order(buyer, seller), api.order(buyer, seller)
    first = api.open(buyer, earlier)["id"]
    second = api.open(buyer, later)["id"]
    sign_in(page, server, "buyer", buyer)
    page.goto(f"{server}/app/requests/{first}")
    expect(page.get_by_role("button", name="Escalate")).to_have_count(0)  # not before the deadline
    api.advance("P7D")  # the seller's 48 business hours pass (R8)
    page.reload()
    act(page, "Escalate", {"Message": "The seller did not answer."})
    expect(page.locator("#status-words")).to_contain_text("Escalated to platform support")
    expect(page.get_by_role("form", name="Messages")).to_have_count(0)  # R21
    assert api.state(first)["status"] == "escalated"
    api.advance("P7D")  # the first has now waited past support's SLA
    api.call(
        "buyer", buyer, "POST", f"/v1/support-requests/{second}/escalate", {"reason": "Nothing."}
    )
    api.wait_for_queue([first, second])

    agent_context = browser.new_context()
    agent = agent_context.new_page()
    try:
        agent_id = new_user("agent")
        sign_in(agent, server, "support", agent_id)
        expect(agent.get_by_role("heading", level=1)).to_have_text("Support queue")
        rows = agent.get_by_role("listitem").filter(
            has=agent.get_by_role("link", name=re.compile("Order "))
        )
        texts = rows.all_inner_texts()
        order_of = [earlier if earlier in t else later if later in t else None for t in texts]
        mine = [o for o in order_of if o]
        assert mine == [earlier, later], texts  # the longest wait first
        expect(rows.filter(has_text=earlier).get_by_text("SLA breached")).to_be_visible()
        expect(rows.filter(has_text=later).get_by_text("SLA breached")).to_have_count(0)
        rows.filter(has_text=earlier).get_by_role("button", name="Assign to me").click()
        expect(agent.get_by_role("status")).to_contain_text("Done.")
        assert api.state(first)["assigned_to"] == agent_id
        api.wait_for_queue([first], assigned_to=agent_id)
        agent.reload()
        expect(rows.filter(has_text=earlier)).to_contain_text(f"Assigned to: {agent_id}")
        agent.get_by_role("link", name=re.compile(earlier)).click()
        for name in ("Refund", "Refund with return", "Uphold seller", "Platform refund"):
            expect(agent.get_by_role("button", name=name, exact=True)).to_be_visible()
        act(agent, "Refund")
        expect(agent.locator("#status-words")).to_contain_text("Resolved")
    finally:
        agent_context.close()
    state = api.state(first)
    assert (state["status"], state["resolution"]) == ("resolved", "full_refund")


def test_return_shipped_by_the_carrier_then_seller_inspects_r11_r12(
    page: Any, server: str, api: Api
) -> None:
    buyer, seller = new_user("buyer"), new_user("seller")
    confirmed, disputed = api.order(buyer, seller), api.order(buyer, seller)
    sign_in(page, server, "seller", seller)
    for order_id, button in ((confirmed, "Confirm return"), (disputed, "Dispute return")):
        rid = api.open(buyer, order_id)["id"]
        page.goto(f"{server}/app/requests/{rid}")
        act(page, "Refund with return")
        expect(page.locator("#status-words")).to_contain_text(
            "Waiting for the buyer to ship the return"
        )
        # The test plays the platform's label service and the carrier.
        tracking = f"RET-{rid[:8]}"
        api.fact(
            {
                "type": "return_label_created",
                "request_id": rid,
                "tracking_number": tracking,
                "label_cost": 450,
                "at": api.now(),
            }
        )
        for scan in ("accepted", "delivered"):
            api.fact(
                {
                    "type": "shipment_scanned",
                    "tracking_number": tracking,
                    "status": scan,
                    "at": api.now(),
                }
            )
        page.reload()
        expect(page.locator("#status-words")).to_contain_text("waiting for the seller's inspection")
        expect(page.locator("#request-live")).to_contain_text(tracking)
        expect(page.locator("#timeline")).to_contain_text("Return delivered to the seller")
        if button == "Confirm return":
            act(page, button)
            expect(page.locator("#status-words")).to_contain_text("Resolved")
            assert api.state(rid)["resolution"] == "full_refund"
        else:
            act(page, button, {"Message": "The card in the box is a different one."})
            expect(page.get_by_role("status")).to_contain_text("Done.")
            # R12: a disputed return puts the request on hold and escalates it to support
            assert api.state(rid)["status"] == "escalated"


def test_replacement_overdue_buyer_returns_for_refund_r16(page: Any, server: str, api: Api) -> None:
    buyer, seller = new_user("buyer"), new_user("seller")
    order_id = api.order(buyer, seller)
    rid = api.open(buyer, order_id)["id"]
    api.call(
        "seller",
        seller,
        "POST",
        f"/v1/support-requests/{rid}/responses",
        {"type": "replacement", "carrier": "USPS", "tracking_number": f"REP-{rid[:8]}"},
    )
    sign_in(page, server, "buyer", buyer)
    page.goto(f"{server}/app/requests/{rid}")
    expect(page.get_by_role("button", name="Return for refund")).to_have_count(0)
    api.advance("P5D")  # no first scan within 48 business hours: overdue
    page.reload()
    act(page, "Return for refund")
    expect(page.locator("#status-words")).to_contain_text(
        "Waiting for the buyer to ship the return"
    )
    assert api.state(rid)["status"] == "awaiting_return"


def test_refused_action_shows_the_api_detail(page: Any, server: str, api: Api) -> None:
    buyer, seller = new_user("buyer"), new_user("seller")
    order_id = api.order(buyer, seller)
    rid = api.open(buyer, order_id)["id"]
    sign_in(page, server, "seller", seller)
    page.goto(f"{server}/app/requests/{rid}")
    # Meanwhile the seller answered elsewhere (another tab, the API)
    api.call(
        "seller", seller, "POST", f"/v1/support-requests/{rid}/responses", {"type": "full_refund"}
    )
    act(page, "Partial refund", {"Amount": "5.00"})
    alert = page.get_by_role("alert")
    expect(alert).to_contain_text("no seller response is due")
    expect(page.locator("body")).not_to_contain_text("Traceback")
    assert api.state(rid)["resolution"] == "full_refund"


def test_archive_and_mark_unread_r51(page: Any, server: str, api: Api) -> None:
    buyer, seller = new_user("buyer"), new_user("seller")
    order_id = api.order(buyer, seller)
    rid = api.open(buyer, order_id)["id"]
    api.conversation("seller", seller, rid)  # the inbox is a projection: wait until it has it
    sign_in(page, server, "seller", seller)
    open_request_page(page, order_id)  # reading it marks it read
    page.goto(f"{server}/app/inbox")
    row = page.get_by_role("listitem").filter(has_text=order_id)
    expect(row.get_by_text("Unread", exact=True)).to_have_count(0)
    row.get_by_role("button", name="Mark unread").click()
    row = page.get_by_role("listitem").filter(has_text=order_id)
    expect(row.get_by_text("Unread", exact=True)).to_be_visible()
    inbox = api.call("seller", seller, "GET", "/v1/inbox?tab=customer_service")
    assert [c["unread"] for c in inbox if c["request_id"] == rid] == [True]
    row.get_by_role("button", name="Archive").click()
    expect(page.get_by_role("link", name=re.compile(order_id))).to_have_count(0)
    archived = api.call("seller", seller, "GET", "/v1/inbox?tab=customer_service&archived=true")
    assert [c["request_id"] for c in archived] == [rid]
    # The request page offers both too
    page.goto(f"{server}/app/requests/{rid}")
    expect(page.get_by_role("button", name="Archive")).to_be_visible()
    expect(page.get_by_role("button", name="Mark unread")).to_be_visible()


def test_messages_between_the_parties(page: Any, server: str, api: Api) -> None:
    buyer, seller = new_user("buyer"), new_user("seller")
    order_id = api.order(buyer, seller)
    rid = api.open(buyer, order_id)["id"]
    sign_in(page, server, "buyer", buyer)
    page.goto(f"{server}/app/requests/{rid}")
    form = page.get_by_role("form", name="Messages")
    form.get_by_label("Message").fill("Any news?")
    form.get_by_role("button", name="Send").click()
    expect(page.locator("#messages")).to_contain_text("Any news?")
    history = api.call("seller", seller, "GET", f"/v1/support-requests/{rid}/history")
    assert [h["data"]["body"] for h in history if h["type"] == "message_posted"] == ["Any news?"]


def test_language_switch_dutch_sets_lang_and_the_users_locale(
    page: Any, server: str, api: Api
) -> None:
    seller = new_user("seller")
    sign_in(page, server, "seller", seller)
    expect(page.locator("html")).to_have_attribute("lang", "en")
    page.get_by_label("Language").select_option("nl")
    page.get_by_role("button", name="Change").click()
    expect(page.locator("html")).to_have_attribute("lang", "nl")
    expect(page.get_by_role("tab", name="Klantenservice")).to_be_visible()
    expect(page.get_by_role("tab", name="Alle berichten")).to_be_visible()
    assert api.call("seller", seller, "GET", f"/v1/users/{seller}/settings")["locale"] == "nl"
    # The request page in Dutch: status, deadline and the responses, money in the Dutch format
    buyer = new_user("buyer")
    rid = api.open(buyer, api.order(buyer, seller))["id"]
    page.goto(f"{server}/app/requests/{rid}")
    expect(page.locator("html")).to_have_attribute("lang", "nl")
    expect(page.locator("#status-words")).to_contain_text("Wacht op het antwoord van de verkoper")
    expect(page.locator("#next-deadline")).to_contain_text("48 werkuren")
    expect(page.get_by_role("button", name="Volledige terugbetaling")).to_be_visible()
    expect(page.get_by_text("US$ 25,00")).to_be_visible()
    page.goto(f"{server}/app/inbox")
    page.get_by_label("Taal").select_option("en")
    page.get_by_role("button", name="Wijzig").click()
    expect(page.locator("html")).to_have_attribute("lang", "en")
    expect(page.get_by_role("tab", name="Customer Service")).to_be_visible()


def test_sign_in_lands_by_role_and_sign_out_clears_the_session(page: Any, server: str) -> None:
    for role, heading in (
        ("buyer", "Inbox"),
        ("support", "Support queue"),
        ("auditor", "Search requests"),
    ):
        sign_in(page, server, role, new_user(role))
        expect(page.get_by_role("heading", level=1)).to_have_text(heading)
        page.get_by_role("button", name="Sign out").click()
        expect(page.get_by_role("button", name="Sign in")).to_be_visible()
    page.goto(f"{server}/app/inbox")
    expect(page.get_by_role("button", name="Sign in")).to_be_visible()
    assert page.context.cookies() == [] or all(
        c["name"] != "seller_support_session" or "token" not in c["value"]
        for c in page.context.cookies()
    )


def test_live_new_request_and_message_appear_without_reload(
    page: Any, server: str, api: Api
) -> None:
    buyer, seller = new_user("buyer"), new_user("seller")
    first = api.order(buyer, seller)
    rid = api.open(buyer, first)["id"]
    api.conversation("seller", seller, rid)  # the inbox is a projection: wait until it has it
    sign_in(page, server, "seller", seller)
    expect(page.get_by_role("link", name=re.compile(first))).to_be_visible()
    page.evaluate("window.__notReloaded = true")
    second = api.order(buyer, seller)
    api.open(buyer, second)
    expect(page.get_by_role("link", name=re.compile(second))).to_be_visible(timeout=20_000)
    page.goto(f"{server}/app/requests/{rid}")
    page.evaluate("window.__notReloaded = true")
    api.call(
        "buyer",
        buyer,
        "POST",
        f"/v1/support-requests/{rid}/messages",
        {"body": "Here is the photo.", "attachments": []},
    )
    expect(page.locator("#messages")).to_contain_text("Here is the photo.", timeout=20_000)
    assert page.evaluate("window.__notReloaded") is True


def test_auditor_searches_and_reads_a_request_without_actions(
    page: Any, server: str, api: Api
) -> None:
    buyer, seller = new_user("buyer"), new_user("seller")
    order_id = api.order(buyer, seller)
    rid = api.open(buyer, order_id)["id"]
    api.wait_for_listed("support", "agent-1", count=1, order_id=order_id)
    sign_in(page, server, "auditor", new_user("auditor"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Search requests")
    page.get_by_label("Order id, request id or text").fill(order_id)
    page.get_by_role("button", name="Search").click()
    page.get_by_role("link", name=re.compile(order_id)).click()
    expect(page.get_by_role("heading", level=1)).to_contain_text(order_id)
    expect(page.locator("#timeline")).to_contain_text("Request opened")
    expect(page.get_by_text("Nothing waits on you here now.")).to_be_visible()
    expect(page.get_by_role("form", name="Messages")).to_have_count(0)
    # A request id goes straight to the request
    page.goto(f"{server}/app/search?q={rid}")
    expect(page.get_by_role("heading", level=1)).to_contain_text(order_id)
    assert api.state(rid)["status"] == "awaiting_seller"
