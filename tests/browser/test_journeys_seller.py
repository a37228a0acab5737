"""Sellers and everyone (issue 29, UI.md v2): money buttons confirm first with the amounts in words
(**Confirm** / **Cancel**), the partial refund keeps what was typed after a refusal and says the
largest amount in the currency (B10), and the notifications page shows short summaries with
unread marks, a count in the navigation and paging (B21). Checked through the API afterwards.
"""

from __future__ import annotations

import time
from typing import Any

from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import expect

from tests.browser.conftest import Api, new_user, sign_in

SEVERE = {"serious", "critical"}


def severe_violations(page: Any) -> list[Any]:
    result = Axe().run(page)
    return [
        (v["id"], [n["target"] for n in v["nodes"]][:3])
        for v in result.response["violations"]
        if v.get("impact") in SEVERE
    ]


def press(page: Any, name: str) -> None:
    page.get_by_role("form", name=name, exact=True).get_by_role(
        "button", name=name, exact=True
    ).click()


def test_full_refund_confirms_first_with_the_amounts_in_words_r10_r30(
    page: Any, server: str, api: Api
) -> None:
    # Given a request waiting on the seller (price $25.00, buyer shipping $5.00, payout $22.00,
    # processing fee $1.03)
    buyer, seller = new_user("buyer"), new_user("seller")
    rid = api.open(buyer, api.order(buyer, seller))["id"]
    sign_in(page, server, "seller", seller)
    page.goto(f"{server}/app/requests/{rid}")
    # When the seller presses Full refund
    press(page, "Full refund")
    # Then the page says what the buyer gets back and what the seller is charged, in dollars,
    # and nothing happened yet
    summary = page.locator("#confirm-summary")
    expect(summary).to_contain_text("The buyer gets $30.00 back")
    expect(summary).to_contain_text("You are charged $28.03 now")
    assert api.state(rid)["status"] == "awaiting_seller"
    assert severe_violations(page) == []
    # When they cancel, nothing happens either
    page.get_by_role("button", name="Cancel", exact=True).click()
    expect(page.locator("#status-words")).to_contain_text("Waiting for the seller's response")
    assert api.state(rid)["status"] == "awaiting_seller"
    # When they press it again and confirm
    press(page, "Full refund")
    page.get_by_role("button", name="Confirm", exact=True).click()
    # Then the request is resolved with a full refund of what the buyer paid
    expect(page.locator("#status-words")).to_contain_text("Resolved")
    state = api.state(rid)
    assert (state["status"], state["resolution"]) == ("resolved", "full_refund")
    assert state["refund"]["amount"] == 3000


def test_partial_refund_keeps_the_typed_amount_and_says_the_limit_in_dollars_b10_r13(
    page: Any, server: str, api: Api
) -> None:
    # Given a request waiting on the seller; the full refund is $30.00
    buyer, seller = new_user("buyer"), new_user("seller")
    rid = api.open(buyer, api.order(buyer, seller))["id"]
    sign_in(page, server, "seller", seller)
    page.goto(f"{server}/app/requests/{rid}")
    # When the seller offers the whole $30.00 as a partial refund and confirms
    form = page.get_by_role("form", name="Partial refund", exact=True)
    form.get_by_label("Amount", exact=True).fill("30.00")
    press(page, "Partial refund")
    expect(page.locator("#confirm-summary")).to_contain_text("The buyer is offered $30.00")
    page.get_by_role("button", name="Confirm", exact=True).click()
    # Then the API's refusal is shown, the limit is in dollars, and the typed amount is still there
    expect(page.get_by_role("alert")).to_be_visible()
    expect(page.locator("#amount-limit")).to_contain_text("$30.00")
    expect(page.get_by_label("Amount", exact=True)).to_have_value("30.00")
    assert api.state(rid)["status"] == "awaiting_seller"
    # When they correct it and confirm
    page.get_by_label("Amount", exact=True).fill("12.50")
    page.get_by_role("button", name="Confirm", exact=True).click()
    # Then the offer stands at $12.50
    expect(page.locator("#status-words")).to_contain_text("An offer waits for the buyer's answer")
    state = api.state(rid)
    assert state["offer"] == {"amount": 1250}


def test_notifications_are_short_unread_counted_and_paged_b21(
    page: Any, server: str, api: Api
) -> None:
    # Given 22 new requests for one seller, each an in-app notification
    buyer, seller = new_user("buyer"), new_user("seller")
    ids = [api.open(buyer, api.order(buyer, seller))["id"] for _ in range(22)]
    feed = f"/v1/users/{seller}/notifications?channel=in_app&limit=100"
    deadline = time.monotonic() + 30
    while len(api.call("seller", seller, "GET", feed)) < 22:
        assert time.monotonic() < deadline, "the notifications never arrived"
        time.sleep(0.2)
    sign_in(page, server, "seller", seller)
    # When the seller opens the notifications page
    page.get_by_role("link", name="Notifications").first.click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Notifications")
    # Then the navigation counts the unread ones, the page shows 20 short entries, no e-mail text
    nav = page.get_by_role("navigation", name="Main")
    expect(nav).to_contain_text("22 unread")
    entries = page.locator("ol.feed > li")
    expect(entries).to_have_count(20)
    expect(entries.first).to_contain_text("Unread")
    body = page.locator("#feed").inner_text()
    assert "http://" not in body and "https://" not in body
    assert severe_violations(page) == []
    # When they go to the older ones
    page.get_by_role("link", name="Older notifications").click()
    expect(entries).to_have_count(2)
    # And open one
    entries.first.get_by_role("link").click()
    # Then they are on its request, and the API has it read
    expect(page.get_by_role("heading", level=1)).to_contain_text("Request on order")
    opened = page.url.rsplit("/", 1)[1]
    assert opened in ids
    items = api.call("seller", seller, "GET", feed)
    assert [n["read"] for n in items if n["request_id"] == opened] == [True]
    assert sum(not n["read"] for n in items) == 21


def test_inbox_rows_say_reason_due_and_overdue_and_the_count_leaves_archived_out_b15_b20(
    page: Any, server: str, api: Api
) -> None:
    # Given three requests waiting on one seller, one of them archived, and one the seller opened
    # as a buyer on another seller's order
    buyer, seller = new_user("buyer"), new_user("seller")
    orders = [api.order(buyer, seller) for _ in range(3)]
    ids = [api.open(buyer, o, reason="wrong_item")["id"] for o in orders]
    own = api.order(seller, new_user("other-seller"))
    as_buyer = api.open(seller, own)["id"]
    for rid in ids:
        api.conversation("seller", seller, rid)
    api.conversation("buyer", seller, as_buyer)
    api.call("seller", seller, "POST", f"/v1/inbox/{ids[0]}/archive")
    api.wait_for_listed("seller", seller, waiting_on="seller", count=3, seller_id=seller)
    sign_in(page, server, "seller", seller)
    # Then what waits on them counts the two in the inbox, not the archived one (B20)
    expect(page.locator("#waiting-count")).to_contain_text("2 waiting on you")
    # And each row says the reason and when the response is due, not yet overdue
    row = page.get_by_role("listitem").filter(has_text=orders[1])
    expect(row).to_contain_text("wrong item")
    expect(row).to_contain_text("Due ")
    expect(row.get_by_text("Overdue", exact=True)).to_have_count(0)
    # When the seller's 48 business hours pass
    api.advance("P7D")
    deadline = time.monotonic() + 30  # the deadline sweep and the inbox projection run behind
    while api.conversation("seller", seller, ids[1])["last_event"] != "seller_response_overdue":
        assert time.monotonic() < deadline, "the missed deadline never reached the inbox"
        time.sleep(0.2)
    page.reload()
    # Then the rows are marked Overdue, and the Overdue filter shows them
    expect(row.get_by_text("Overdue", exact=True)).to_be_visible()
    page.get_by_role("navigation", name="Filters").get_by_role("link", name="Overdue").click()
    rows = page.locator("li.conversation")
    expect(rows).to_have_count(2)
    state = api.state(ids[1])
    assert state["status"] == "awaiting_seller"
    # And All Messages shows the request the seller opened as a buyer with what happened (B15)
    page.goto(f"{server}/app/inbox?tab=all")
    mine = page.get_by_role("listitem").filter(has_text=own)
    expect(mine).to_contain_text("Seller's response overdue")
    assert severe_violations(page) == []


def test_csat_is_on_the_customer_service_tab_r46(page: Any, server: str, api: Api) -> None:
    # Given a seller whose buyer gave a resolved request a thumbs up
    buyer, seller = new_user("buyer"), new_user("seller")
    rid = api.open(buyer, api.order(buyer, seller))["id"]
    api.call(
        "seller", seller, "POST", f"/v1/support-requests/{rid}/responses", {"type": "full_refund"}
    )
    api.call("buyer", buyer, "POST", f"/v1/support-requests/{rid}/feedback", {"thumbs": "up"})
    rating = f"/v1/sellers/{seller}/support-rating"
    deadline = time.monotonic() + 30
    while (api.call("seller", seller, "GET", rating).get("csat") or {}).get("responses") != 1:
        assert time.monotonic() < deadline, "the rating never counted the feedback"
        time.sleep(0.2)
    # When the seller opens the Customer Service tab
    sign_in(page, server, "seller", seller)
    expect(page.get_by_role("tab", name="Customer Service")).to_have_attribute(
        "aria-selected", "true"
    )
    # Then the CSAT score is there
    expect(page.locator("#csat")).to_contain_text("Customer satisfaction (CSAT): 100 %")
    expect(page.locator("#csat")).to_contain_text("Thumbs up 1")


def test_on_a_phone_the_sellers_answers_are_on_the_first_screen(
    browser: Any, server: str, api: Api
) -> None:
    # Given a request with a long history waiting on the seller
    buyer, seller = new_user("buyer"), new_user("seller")
    rid = api.open(buyer, api.order(buyer, seller))["id"]
    for n in range(8):
        api.call(
            "buyer", buyer, "POST", f"/v1/support-requests/{rid}/messages", {"body": f"Hello {n}"}
        )
    context = browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True)
    context.set_default_timeout(15_000)
    try:
        page = context.new_page()
        sign_in(page, server, "seller", seller)
        # When the seller opens it on a 390 px phone
        page.goto(f"{server}/app/requests/{rid}")
        # Then the first answer is within the first screen, and nothing scrolls sideways
        button = page.get_by_role("button", name="Full refund", exact=True)
        box = button.bounding_box()
        assert box is not None and box["y"] + box["height"] <= 844, box
        assert page.evaluate("document.documentElement.scrollWidth") <= 390
        assert api.state(rid)["status"] == "awaiting_seller"
    finally:
        context.close()
